# ECR, the ECS cluster, and the web, worker, migrate and reminder tasks on Fargate in private
# subnets. Secrets reach the containers from Secrets Manager at start, never as plain
# environment values, and never through Terraform state but for REDIS_URL (modules/cache
# makes its token).

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

# The load balancer lives in the public subnets: only requests from there have their
# X-Forwarded-For believed (TRUSTED_PROXY_NETWORKS).
data "aws_subnet" "public" {
  for_each = toset(var.public_subnet_ids)
  id       = each.value
}

# The image tag in service, written by the deploy once a release runs ("none" before the
# first). Terraform reads it back on every plan (the value is not Terraform's), so a
# plain `terraform apply` keeps what was deployed instead of pointing tasks at a missing image.
resource "aws_ssm_parameter" "image_tag" {
  # checkov:skip=CKV2_AWS_34:An image tag (a git commit) is public information, not a secret.
  name        = "/${var.name}/deployed-image-tag"
  description = "Image tag of the release in service (set by scripts/deploy.py)"
  type        = "String"
  value       = "none"
  lifecycle {
    ignore_changes = [value]
  }
}

locals {
  region = data.aws_region.current.region
  # A parameter's value is marked sensitive; an image tag (a commit) is not a secret.
  image_tag = var.image_tag != "" ? var.image_tag : nonsensitive(aws_ssm_parameter.image_tag.value)
  # Until the first deploy there is no image and no secrets: nothing runs (services at zero
  # tasks, the reminder schedule disabled), so nothing crash-loops.
  deployed = local.image_tag != "none"
  image    = "${aws_ecr_repository.app.repository_url}:${local.image_tag}"
  environment = [
    for key, value in merge(var.app_environment, {
      DJANGO_ALLOWED_HOSTS        = var.domain_name
      DJANGO_CSRF_TRUSTED_ORIGINS = "https://${var.domain_name}"
      JWT_ISSUER                  = "https://${var.domain_name}"
      GPCONNECT_BASE_URL          = "https://${var.domain_name}"
      TRUSTED_PROXY_NETWORKS      = join(",", sort([for subnet in data.aws_subnet.public : subnet.cidr_block]))
      DB_HOST                     = var.db_address
      DB_PORT                     = tostring(var.db_port)
      DB_NAME                     = var.db_name
      DB_PASSWORD_SECRET_ARN      = var.db_secret_arn
      AWS_REGION                  = local.region
      EMAIL_BACKEND               = "django_ses.SESBackend"
      SMS_BACKEND                 = "booking.notifications.sms.SnsSmsBackend"
      LOG_FORMAT                  = "json"
    }) : { name = key, value = value }
  ]
  secrets = [
    { name = "DJANGO_SECRET_KEY", valueFrom = aws_secretsmanager_secret.django_secret_key.arn },
    { name = "JWT_PRIVATE_KEY", valueFrom = aws_secretsmanager_secret.jwt_private_key.arn },
    { name = "JWT_PREVIOUS_KEY", valueFrom = aws_secretsmanager_secret.jwt_previous_key.arn },
    { name = "DB_USER", valueFrom = "${var.db_secret_arn}:username::" },
    { name = "DB_PASSWORD", valueFrom = "${var.db_secret_arn}:password::" },
  ]
  # The rate-limit counters' Valkey where the environment has one; without REDIS_URL the app
  # counts in the database.
  redis_secrets = var.redis_url_secret_arn == null ? [] : [{ name = "REDIS_URL", valueFrom = var.redis_url_secret_arn }]
  container_common = {
    image                  = local.image
    essential              = true
    readonlyRootFilesystem = true
    user                   = "10001:10001"
    environment            = local.environment
    secrets                = concat(local.secrets, local.redis_secrets)
    linuxParameters        = { initProcessEnabled = true }
    mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
  }
}

resource "aws_ecr_repository" "app" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"
  # `make destroy` of a test environment must not stop at its images; production's are kept.
  force_delete = var.force_delete_images
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.logs_kms_key_arn
  }
}

resource "aws_ecr_lifecycle_policy" "app" {
  repository = aws_ecr_repository.app.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the last 50 images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 50 }
      action       = { type = "expire" }
    }]
  })
}

# Created here, filled once by scripts/bootstrap-secrets.sh (values never pass Terraform).
resource "aws_secretsmanager_secret" "django_secret_key" {
  # checkov:skip=CKV2_AWS_57:Rotated by scripts/bootstrap-secrets.sh --rotate (a new key then a redeploy); a rotation Lambda would add more surface than it removes.
  name_prefix = "${var.name}/django-secret-key-"
  kms_key_id  = var.logs_kms_key_arn
}

resource "aws_secretsmanager_secret" "jwt_private_key" {
  # checkov:skip=CKV2_AWS_57:Rotated by scripts/bootstrap-secrets.sh --rotate (a new key then a redeploy); a rotation Lambda would add more surface than it removes.
  name_prefix = "${var.name}/jwt-private-key-"
  kms_key_id  = var.logs_kms_key_arn
}

# The deploy's smoke-test patient ({"email", "password"}): made by bootstrap-secrets.sh, put
# into the database by the migrate task (ensure_smoke_account), used by the read-only smoke test.
resource "aws_secretsmanager_secret" "smoke_account" {
  # checkov:skip=CKV2_AWS_57:Rotated by running bootstrap-secrets.sh --rotate and deploying (the migrate task resets the password).
  name_prefix = "${var.name}/smoke-account-"
  kms_key_id  = var.logs_kms_key_arn
}

# The signing key before the last rotation ("none" when there is none): tokens it signed still
# verify until it is retired. scripts/bootstrap-secrets.sh --rotate-jwt and docs/operations.md.
resource "aws_secretsmanager_secret" "jwt_previous_key" {
  # checkov:skip=CKV2_AWS_57:Moved into place by scripts/bootstrap-secrets.sh --rotate-jwt; it holds a public key.
  name_prefix = "${var.name}/jwt-previous-key-"
  kms_key_id  = var.logs_kms_key_arn
}

resource "aws_cloudwatch_log_group" "app" {
  for_each          = toset(["web", "worker", "migrate", "reminders"])
  name              = "/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
}

resource "aws_cloudwatch_log_group" "exec" {
  name              = "/${var.name}/ecs-exec"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
}

resource "aws_ecs_cluster" "this" {
  name = var.name
  setting {
    name  = "containerInsights"
    value = "enhanced"
  }
  configuration {
    execute_command_configuration {
      kms_key_id = var.logs_kms_key_arn
      logging    = "OVERRIDE"
      log_configuration {
        cloud_watch_encryption_enabled = true
        cloud_watch_log_group_name     = aws_cloudwatch_log_group.exec.name
      }
    }
  }
}

resource "aws_security_group" "tasks" {
  name        = "${var.name}-tasks"
  description = "Application tasks: traffic from the load balancer only"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "tasks_from_alb" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "From the load balancer"
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
}

resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to AWS APIs (ECR, Secrets Manager, SES, SNS, Cognito) via NAT"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "tasks_db" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "PostgreSQL"
  referenced_security_group_id = var.db_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_ecs_task_definition" "web" {
  family                   = "${var.name}-web"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.web_cpu
  memory                   = var.web_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  volume {
    name = "tmp"
  }
  container_definitions = jsonencode([merge(local.container_common, {
    name         = "web"
    portMappings = [{ containerPort = var.container_port, protocol = "tcp" }]
    environment  = concat(local.environment, [{ name = "WEB_CONCURRENCY", value = tostring(var.web_workers) }])
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.app["web"].name
        awslogs-region        = local.region
        awslogs-stream-prefix = "web"
      }
    }
  })])
}

# The tasks that are not behind the load balancer: the notification worker (a service), the
# one-off migration (run by the deploy script) and send_reminders (run by the scheduler).
locals {
  background_tasks = {
    worker = {
      command     = ["python", "manage.py", "notifications_worker"]
      environment = []
      secrets     = []
    }
    migrate = {
      # After the schema: the deploy's smoke-test account, from its secret (bootstrap-secrets.sh
      # gives it a value; ECS cannot start a task whose secret has none).
      command = ["sh", "-c", "python manage.py migrate --noinput && python manage.py createcachetable && python manage.py ensure_smoke_account"]
      # No statement timeout: a migration may build an index on a large table.
      environment = [{ name = "DB_STATEMENT_TIMEOUT_MS", value = "0" }]
      secrets = [
        { name = "SMOKE_EMAIL", valueFrom = "${aws_secretsmanager_secret.smoke_account.arn}:email::" },
        { name = "SMOKE_PASSWORD", valueFrom = "${aws_secretsmanager_secret.smoke_account.arn}:password::" },
      ]
    }
    reminders = {
      command     = ["python", "manage.py", "send_reminders"]
      environment = []
      secrets     = []
    }
  }
}

resource "aws_ecs_task_definition" "background" {
  for_each                 = local.background_tasks
  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  volume {
    name = "tmp"
  }
  container_definitions = jsonencode([merge(local.container_common, {
    name        = each.key
    command     = each.value.command
    environment = concat(local.environment, each.value.environment)
    secrets     = concat(local.secrets, local.redis_secrets, each.value.secrets)
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.app[each.key].name
        awslogs-region        = local.region
        awslogs-stream-prefix = each.key
      }
    }
  })])
}

resource "aws_ecs_service" "web" {
  name                   = "${var.name}-web"
  cluster                = aws_ecs_cluster.this.id
  task_definition        = aws_ecs_task_definition.web.arn
  desired_count          = local.deployed ? var.web_min_tasks : 0
  launch_type            = "FARGATE"
  enable_execute_command = var.enable_ecs_exec
  propagate_tags         = "SERVICE"

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.web.arn
    container_name   = "web"
    container_port   = var.container_port
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 30

  lifecycle {
    # The deploy script moves the service to new task definitions; Terraform keeps the rest.
    ignore_changes = [task_definition, desired_count]
  }
  depends_on = [aws_lb_listener.https]
}

resource "aws_ecs_service" "worker" {
  name                   = "${var.name}-worker"
  cluster                = aws_ecs_cluster.this.id
  task_definition        = aws_ecs_task_definition.background["worker"].arn
  desired_count          = local.deployed ? 1 : 0
  launch_type            = "FARGATE"
  enable_execute_command = var.enable_ecs_exec

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [task_definition]
  }
}

resource "aws_appautoscaling_target" "web" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.web.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = local.deployed ? var.web_min_tasks : 0
  max_capacity       = local.deployed ? var.web_max_tasks : 0
}

resource "aws_appautoscaling_policy" "web_cpu" {
  name               = "${var.name}-web-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.web.service_namespace
  resource_id        = aws_appautoscaling_target.web.resource_id
  scalable_dimension = aws_appautoscaling_target.web.scalable_dimension
  target_tracking_scaling_policy_configuration {
    target_value = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "web_requests" {
  name               = "${var.name}-web-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.web.service_namespace
  resource_id        = aws_appautoscaling_target.web.resource_id
  scalable_dimension = aws_appautoscaling_target.web.scalable_dimension
  target_tracking_scaling_policy_configuration {
    target_value = var.requests_per_task_target
    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.this.arn_suffix}/${aws_lb_target_group.web.arn_suffix}"
    }
  }
}

# The 8am rush: practices release the day's appointments at 8am and a large share of their
# patients try at once, for minutes. Target tracking needs a minute of metrics and another
# for a Fargate task to start, so it would scale out after the rush: the tasks are there
# before it instead (README, Performance: sizing), and back to the floor afterwards.
locals {
  # The floor before the rush, and back to the usual floor after it.
  rush_floors = {
    "before-8am" = { schedule = var.rush_start_schedule, min_tasks = var.rush_min_tasks }
    "after-8am"  = { schedule = var.rush_end_schedule, min_tasks = var.web_min_tasks }
  }
}

resource "aws_appautoscaling_scheduled_action" "rush" {
  for_each           = local.deployed && var.rush_min_tasks > var.web_min_tasks ? local.rush_floors : {}
  name               = "${var.name}-web-${each.key}"
  service_namespace  = aws_appautoscaling_target.web.service_namespace
  resource_id        = aws_appautoscaling_target.web.resource_id
  scalable_dimension = aws_appautoscaling_target.web.scalable_dimension
  schedule           = each.value.schedule
  timezone           = "Europe/London"
  scalable_target_action {
    min_capacity = each.value.min_tasks
    max_capacity = max(var.rush_min_tasks, var.web_max_tasks)
  }
}

# send_reminders every five minutes, as a one-off task.
resource "aws_scheduler_schedule" "reminders" {
  name                         = "${var.name}-send-reminders"
  schedule_expression          = "rate(5 minutes)"
  schedule_expression_timezone = "Europe/London"
  state                        = local.deployed ? "ENABLED" : "DISABLED"
  # Encrypted with the stack's key: its role may decrypt with it (iam.tf), or it never runs.
  kms_key_arn = var.logs_kms_key_arn
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = aws_ecs_cluster.this.arn
    role_arn = aws_iam_role.scheduler.arn
    ecs_parameters {
      task_definition_arn = aws_ecs_task_definition.background["reminders"].arn
      launch_type         = "FARGATE"
      network_configuration {
        subnets          = var.private_subnet_ids
        security_groups  = [aws_security_group.tasks.id]
        assign_public_ip = false
      }
    }
    retry_policy {
      maximum_retry_attempts = 0
    }
  }
}
