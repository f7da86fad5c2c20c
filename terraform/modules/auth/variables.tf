variable "name" {
  type = string
}

variable "deletion_protection" {
  type    = bool
  default = false
}

variable "threat_protection" {
  description = "Cognito threat protection, ENFORCED; needs (and selects) the PLUS feature plan"
  type        = bool
  default     = false
}
