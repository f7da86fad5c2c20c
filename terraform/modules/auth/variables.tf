variable "name" {
  type = string
}

variable "deletion_protection" {
  type    = bool
  default = false
}
