# The prod environment. Values that differ per environment live in variables.tf defaults
# and in an untracked prod.tfvars (domain, certificate, addresses).

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
    key          = "prod/terraform.tfstate"
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
      Environment = "prod"
      ManagedBy   = "terraform"
    }
  }
}

module "stack" {
  source               = "../../modules/stack"
  name                 = "gp-booking-prod"
  region               = var.region
  production           = true
  nat_per_az           = true
  vpc_cidr             = "10.22.0.0/16"
  db_instance_class    = "db.m7g.xlarge"
  web_min_tasks        = 2
  web_max_tasks        = 30
  enable_ecs_exec      = false
  domain_name          = var.domain_name
  certificate_arn      = var.certificate_arn
  from_email_address   = var.from_email_address
  alert_email          = var.alert_email
  image_tag            = var.image_tag
  cors_allowed_origins = var.cors_allowed_origins

  rate_limit_cache_enabled = var.rate_limit_cache_enabled
  gpconnect_asid           = var.gpconnect_asid

  # Sized for about a million registered patients (README, Performance: sizing): 310
  # requests a second at 8am, 15 per 0.5 vCPU task at 60% of what one serves.
  web_rush_min_tasks           = 22
  web_requests_per_task_target = 900
}
