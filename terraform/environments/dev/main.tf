# The dev environment. Values that differ per environment live in variables.tf defaults
# and in an untracked dev.tfvars (domain, certificate, addresses).

terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.14"
    }
    # The rate-limit cache's AUTH token (modules/cache).
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
  }

  backend "s3" {
    bucket       = "gp-booking-terraform-state"
    key          = "dev/terraform.tfstate"
    region       = "eu-west-2"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      Project     = "gp-booking"
      Environment = "dev"
      ManagedBy   = "terraform"
    }
  }
}

module "stack" {
  source               = "../../modules/stack"
  name                 = "gp-booking-dev"
  region               = var.region
  production           = false
  nat_per_az           = false
  vpc_cidr             = "10.20.0.0/16"
  db_instance_class    = "db.t4g.micro"
  web_min_tasks        = 1
  web_max_tasks        = 2
  enable_ecs_exec      = true
  domain_name          = var.domain_name
  certificate_arn      = var.certificate_arn
  from_email_address   = var.from_email_address
  alert_email          = var.alert_email
  image_tag            = var.image_tag
  cors_allowed_origins = var.cors_allowed_origins

  rate_limit_cache_enabled = var.rate_limit_cache_enabled
  gpconnect_asid           = var.gpconnect_asid
}
