variable "name" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "private_subnet_ids" {
  type = list(string)
}

variable "app_security_group_id" {
  description = "The application tasks' security group: the only one let in"
  type        = string
}

variable "engine_version" {
  # The major version only: RDS applies minor upgrades itself (auto_minor_version_upgrade),
  # and a pinned minor would have the next apply try to go back down.
  description = "PostgreSQL major version"
  type        = string
  default     = "16"
  validation {
    condition     = can(regex("^[0-9]+$", var.engine_version))
    error_message = "Give the major version only, such as \"16\": RDS moves the minor version."
  }
}

variable "instance_class" {
  type    = string
  default = "db.t4g.micro"
}

variable "allocated_storage_gb" {
  type    = number
  default = 20
}

variable "multi_az" {
  type    = bool
  default = false
}

variable "deletion_protection" {
  type    = bool
  default = false
}

variable "backup_retention_days" {
  description = "Automated backups, which also give point-in-time recovery"
  type        = number
  default     = 7
}
