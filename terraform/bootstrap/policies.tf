# What the two Terraform roles may do, and the permissions boundary that caps every role
# environments/production creates. The apply role may create or change a role only when that role
# carries the boundary (iam:PermissionsBoundary), so no role it makes can do more than the boundary
# allows, and the boundary allows no IAM and no role chaining. tests/rehearsal/test_deploy_rehearsal.py
# runs cloudsplaining over these policies as deployed.

locals {
  permissions_boundary_arn = "${local.iam_arn}:policy/${aws_iam_policy.permissions_boundary.name}"
  # The one role a stack role may pass (modules/break-glass): the emergency revoke task's execution role.
  break_glass_task_role_arn = "${local.iam_arn}:role/${var.name}-break-glass-task-execution"
  # The policies the Terraform roles run with; the apply role may change none of them.
  terraform_policy_arns = ["${local.iam_arn}:policy/${var.name}-terraform-*", local.permissions_boundary_arn]

  # "arn:aws:<service>:<region>:<account>": the stack's Region and account only.
  regional = { for s in ["ec2", "ecs", "rds", "elasticache", "kms", "secretsmanager", "logs", "cloudwatch", "events", "sns", "ecr", "bedrock-mantle", "ses", "elasticloadbalancing", "application-autoscaling", "dynamodb", "codebuild", "codeconnections", "codestar-connections"] :
  s => "arn:${local.partition}:${s}:${var.aws_region}:${local.account_id}" }
  stack_buckets = "arn:${local.partition}:s3:::${var.name}-*"
  # For the actions granted on "*" (most of EC2's, ELB's and ECS's take no resource-level scoping, or need
  # many resource types per call): only in the stack's Region. Not for IAM and Budgets, which are global.
  in_stack_region = { StringEquals = { "aws:RequestedRegion" = var.aws_region } }
}

# ------------------------------------------------------------------ the boundary
# Everything the stack's roles (ECS execution/task/db-bootstrap, VPC flow logs, the reconciler and its
# plan role, the runner, the break-glass role) legitimately do, and nothing of IAM or STS but passing
# the break-glass task's execution role to ECS. Each role's own policy narrows it further.
resource "aws_iam_policy" "permissions_boundary" {
  name        = "${var.name}-boundary"
  description = "Permissions boundary of every role terraform/environments/production creates"
  policy      = local.permissions_boundary_policy
  tags        = local.tags
}

locals {
  permissions_boundary_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "SecretsOfTheStacksRegion"
        Effect   = "Allow"
        Action   = "secretsmanager:*"
        Resource = "${local.regional.secretsmanager}:secret:*"
      },
      {
        Sid      = "SecretsInventory"
        Effect   = "Allow"
        Action   = ["secretsmanager:ListSecrets", "secretsmanager:GetRandomPassword"]
        Resource = "*"
      },
      {
        Sid      = "UseTheStacksKeys"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
        Resource = "${local.regional.kms}:key/*"
      },
      {
        Sid      = "WriteLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
        Resource = "${local.regional.logs}:log-group:*"
      },
      {
        Sid      = "PullImages"
        Effect   = "Allow"
        Action   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "ecr:BatchImportUpstreamImage"]
        Resource = "${local.regional.ecr}:repository/*"
      },
      {
        # No resource-level permissions.
        Sid      = "EcrLogin"
        Effect   = "Allow"
        Action   = "ecr:GetAuthorizationToken"
        Resource = "*"
      },
      {
        # Cross-Region inference profiles reach foundation models in other Regions.
        Sid      = "InvokeBedrock"
        Effect   = "Allow"
        Action   = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream", "bedrock:CountTokens"]
        Resource = ["arn:${local.partition}:bedrock:*::foundation-model/*", "arn:${local.partition}:bedrock:*:${local.account_id}:inference-profile/*"]
      },
      {
        # A guarded tier's calls (modules/bedrock-guardrails); the task role names its guardrails.
        Sid      = "ApplyTheStacksGuardrails"
        Effect   = "Allow"
        Action   = "bedrock:ApplyGuardrail"
        Resource = "arn:${local.partition}:bedrock:${var.aws_region}:${local.account_id}:guardrail/*"
      },
      {
        Sid      = "CountTokensOnMantle"
        Effect   = "Allow"
        Action   = "bedrock-mantle:CountTokens"
        Resource = "${local.regional.bedrock-mantle}:project/*"
      },
      {
        Sid      = "ReadConfigObjects"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "${local.stack_buckets}/*"
      },
      {
        # The monthly chargeback's evidence (the chargeback role, scripts/ci/monthly-chargeback).
        Sid      = "PutChargebackEvidence"
        Effect   = "Allow"
        Action   = "s3:PutObject"
        Resource = "arn:${local.partition}:s3:::${var.name}-chargeback-*/*"
      },
      {
        Sid      = "SendKeyNotices"
        Effect   = "Allow"
        Action   = ["ses:SendEmail", "ses:SendRawEmail"]
        Resource = "${local.regional.ses}:identity/*"
      },
      {
        # The reconciler's gateway lock and converged commit (modules/github-oidc-reconciler).
        Sid      = "ReconcilerStateItems"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
        Resource = "${local.regional.dynamodb}:table/${var.name}-*"
      },
      {
        # A third-party Bedrock model's first call subscribes the account through AWS Marketplace (task role).
        Sid      = "BedrockMarketplaceFirstCall"
        Effect   = "Allow"
        Action   = ["aws-marketplace:Subscribe", "aws-marketplace:Unsubscribe", "aws-marketplace:ViewSubscriptions"]
        Resource = "*"
      },
      {
        # The VPC runner's builds attach to the private subnets (modules/github-runner narrows it to them).
        Sid    = "RunnerNetworkInterfaces"
        Effect = "Allow"
        Action = [
          "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:CreateNetworkInterfacePermission",
          "ec2:DescribeNetworkInterfaces", "ec2:DescribeDhcpOptions", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
          "ec2:DescribeVpcs",
        ]
        Resource  = "*"
        Condition = local.in_stack_region
      },
      {
        Sid      = "RunnerGitHubConnection"
        Effect   = "Allow"
        Action   = ["codeconnections:GetConnectionToken", "codeconnections:GetConnection", "codestar-connections:GetConnectionToken", "codestar-connections:GetConnection"]
        Resource = ["${local.regional.codeconnections}:connection/*", "${local.regional.codestar-connections}:connection/*"]
      },
      {
        # The emergency revoke (modules/break-glass): its role starts the break-glass task, passing that
        # task's execution role to ECS; nothing else may be passed, to no other service.
        Sid      = "RunTheBreakGlassTask"
        Effect   = "Allow"
        Action   = ["ecs:RunTask", "ecs:DescribeTasks"]
        Resource = ["${local.regional.ecs}:task-definition/${var.name}-break-glass:*", "${local.regional.ecs}:task/*"]
      },
      {
        Sid       = "PassTheBreakGlassTaskRoleToEcs"
        Effect    = "Allow"
        Action    = "iam:PassRole"
        Resource  = local.break_glass_task_role_arn
        Condition = { StringEquals = { "iam:PassedToService" = "ecs-tasks.amazonaws.com" } }
      },
      {
        Sid      = "NoRoleChaining"
        Effect   = "Deny"
        Action   = ["sts:AssumeRole", "organizations:*", "account:*"]
        Resource = "*"
      },
      {
        Sid         = "NoIam"
        Effect      = "Deny"
        Action      = "iam:*"
        NotResource = local.break_glass_task_role_arn
      },
      {
        Sid       = "NoIamButPassingTheBreakGlassTaskRole"
        Effect    = "Deny"
        NotAction = "iam:PassRole"
        Resource  = local.break_glass_task_role_arn
      },
    ]
  })
}

# ------------------------------------------------------------------ terraform apply
# The services environments/production uses, each to the extent it uses them. No iam (see
# stack_iam_policy), no sts, no secret values, no exec into tasks.
resource "aws_iam_policy" "terraform_apply" {
  name        = "${var.name}-terraform-apply-services"
  description = "terraform apply of environments/production: the services the stack uses"
  policy      = local.apply_services_policy
  tags        = local.tags
}

locals {
  apply_services_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # VPC, subnets, routes, gateways, security groups, endpoints, flow logs. No instances.
        Sid    = "Network"
        Effect = "Allow"
        Action = [
          "ec2:Describe*", "ec2:CreateTags", "ec2:DeleteTags",
          "ec2:CreateVpc", "ec2:DeleteVpc", "ec2:ModifyVpcAttribute",
          "ec2:CreateSubnet", "ec2:DeleteSubnet", "ec2:ModifySubnetAttribute",
          "ec2:CreateRouteTable", "ec2:DeleteRouteTable", "ec2:AssociateRouteTable", "ec2:DisassociateRouteTable",
          "ec2:ReplaceRouteTableAssociation", "ec2:CreateRoute", "ec2:DeleteRoute", "ec2:ReplaceRoute",
          "ec2:CreateInternetGateway", "ec2:DeleteInternetGateway", "ec2:AttachInternetGateway", "ec2:DetachInternetGateway",
          "ec2:AllocateAddress", "ec2:ReleaseAddress", "ec2:DisassociateAddress",
          "ec2:CreateNatGateway", "ec2:DeleteNatGateway",
          "ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:AuthorizeSecurityGroupIngress",
          "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
          "ec2:ModifySecurityGroupRules", "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
          "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
          "ec2:CreateVpcEndpoint", "ec2:ModifyVpcEndpoint", "ec2:DeleteVpcEndpoints",
          "ec2:CreateFlowLogs", "ec2:DeleteFlowLogs",
        ]
        Resource  = "*"
        Condition = local.in_stack_region
      },
      {
        Sid       = "LoadBalancer"
        Effect    = "Allow"
        Action    = ["elasticloadbalancing:*", "acm:DescribeCertificate", "acm:ListCertificates"]
        Resource  = "*"
        Condition = local.in_stack_region
      },
      {
        # Cluster, task definitions, service, one-off tasks. Not ecs:ExecuteCommand.
        Sid    = "Ecs"
        Effect = "Allow"
        Action = [
          "ecs:Describe*", "ecs:List*", "ecs:CreateCluster", "ecs:DeleteCluster", "ecs:UpdateCluster",
          "ecs:UpdateClusterSettings", "ecs:PutClusterCapacityProviders", "ecs:RegisterTaskDefinition",
          "ecs:DeregisterTaskDefinition", "ecs:DeleteTaskDefinitions", "ecs:CreateService", "ecs:UpdateService",
          "ecs:DeleteService", "ecs:RunTask", "ecs:StopTask", "ecs:TagResource", "ecs:UntagResource",
          "application-autoscaling:*",
        ]
        Resource  = "*"
        Condition = local.in_stack_region
      },
      {
        Sid    = "DatabaseAndCache"
        Effect = "Allow"
        Action = [
          "rds:Describe*", "rds:ListTagsForResource", "rds:AddTagsToResource", "rds:RemoveTagsFromResource",
          "rds:CreateDBInstance", "rds:ModifyDBInstance", "rds:DeleteDBInstance", "rds:RebootDBInstance",
          "rds:CreateDBSnapshot", "rds:CreateDBSubnetGroup", "rds:ModifyDBSubnetGroup", "rds:DeleteDBSubnetGroup",
          "rds:CreateDBParameterGroup", "rds:ModifyDBParameterGroup", "rds:DeleteDBParameterGroup",
          "rds:ResetDBParameterGroup", "elasticache:*",
        ]
        Resource = ["${local.regional.rds}:*", "${local.regional.elasticache}:*"]
      },
      {
        # The config and access-log buckets (<name>-config-*, <name>-logs-*) and their objects.
        Sid      = "StackBuckets"
        Effect   = "Allow"
        Action   = "s3:*"
        Resource = [local.stack_buckets, "${local.stack_buckets}/*"]
      },
      {
        # CreateKey and the listings take no resource.
        Sid       = "CreateKeys"
        Effect    = "Allow"
        Action    = ["kms:CreateKey", "kms:ListAliases", "kms:ListKeys", "secretsmanager:ListSecrets", "logs:DescribeLogGroups", "cloudwatch:DescribeAlarms"]
        Resource  = "*"
        Condition = local.in_stack_region
      },
      {
        Sid    = "ManageKeys"
        Effect = "Allow"
        Action = [
          "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags", "kms:PutKeyPolicy",
          "kms:EnableKeyRotation", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource",
          "kms:UpdateKeyDescription", "kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias", "kms:CreateGrant",
          "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey",
        ]
        Resource = ["${local.regional.kms}:key/*", "${local.regional.kms}:alias/${var.name}*"]
      },
      {
        # The guarded tiers' guardrails and their versions (modules/bedrock-guardrails).
        Sid    = "ManageGuardrails"
        Effect = "Allow"
        Action = [
          "bedrock:CreateGuardrail", "bedrock:GetGuardrail", "bedrock:UpdateGuardrail", "bedrock:DeleteGuardrail",
          "bedrock:CreateGuardrailVersion", "bedrock:TagResource", "bedrock:UntagResource", "bedrock:ListTagsForResource",
        ]
        Resource = "arn:${local.partition}:bedrock:${var.aws_region}:${local.account_id}:guardrail/*"
      },
      {
        # The secrets' metadata and resource policies; their values never (protect-bootstrap denies them).
        Sid    = "ManageSecrets"
        Effect = "Allow"
        Action = [
          "secretsmanager:CreateSecret", "secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret",
          "secretsmanager:UpdateSecret", "secretsmanager:TagResource", "secretsmanager:UntagResource",
          "secretsmanager:GetResourcePolicy", "secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy",
          "secretsmanager:ValidateResourcePolicy", "secretsmanager:RestoreSecret", "secretsmanager:ListSecretVersionIds",
        ]
        Resource = "${local.regional.secretsmanager}:secret:*"
      },
      {
        # Log groups, alarms, the alarm topic, the budget, the spot-interruption rule. No log reading.
        Sid    = "Observability"
        Effect = "Allow"
        Action = [
          "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy",
          "logs:AssociateKmsKey", "logs:DisassociateKmsKey", "logs:TagResource", "logs:UntagResource",
          "logs:TagLogGroup", "logs:UntagLogGroup", "logs:ListTagsForResource", "logs:ListTagsLogGroup",
          "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:ListTagsForResource",
          "cloudwatch:TagResource", "cloudwatch:UntagResource",
          "events:PutRule", "events:DeleteRule", "events:DescribeRule", "events:PutTargets", "events:RemoveTargets",
          "events:ListTargetsByRule", "events:ListTagsForResource", "events:TagResource", "events:UntagResource",
          "sns:CreateTopic", "sns:DeleteTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe",
          "sns:Unsubscribe", "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes",
          "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource", "sns:TagResource", "sns:UntagResource",
        ]
        Resource = [
          "${local.regional.logs}:log-group:*", "${local.regional.cloudwatch}:alarm:*",
          "${local.regional.events}:rule/*", "${local.regional.sns}:*",
        ]
      },
      {
        Sid      = "Budget"
        Effect   = "Allow"
        Action   = ["budgets:ViewBudget", "budgets:ModifyBudget", "budgets:ListTagsForResource", "budgets:TagResource", "budgets:UntagResource"]
        Resource = "arn:${local.partition}:budgets::${local.account_id}:budget/*"
      },
    ]
  })
}

# The pipeline's own resources in environments/production: the reconciler's state table, the notices'
# SES identity, the VPC runner (CodeBuild, its GitHub connection, the tasks' private DNS name), and the
# Bedrock model-access reads of scripts/ci/preflight. A second policy: one holds at most 6,144 characters.
resource "aws_iam_policy" "terraform_apply_pipeline" {
  name        = "${var.name}-terraform-apply-pipeline"
  description = "terraform apply of environments/production: the pipeline's state table, sender, runner, private DNS"
  policy      = local.apply_pipeline_policy
  tags        = local.tags
}

locals {
  apply_pipeline_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "ReconcilerStateTable"
        Effect = "Allow"
        Action = [
          "dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:DescribeTable", "dynamodb:UpdateTable",
          "dynamodb:DescribeContinuousBackups", "dynamodb:UpdateContinuousBackups", "dynamodb:DescribeTimeToLive",
          "dynamodb:UpdateTimeToLive", "dynamodb:TagResource", "dynamodb:UntagResource", "dynamodb:ListTagsOfResource",
          "dynamodb:PutResourcePolicy", "dynamodb:GetResourcePolicy", "dynamodb:DeleteResourcePolicy",
        ]
        Resource = "${local.regional.dynamodb}:table/${var.name}-*"
      },
      {
        # The provider reads the AWS-managed keys' aliases (alias/aws/dynamodb) while planning the table.
        Sid      = "DescribeAwsManagedKeys"
        Effect   = "Allow"
        Action   = "kms:DescribeKey"
        Resource = "${local.regional.kms}:alias/aws/*"
      },
      {
        Sid    = "NoticesSenderIdentity"
        Effect = "Allow"
        Action = [
          "ses:CreateEmailIdentity", "ses:DeleteEmailIdentity", "ses:GetEmailIdentity", "ses:TagResource",
          "ses:UntagResource", "ses:ListTagsForResource",
        ]
        Resource = "${local.regional.ses}:identity/*"
      },
      {
        Sid    = "VpcRunnerProject"
        Effect = "Allow"
        Action = [
          "codebuild:CreateProject", "codebuild:UpdateProject", "codebuild:DeleteProject", "codebuild:BatchGetProjects",
          "codebuild:CreateWebhook", "codebuild:UpdateWebhook", "codebuild:DeleteWebhook",
        ]
        Resource = "${local.regional.codebuild}:project/${var.name}-*"
      },
      {
        # The project is given the connection; it does not hand out its token to the Terraform role.
        Sid      = "PassTheGitHubConnection"
        Effect   = "Allow"
        Action   = ["codeconnections:PassConnection", "codeconnections:GetConnection", "codestar-connections:PassConnection", "codestar-connections:GetConnection"]
        Resource = ["${local.regional.codeconnections}:connection/*", "${local.regional.codestar-connections}:connection/*"]
      },
      {
        # Cloud Map's namespace is a Route 53 private hosted zone; CreateNamespace takes no resource.
        Sid       = "TasksPrivateName"
        Effect    = "Allow"
        Action    = ["servicediscovery:*"]
        Resource  = "*"
        Condition = local.in_stack_region
      },
      {
        Sid    = "TasksPrivateZone"
        Effect = "Allow"
        Action = [
          "route53:CreateHostedZone", "route53:DeleteHostedZone", "route53:GetHostedZone", "route53:ListHostedZonesByName",
          "route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:GetChange",
          "route53:ChangeTagsForResource", "route53:ListTagsForResource", "route53:AssociateVPCWithHostedZone",
          "route53:DisassociateVPCFromHostedZone", "route53:CreateHealthCheck", "route53:DeleteHealthCheck",
          "route53:GetHealthCheck", "route53:UpdateHealthCheck",
        ]
        Resource = "*"
      },
      {
        # scripts/ci/preflight: can this account call each model (no model is called).
        Sid       = "BedrockModelAccessReads"
        Effect    = "Allow"
        Action    = ["bedrock:GetInferenceProfile", "bedrock:GetFoundationModelAvailability"]
        Resource  = "*"
        Condition = local.in_stack_region
      },
    ]
  })
}

# ------------------------------------------------------------------ terraform plan
# What refreshing environments/production reads, and nothing of its data: no secret values, no
# objects but the config bucket's (the state bucket's are in state_read_policy), no log events.
resource "aws_iam_policy" "terraform_plan" {
  name        = "${var.name}-terraform-plan-reads"
  description = "terraform plan of environments/production: reads its resources' configuration"
  policy      = local.plan_reads_policy
  tags        = local.tags
}

locals {
  plan_reads_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "DescribeTheStacksServices"
        Effect = "Allow"
        Action = [
          "ec2:Describe*", "elasticloadbalancing:Describe*", "acm:DescribeCertificate",
          "ecs:Describe*", "ecs:List*", "application-autoscaling:Describe*", "application-autoscaling:ListTagsForResource",
          "rds:Describe*", "rds:ListTagsForResource", "elasticache:Describe*", "elasticache:ListTagsForResource",
          "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags", "kms:ListAliases",
          "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy", "secretsmanager:ListSecrets",
          "logs:DescribeLogGroups", "logs:ListTagsForResource", "logs:ListTagsLogGroup",
          "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource",
          "events:DescribeRule", "events:ListTargetsByRule", "events:ListTagsForResource",
          "sns:GetTopicAttributes", "sns:GetSubscriptionAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource",
          "dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTimeToLive",
          "dynamodb:ListTagsOfResource", "dynamodb:GetResourcePolicy", "ses:GetEmailIdentity", "ses:ListTagsForResource",
          "codebuild:BatchGetProjects", "servicediscovery:Get*", "servicediscovery:List*",
        ]
        Resource  = "*"
        Condition = local.in_stack_region
      },
      {
        # Route 53 is global: the tasks' private zone (Cloud Map's namespace).
        Sid      = "ReadTheTasksPrivateZone"
        Effect   = "Allow"
        Action   = ["route53:GetHostedZone", "route53:ListResourceRecordSets", "route53:ListTagsForResource", "route53:GetChange"]
        Resource = ["arn:${local.partition}:route53:::hostedzone/*", "arn:${local.partition}:route53:::change/*"]
      },
      {
        Sid    = "ReadTheStacksRolesPoliciesAndBudget"
        Effect = "Allow"
        Action = [
          "iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:GetPolicy",
          "iam:GetPolicyVersion", "iam:ListPolicyVersions", "iam:GetOpenIDConnectProvider",
          "budgets:ViewBudget", "budgets:ListTagsForResource",
        ]
        Resource = [
          "${local.iam_arn}:role/${var.name}-*", "${local.iam_arn}:policy/${var.name}-*", "${local.iam_arn}:oidc-provider/*",
          "arn:${local.partition}:budgets::${local.account_id}:budget/*",
        ]
      },
      {
        # Listings without resource-level scoping: how the root finds the OIDC provider and the boundary.
        Sid      = "FindTheGitHubOidcProviderAndTheBoundary"
        Effect   = "Allow"
        Action   = ["iam:ListPolicies", "iam:ListOpenIDConnectProviders"]
        Resource = "*"
      },
      {
        Sid      = "ReadTheGuardrails"
        Effect   = "Allow"
        Action   = ["bedrock:GetGuardrail", "bedrock:ListTagsForResource"]
        Resource = "arn:${local.partition}:bedrock:${var.aws_region}:${local.account_id}:guardrail/*"
      },
      {
        Sid      = "ReadStackBucketsConfiguration"
        Effect   = "Allow"
        Action   = ["s3:GetBucket*", "s3:GetEncryptionConfiguration", "s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration", "s3:GetAccelerateConfiguration", "s3:ListBucket"]
        Resource = local.stack_buckets
      },
      {
        # The config object Terraform uploads (its ETag and tags).
        Sid      = "ReadConfigObject"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:GetObjectTagging"]
        Resource = "arn:${local.partition}:s3:::${var.name}-config-*/*"
      },
      {
        Sid      = "NoDataReads"
        Effect   = "Deny"
        Action   = ["secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue", "logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery", "logs:GetQueryResults"]
        Resource = "*"
      },
    ]
  })
}
