# The environment's KMS key for logs and alerts, the alert topic, and the alarms.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

resource "aws_kms_key" "logs" {
  description         = "${var.name} logs and alerts"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.logs_key.json
}

data "aws_iam_policy_document" "logs_key" {
  # checkov:skip=CKV_AWS_111:A KMS key policy must let the account administer its own key (AWS's default key policy); "*" here means this key only.
  # checkov:skip=CKV_AWS_356:In a key policy "*" is the key itself, not every resource.
  # checkov:skip=CKV_AWS_109:The account root keeps control of its key, as AWS's default key policy does.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid       = "CloudWatchLogsEncrypt"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.region}.amazonaws.com"]
    }
  }
  statement {
    sid       = "AlarmsPublishEncrypted"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    }
  }
}

resource "aws_kms_alias" "logs" {
  name          = "alias/${var.name}-logs"
  target_key_id = aws_kms_key.logs.key_id
}

resource "aws_sns_topic" "alerts" {
  name              = "${var.name}-alerts"
  kms_master_key_id = aws_kms_key.logs.id
}

resource "aws_sns_topic_subscription" "email" {
  count     = var.alert_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = var.alert_email
}

locals {
  alarms = {
    alb-5xx = {
      namespace = "AWS/ApplicationELB", metric = "HTTPCode_Target_5XX_Count", stat = "Sum",
      threshold = 10, dimensions = { LoadBalancer = var.alb_arn_suffix }
    }
    target-response-time = {
      namespace = "AWS/ApplicationELB", metric = "TargetResponseTime", stat = "p99",
      threshold = 2, dimensions = { LoadBalancer = var.alb_arn_suffix }
    }
    ecs-cpu = {
      namespace = "AWS/ECS", metric = "CPUUtilization", stat = "Average",
      threshold = 85, dimensions = { ClusterName = var.cluster_name, ServiceName = var.service_name }
    }
    ecs-memory = {
      namespace = "AWS/ECS", metric = "MemoryUtilization", stat = "Average",
      threshold = 85, dimensions = { ClusterName = var.cluster_name, ServiceName = var.service_name }
    }
    rds-cpu = {
      namespace = "AWS/RDS", metric = "CPUUtilization", stat = "Average",
      threshold = 80, dimensions = { DBInstanceIdentifier = var.db_instance_id }
    }
    rds-connections = {
      namespace = "AWS/RDS", metric = "DatabaseConnections", stat = "Average",
      threshold = var.db_connection_alarm, dimensions = { DBInstanceIdentifier = var.db_instance_id }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "high" {
  for_each            = local.alarms
  alarm_name          = "${var.name}-${each.key}"
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = contains(["Sum", "Average", "Maximum", "Minimum"], each.value.stat) ? each.value.stat : null
  extended_statistic  = contains(["Sum", "Average", "Maximum", "Minimum"], each.value.stat) ? null : each.value.stat
  dimensions          = each.value.dimensions
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
}

resource "aws_cloudwatch_metric_alarm" "rds_free_storage" {
  alarm_name          = "${var.name}-rds-free-storage"
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  statistic           = "Minimum"
  dimensions          = { DBInstanceIdentifier = var.db_instance_id }
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "LessThanThreshold"
  threshold           = 2 * 1024 * 1024 * 1024
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
}
