# Cognito user pool whose access tokens the API accepts: groups for the three roles and the
# password policy the API enforces.

resource "aws_cognito_user_pool" "this" {
  name                     = "${var.name}-users"
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]
  deletion_protection      = var.deletion_protection ? "ACTIVE" : "INACTIVE"
  mfa_configuration        = "OPTIONAL"
  # Threat protection (advanced security) exists only on the PLUS plan; new pools are
  # ESSENTIALS. The API keeps its own lockout either way (accounts.services.log_in).
  user_pool_tier = var.threat_protection ? "PLUS" : "ESSENTIALS"

  software_token_mfa_configuration {
    enabled = true
  }

  password_policy {
    minimum_length                   = 8
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 3
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  dynamic "user_pool_add_ons" {
    for_each = var.threat_protection ? [1] : []
    content {
      advanced_security_mode = "ENFORCED"
    }
  }
}

resource "aws_cognito_user_group" "role" {
  for_each     = toset(["patient", "clinician", "admin"])
  name         = each.key
  user_pool_id = aws_cognito_user_pool.this.id
  description  = "GP Booking role: ${each.key}"
}

resource "aws_cognito_user_pool_client" "web" {
  name         = "${var.name}-web"
  user_pool_id = aws_cognito_user_pool.this.id
  # A browser or mobile app cannot keep a client secret.
  generate_secret               = false
  explicit_auth_flows           = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors = "ENABLED"
  enable_token_revocation       = true
  access_token_validity         = 15
  id_token_validity             = 15
  refresh_token_validity        = 7
  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "days"
  }
}
