output "api_url" {
  value = module.stack.api_url
}

output "alb_dns_name" {
  value = module.stack.alb_dns_name
}

output "user_pool_id" {
  value = module.stack.user_pool_id
}

output "user_pool_client_id" {
  value = module.stack.user_pool_client_id
}

output "ecr_repository_url" {
  value = module.stack.ecr_repository_url
}

output "cluster_name" {
  value = module.stack.cluster_name
}

output "web_service_name" {
  value = module.stack.web_service_name
}

output "worker_service_name" {
  value = module.stack.worker_service_name
}

output "task_families" {
  value = module.stack.task_families
}

output "private_subnet_ids" {
  value = module.stack.private_subnet_ids
}

output "tasks_security_group_id" {
  value = module.stack.tasks_security_group_id
}

output "secret_arns" {
  value = module.stack.secret_arns
}

output "rate_limit_cache_endpoint" {
  value = module.stack.rate_limit_cache_endpoint
}

output "region" {
  value = module.stack.region
}

output "reminders_schedule_name" {
  value = module.stack.reminders_schedule_name
}

output "image_tag_parameter_name" {
  value = module.stack.image_tag_parameter_name
}

output "log_groups" {
  value = module.stack.log_groups
}

output "web_min_tasks" {
  value = module.stack.web_min_tasks
}

output "web_max_tasks" {
  value = module.stack.web_max_tasks
}
