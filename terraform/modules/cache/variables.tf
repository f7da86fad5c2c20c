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

variable "kms_key_arn" {
  description = "KMS key for the cache at rest and its URL secret (the stack's key, which the tasks' execution role can decrypt with)"
  type        = string
}

variable "engine_version" {
  # ElastiCache applies patch releases itself; a minor or major upgrade is ours to make here.
  description = "Valkey major.minor version"
  type        = string
  default     = "8.1"
  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+$", var.engine_version))
    error_message = "Give major.minor, such as \"8.1\": ElastiCache picks the patch release."
  }
}

variable "node_type" {
  type    = string
  default = "cache.t4g.micro"
}

variable "num_cache_clusters" {
  description = "Nodes: 1, or a primary and replicas (2 or more), which turns on automatic failover across zones"
  type        = number
  default     = 1
  validation {
    condition     = var.num_cache_clusters >= 1 && var.num_cache_clusters <= 6
    error_message = "A replication group has a primary and up to five replicas: 1 to 6 nodes."
  }
}

variable "maintenance_window" {
  # The hour after the database's (sun:03:30-sun:04:30): the two are not worked on at once.
  type    = string
  default = "sun:04:30-sun:05:30"
}
