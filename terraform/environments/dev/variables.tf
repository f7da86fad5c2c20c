variable "region" {
  type    = string
  default = "eu-west-2"
}

variable "domain_name" {
  description = "The API's host name; its certificate is certificate_arn"
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate ARN (same region) for domain_name"
  type        = string
}

variable "from_email_address" {
  description = "Verified SES sender for patient emails"
  type        = string
}

variable "alert_email" {
  description = "Who receives alarm emails"
  type        = string
  default     = ""
}

variable "image_tag" {
  description = "Image to run; the deploy script sets it to the git commit. Empty: the one in service (none before the first deploy: nothing runs)"
  type        = string
  default     = ""
}

variable "cors_allowed_origins" {
  type    = list(string)
  default = []
}

variable "rate_limit_cache_enabled" {
  description = "Valkey (ElastiCache) for the API's rate-limit counters; false: they are counted in the database"
  type        = bool
  default     = true
}

variable "gpconnect_asid" {
  description = "This provider's Spine ASID for GP Connect (from NHS England's onboarding); empty keeps the GP Connect door shut"
  type        = string
  default     = ""
}
