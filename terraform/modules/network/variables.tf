variable "name" {
  description = "Prefix for every resource name, e.g. gp-booking-dev"
  type        = string
}

variable "cidr_block" {
  description = "The VPC's address range"
  type        = string
  default     = "10.20.0.0/16"
}

variable "az_count" {
  description = "How many availability zones to spread across (at least two)"
  type        = number
  default     = 2
  validation {
    condition     = var.az_count >= 2
    error_message = "Use at least two availability zones."
  }
}

variable "nat_per_az" {
  description = "One NAT gateway per AZ (prod) instead of one shared (dev)"
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "How long flow logs are kept"
  type        = number
  default     = 365
}

variable "logs_kms_key_arn" {
  description = "KMS key that encrypts the log groups"
  type        = string
}
