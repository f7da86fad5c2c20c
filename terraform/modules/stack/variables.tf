variable "name" {
  description = "Prefix for every resource, e.g. gp-booking-dev"
  type        = string
}

variable "region" {
  type = string
}

variable "production" {
  description = "Multi-AZ database, deletion protection everywhere, longer backups"
  type        = bool
}

variable "domain_name" {
  type = string
}

variable "certificate_arn" {
  type = string
}

variable "from_email_address" {
  type = string
}

variable "alert_email" {
  type    = string
  default = ""
}

variable "image_tag" {
  description = "Image tag to run; empty: the one in service (none before the first deploy)"
  type        = string
  default     = ""
}

variable "cognito_threat_protection" {
  description = "Cognito threat protection (compromised credentials, adaptive authentication): the PLUS feature plan, billed per user"
  type        = bool
  default     = false
}

variable "vpc_cidr" {
  type    = string
  default = "10.20.0.0/16"
}

variable "az_count" {
  type    = number
  default = 2
}

variable "nat_per_az" {
  type = bool
}

variable "db_instance_class" {
  type = string
}

variable "db_storage_gb" {
  type    = number
  default = 20
}

variable "rate_limit_cache_enabled" {
  description = "Valkey (ElastiCache) for the API's rate-limit counters; off: they are counted in the database"
  type        = bool
  default     = true
}

variable "rate_limit_cache_node_type" {
  type    = string
  default = "cache.t4g.micro"
}

variable "web_min_tasks" {
  type = number
}

variable "web_max_tasks" {
  type = number
}

variable "web_rush_min_tasks" {
  description = "Web tasks started before the 8am rush on weekdays (0: none; README, Performance: sizing)"
  type        = number
  default     = 0
}

variable "web_requests_per_task_target" {
  description = "ALB requests per task per minute that autoscaling holds the web service to"
  type        = number
  default     = 500
}

variable "enable_ecs_exec" {
  type    = bool
  default = false
}

variable "enable_waf" {
  type    = bool
  default = true
}

variable "cors_allowed_origins" {
  type    = list(string)
  default = []
}

variable "gpconnect_asid" {
  description = "This provider's Spine ASID for GP Connect: the Ssp-To every request must carry. Empty: the GP Connect door refuses every request"
  type        = string
  default     = ""
}
