output "api_url" {
  value = "https://${var.domain_name}"
}

output "alb_dns_name" {
  value = aws_lb.this.dns_name
}

output "alb_arn_suffix" {
  value = aws_lb.this.arn_suffix
}

output "ecr_repository_url" {
  value = aws_ecr_repository.app.repository_url
}

output "cluster_name" {
  value = aws_ecs_cluster.this.name
}

output "web_service_name" {
  value = aws_ecs_service.web.name
}

output "worker_service_name" {
  value = aws_ecs_service.worker.name
}

output "tasks_security_group_id" {
  value = aws_security_group.tasks.id
}

output "private_subnet_ids" {
  value = var.private_subnet_ids
}

output "task_families" {
  value = {
    web       = aws_ecs_task_definition.web.family
    worker    = aws_ecs_task_definition.background["worker"].family
    migrate   = aws_ecs_task_definition.background["migrate"].family
    reminders = aws_ecs_task_definition.background["reminders"].family
  }
}

output "secret_arns" {
  value = {
    django_secret_key = aws_secretsmanager_secret.django_secret_key.arn
    jwt_private_key   = aws_secretsmanager_secret.jwt_private_key.arn
    jwt_previous_key  = aws_secretsmanager_secret.jwt_previous_key.arn
    smoke_account     = aws_secretsmanager_secret.smoke_account.arn
  }
}

output "region" {
  value = local.region
}

output "reminders_schedule_name" {
  value = aws_scheduler_schedule.reminders.name
}

output "image_tag_parameter_name" {
  value = aws_ssm_parameter.image_tag.name
}

output "log_groups" {
  value = { for role, group in aws_cloudwatch_log_group.app : role => group.name }
}

output "web_min_tasks" {
  value = var.web_min_tasks
}

output "web_max_tasks" {
  value = var.web_max_tasks
}
