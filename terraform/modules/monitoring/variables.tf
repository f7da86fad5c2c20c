variable "name" {
  type = string
}

variable "alert_email" {
  description = "Who gets alarm emails (empty: subscribe someone later)"
  type        = string
  default     = ""
}

variable "alb_arn_suffix" {
  type = string
}

variable "cluster_name" {
  type = string
}

variable "service_name" {
  type = string
}

variable "db_instance_id" {
  type = string
}

variable "db_connection_alarm" {
  description = "Alarm when average connections exceed this"
  type        = number
  default     = 80
}
