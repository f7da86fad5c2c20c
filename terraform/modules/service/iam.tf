# Two roles per task: the execution role (ECS itself: pull the image, write logs, read this
# service's secrets) and the task role (the app: send email, send SMS, read Cognito users).
# Each is limited to the resources of this environment.

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "PullImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [aws_ecr_repository.app.arn]
  }
  statement {
    sid       = "EcrAuth"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions.
  }
  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for group in aws_cloudwatch_log_group.app : "${group.arn}:*"]
  }
  statement {
    sid     = "ReadOwnSecrets"
    actions = ["secretsmanager:GetSecretValue"]
    resources = concat([
      aws_secretsmanager_secret.django_secret_key.arn,
      aws_secretsmanager_secret.jwt_private_key.arn,
      aws_secretsmanager_secret.jwt_previous_key.arn,
      aws_secretsmanager_secret.smoke_account.arn,
      var.db_secret_arn,
    ], [for secret in local.redis_secrets : secret.valueFrom])
  }
  statement {
    # The REDIS_URL secret is encrypted with the stack's key (logs_kms_key_arn) too.
    sid       = "DecryptSecrets"
    actions   = ["kms:Decrypt"]
    resources = [var.logs_kms_key_arn, var.db_kms_key_arn]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

resource "aws_iam_role" "task" {
  name               = "${var.name}-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "SendEmail"
    actions   = ["ses:SendEmail", "ses:SendRawEmail"]
    resources = ["arn:aws:ses:${local.region}:${data.aws_caller_identity.current.account_id}:identity/*"]
    condition {
      test     = "StringEquals"
      variable = "ses:FromAddress"
      values   = [var.from_email_address]
    }
  }
  statement {
    sid       = "SendSms"
    actions   = ["sns:Publish"]
    resources = ["*"] # SMS to a phone number has no resource ARN to name.
    condition {
      test     = "Null"
      variable = "sns:Protocol"
      values   = ["true"]
    }
  }
  statement {
    sid       = "ReadCognitoUsers"
    actions   = ["cognito-idp:AdminGetUser"]
    resources = [var.cognito_user_pool_arn]
  }
  statement {
    # The app re-reads the database password after RDS rotates it.
    sid       = "ReadRotatedDatabasePassword"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.db_secret_arn]
  }
  statement {
    sid       = "DecryptDatabaseSecret"
    actions   = ["kms:Decrypt"]
    resources = [var.db_kms_key_arn]
  }
  dynamic "statement" {
    for_each = var.enable_ecs_exec ? [1] : []
    content {
      sid = "EcsExec"
      actions = [
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
      ]
      resources = ["*"] # Session Manager channels have no resource ARNs.
    }
  }
  dynamic "statement" {
    # The exec session is encrypted with the stack's key and logged to its own group.
    for_each = var.enable_ecs_exec ? [1] : []
    content {
      sid       = "EcsExecSessionKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.logs_kms_key_arn]
    }
  }
  dynamic "statement" {
    for_each = var.enable_ecs_exec ? [1] : []
    content {
      sid       = "EcsExecSessionLog"
      actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
      resources = ["${aws_cloudwatch_log_group.exec.arn}:*"]
    }
  }
  dynamic "statement" {
    for_each = var.enable_ecs_exec ? [1] : []
    content {
      sid       = "EcsExecFindLogGroup"
      actions   = ["logs:DescribeLogGroups"]
      resources = ["*"] # DescribeLogGroups takes no resource.
    }
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "task"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name}-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    actions   = ["ecs:RunTask"]
    resources = ["${trimsuffix(aws_ecs_task_definition.background["reminders"].arn_without_revision, ":")}:*"]
  }
  statement {
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.execution.arn, aws_iam_role.task.arn]
  }
  statement {
    # The schedule is encrypted with the stack's key (kms_key_arn): without this it never runs.
    actions   = ["kms:Decrypt"]
    resources = [var.logs_kms_key_arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "run-reminders"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}
