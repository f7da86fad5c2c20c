output "primary_endpoint" {
  value = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "redis_url_secret_arn" {
  description = "Secrets Manager secret holding REDIS_URL (rediss://:<token>@<primary endpoint>:6379/0)"
  value       = aws_secretsmanager_secret.redis_url.arn
}
