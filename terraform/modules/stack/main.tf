# One environment of GP Booking: network, database, rate-limit cache, auth, service and
# monitoring, wired together. The environments/ roots call this with their own sizes and
# protections.

module "monitoring" {
  source         = "../monitoring"
  name           = var.name
  alert_email    = var.alert_email
  alb_arn_suffix = module.service.alb_arn_suffix
  cluster_name   = module.service.cluster_name
  service_name   = module.service.web_service_name
  db_instance_id = module.database.instance_id
}

module "network" {
  source           = "../network"
  name             = var.name
  cidr_block       = var.vpc_cidr
  az_count         = var.az_count
  nat_per_az       = var.nat_per_az
  logs_kms_key_arn = module.monitoring.logs_kms_key_arn
}

module "database" {
  source                = "../database"
  name                  = var.name
  vpc_id                = module.network.vpc_id
  private_subnet_ids    = module.network.private_subnet_ids
  app_security_group_id = module.service.tasks_security_group_id
  instance_class        = var.db_instance_class
  allocated_storage_gb  = var.db_storage_gb
  multi_az              = var.production
  deletion_protection   = var.production
  backup_retention_days = var.production ? 35 : 7
}

# The API's rate-limit counters; without it (rate_limit_cache_enabled = false) the app counts
# in the database.
module "rate_limit_cache" {
  count                 = var.rate_limit_cache_enabled ? 1 : 0
  source                = "../cache"
  name                  = var.name
  vpc_id                = module.network.vpc_id
  private_subnet_ids    = module.network.private_subnet_ids
  app_security_group_id = module.service.tasks_security_group_id
  kms_key_arn           = module.monitoring.logs_kms_key_arn
  node_type             = var.rate_limit_cache_node_type
  num_cache_clusters    = var.production ? 2 : 1
}

module "auth" {
  source              = "../auth"
  name                = var.name
  deletion_protection = var.production
  threat_protection   = var.cognito_threat_protection
}

module "service" {
  source             = "../service"
  name               = var.name
  vpc_id             = module.network.vpc_id
  public_subnet_ids  = module.network.public_subnet_ids
  private_subnet_ids = module.network.private_subnet_ids
  domain_name        = var.domain_name
  certificate_arn    = var.certificate_arn
  image_tag          = var.image_tag
  web_min_tasks      = var.web_min_tasks
  web_max_tasks      = var.web_max_tasks
  rush_min_tasks     = var.web_rush_min_tasks

  requests_per_task_target = var.web_requests_per_task_target
  enable_ecs_exec          = var.enable_ecs_exec
  enable_waf               = var.enable_waf
  deletion_protection      = var.production
  force_delete_images      = !var.production
  logs_kms_key_arn         = module.monitoring.logs_kms_key_arn
  db_address               = module.database.address
  db_port                  = module.database.port
  db_name                  = module.database.name
  db_secret_arn            = module.database.master_secret_arn
  db_kms_key_arn           = module.database.kms_key_arn
  db_security_group_id     = module.database.security_group_id
  cognito_user_pool_arn    = module.auth.user_pool_arn
  redis_url_secret_arn     = one(module.rate_limit_cache[*].redis_url_secret_arn)
  from_email_address       = var.from_email_address
  app_environment = {
    COGNITO_REGION         = var.region
    COGNITO_USER_POOL_ID   = module.auth.user_pool_id
    COGNITO_APP_CLIENT_IDS = module.auth.client_id
    DEFAULT_FROM_EMAIL     = var.from_email_address
    CORS_ALLOWED_ORIGINS   = join(",", var.cors_allowed_origins)
    GPCONNECT_ASID         = var.gpconnect_asid
  }
}
