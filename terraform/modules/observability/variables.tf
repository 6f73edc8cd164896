variable "name" {
  description = "Name prefix of alarms, topic and budget."
  type        = string
  nullable    = false
}

variable "kms_key_arn" {
  description = "KMS key encrypting the SNS topic."
  type        = string
  nullable    = false
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the alarm topic (confirmation required)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_emails must be e-mail addresses."
  }
}

variable "alb_arn_suffix" {
  description = "ALB ARN suffix (CloudWatch dimension)."
  type        = string
}

variable "target_group_arn_suffix" {
  description = "Target group ARN suffix (CloudWatch dimension)."
  type        = string
}

variable "ecs_cluster_name" {
  description = "ECS cluster name."
  type        = string
}

variable "ecs_cluster_arn" {
  description = "ECS cluster ARN (Spot interruption rule)."
  type        = string
}

variable "ecs_service_name" {
  description = "ECS service name."
  type        = string
}

variable "db_instance_id" {
  description = "RDS instance identifier."
  type        = string
}

variable "alb_5xx_threshold" {
  description = "5xx responses per 5 minutes that raise the alarm."
  type        = number
  default     = 10

  validation {
    condition     = var.alb_5xx_threshold >= 1
    error_message = "alb_5xx_threshold must be >= 1."
  }
}

variable "ecs_cpu_threshold" {
  description = "ECS service CPU % alarm threshold."
  type        = number
  default     = 85

  validation {
    condition     = var.ecs_cpu_threshold > 0 && var.ecs_cpu_threshold <= 100
    error_message = "ecs_cpu_threshold must be a percentage."
  }
}

variable "rds_cpu_threshold" {
  description = "RDS CPU % alarm threshold."
  type        = number
  default     = 80

  validation {
    condition     = var.rds_cpu_threshold > 0 && var.rds_cpu_threshold <= 100
    error_message = "rds_cpu_threshold must be a percentage."
  }
}

variable "rds_connections_threshold" {
  description = "DatabaseConnections alarm threshold (set to the connection budget)."
  type        = number

  validation {
    condition     = var.rds_connections_threshold >= 1
    error_message = "rds_connections_threshold must be >= 1."
  }
}

variable "monthly_budget_usd" {
  description = "Monthly AWS cost budget for the account in USD (includes Bedrock)."
  type        = number

  validation {
    condition     = var.monthly_budget_usd > 0
    error_message = "monthly_budget_usd must be positive."
  }
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
