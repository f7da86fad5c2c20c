variable "name" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "public_subnet_ids" {
  type = list(string)
}

variable "private_subnet_ids" {
  type = list(string)
}

variable "domain_name" {
  description = "The API's public host name, e.g. api.dev.gp-booking.example.nhs.uk"
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate for domain_name, in this region"
  type        = string
}

variable "image_tag" {
  description = "Image tag to run (the git commit). Empty: the one in service (none before the first deploy)"
  type        = string
  default     = ""
}

variable "force_delete_images" {
  description = "Whether destroying the environment deletes its images too (not in production)"
  type        = bool
  default     = false
}

variable "container_port" {
  type    = number
  default = 8000
}

variable "health_check_path" {
  description = "Must equal the app's liveness probe"
  type        = string
  default     = "/healthz"
}

variable "web_cpu" {
  type    = number
  default = 512
}

variable "web_memory" {
  type    = number
  default = 1024
}

variable "web_workers" {
  description = "gunicorn workers per task"
  type        = number
  default     = 3
}

variable "web_min_tasks" {
  type    = number
  default = 2
}

variable "web_max_tasks" {
  type    = number
  default = 6
}

variable "requests_per_task_target" {
  description = "ALB requests per task per minute that target tracking holds the service to"
  type        = number
  default     = 500
}

variable "rush_min_tasks" {
  description = "Web tasks running from rush_start_schedule to rush_end_schedule (the 8am rush); at most web_min_tasks: no scheduled scaling"
  type        = number
  default     = 0
}

variable "rush_start_schedule" {
  description = "When the rush's tasks start, London time (they take a minute or two to be healthy)"
  type        = string
  default     = "cron(40 7 ? * MON-FRI *)"
}

variable "rush_end_schedule" {
  description = "When the floor goes back to web_min_tasks, London time (target tracking scales in from there)"
  type        = string
  default     = "cron(0 10 ? * MON-FRI *)"
}

variable "enable_ecs_exec" {
  description = "Allow `aws ecs execute-command` into tasks (break-glass debugging)"
  type        = bool
  default     = false
}

variable "enable_waf" {
  type    = bool
  default = true
}

variable "waf_rate_limit" {
  description = "Requests per 5 minutes per IP before WAF blocks"
  type        = number
  default     = 2000
}

variable "deletion_protection" {
  type    = bool
  default = false
}

variable "log_retention_days" {
  type    = number
  default = 365
}

variable "logs_kms_key_arn" {
  type = string
}

variable "db_address" {
  type = string
}

variable "db_port" {
  type = number
}

variable "db_name" {
  type = string
}

variable "db_secret_arn" {
  description = "RDS-managed secret with the database username and password"
  type        = string
}

variable "db_kms_key_arn" {
  type = string
}

variable "db_security_group_id" {
  type = string
}

variable "redis_url_secret_arn" {
  description = "Secret holding REDIS_URL for the rate-limit counters; null: they are counted in the database"
  type        = string
  default     = null
}

variable "cognito_user_pool_arn" {
  type = string
}

variable "from_email_address" {
  description = "The verified SES address patient emails come from"
  type        = string
}

variable "app_environment" {
  description = "Further non-secret settings for the app (see the README's configuration table)"
  type        = map(string)
  default     = {}
}
