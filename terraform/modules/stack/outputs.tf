output "api_url" {
  value = module.service.api_url
}

output "alb_dns_name" {
  value = module.service.alb_dns_name
}

output "user_pool_id" {
  value = module.auth.user_pool_id
}

output "user_pool_client_id" {
  value = module.auth.client_id
}

output "ecr_repository_url" {
  value = module.service.ecr_repository_url
}

output "cluster_name" {
  value = module.service.cluster_name
}

output "web_service_name" {
  value = module.service.web_service_name
}

output "worker_service_name" {
  value = module.service.worker_service_name
}

output "task_families" {
  value = module.service.task_families
}

output "private_subnet_ids" {
  value = module.service.private_subnet_ids
}

output "tasks_security_group_id" {
  value = module.service.tasks_security_group_id
}

output "secret_arns" {
  value = module.service.secret_arns
}

output "rate_limit_cache_endpoint" {
  description = "The rate-limit cache's primary endpoint (null when rate_limit_cache_enabled is off)"
  value       = one(module.rate_limit_cache[*].primary_endpoint)
}

output "alerts_topic_arn" {
  value = module.monitoring.alerts_topic_arn
}

output "region" {
  value = module.service.region
}

output "reminders_schedule_name" {
  value = module.service.reminders_schedule_name
}

output "image_tag_parameter_name" {
  value = module.service.image_tag_parameter_name
}

output "log_groups" {
  value = module.service.log_groups
}

output "web_min_tasks" {
  value = module.service.web_min_tasks
}

output "web_max_tasks" {
  value = module.service.web_max_tasks
}
