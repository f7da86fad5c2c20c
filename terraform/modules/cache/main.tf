# Valkey (ElastiCache) for the API's rate-limit counters: private, reachable from the
# application tasks only, TLS with an AUTH token, encrypted at rest with the stack's key. Its
# URL, token included, is a Secrets Manager secret that ECS hands to the tasks as REDIS_URL.
# The counters are disposable (the app counts in the database while this cannot be reached),
# so there are no snapshots, and a replica with automatic failover only where
# num_cache_clusters asks for one (prod).

resource "aws_elasticache_subnet_group" "this" {
  name        = "${var.name}-cache"
  description = "Private subnets of ${var.name} for the rate-limit counters"
  subnet_ids  = var.private_subnet_ids
}

resource "aws_security_group" "cache" {
  name        = "${var.name}-cache"
  description = "Valkey for the rate-limit counters, reachable from the application tasks only"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "cache_from_tasks" {
  security_group_id            = aws_security_group.cache.id
  description                  = "Valkey from the application tasks"
  referenced_security_group_id = var.app_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
}

# The tasks' security group lets out only the traffic named for it. The way out to the cache
# is opened here rather than in the service module, so it goes when the cache is turned off.
resource "aws_vpc_security_group_egress_rule" "tasks_to_cache" {
  security_group_id            = var.app_security_group_id
  description                  = "Valkey (rate-limit counters)"
  referenced_security_group_id = aws_security_group.cache.id
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
}

# Letters and digits only: the token sits inside a URL, and ElastiCache refuses most
# punctuation in one. At this length that is still far beyond guessing. The token is kept in
# Terraform state (encrypted in S3), unlike the other secrets: it only guards disposable
# counters that only the tasks' security group can reach.
resource "random_password" "auth_token" {
  length  = 64
  special = false
}

resource "aws_elasticache_replication_group" "this" {
  # checkov:skip=CKV2_AWS_50:Outside prod one node (num_cache_clusters = 1) cannot fail over; the counters are disposable and the app counts in the database while the node is down. Prod runs a replica with automatic failover.
  replication_group_id = "${var.name}-rate-limits"
  description          = "Rate-limit counters of ${var.name}"
  engine               = "valkey"
  engine_version       = var.engine_version
  node_type            = var.node_type
  num_cache_clusters   = var.num_cache_clusters
  port                 = 6379
  # With a replica, ElastiCache promotes it in the other zone when the primary fails; the
  # primary endpoint follows, so REDIS_URL stays the same.
  automatic_failover_enabled = var.num_cache_clusters > 1
  multi_az_enabled           = var.num_cache_clusters > 1

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = [aws_security_group.cache.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  auth_token                 = random_password.auth_token.result
  # After a new token the old one keeps working, so tasks started before it keep counting
  # here until the next deploy replaces them.
  auth_token_update_strategy = "ROTATE"

  maintenance_window         = var.maintenance_window
  snapshot_retention_limit   = 0
  apply_immediately          = false
  auto_minor_version_upgrade = true
}

resource "aws_secretsmanager_secret" "redis_url" {
  # checkov:skip=CKV2_AWS_57:Terraform makes the token and writes this secret with it; a new token is a replaced random_password, an apply, then a deploy. A rotation Lambda could not change the cache's token.
  name_prefix = "${var.name}/redis-url-"
  description = "REDIS_URL for the rate-limit counters (rediss:// with the AUTH token)"
  kms_key_id  = var.kms_key_arn
}

resource "aws_secretsmanager_secret_version" "redis_url" {
  secret_id     = aws_secretsmanager_secret.redis_url.id
  secret_string = "rediss://:${random_password.auth_token.result}@${aws_elasticache_replication_group.this.primary_endpoint_address}:${aws_elasticache_replication_group.this.port}/0"
}
