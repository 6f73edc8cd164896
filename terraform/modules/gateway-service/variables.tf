variable "name" {
  description = "Service name; also the prefix of the scaling policies (<name>-cpu, <name>-requests)."
  type        = string
  nullable    = false
}

variable "cluster_name" {
  description = "ECS cluster of the service (an ecs-cluster module's name, so the service waits for its capacity providers)."
  type        = string
}

variable "cluster_arn" {
  description = "ARN of that cluster."
  type        = string
}

variable "task_definition_arn" {
  description = "Task definition the service runs."
  type        = string
}

variable "container_name" {
  description = "Container of the task definition that receives the load balancer's traffic."
  type        = string
}

variable "container_port" {
  description = "Port of that container."
  type        = number
  nullable    = false
}

variable "target_group_arn" {
  description = "Target group the tasks register with (a gateway-load-balancer module's output, so the service waits for the listener)."
  type        = string
}

variable "alb_arn_suffix" {
  description = "ALB ARN suffix (the requests-per-target scaling metric)."
  type        = string
}

variable "target_group_arn_suffix" {
  description = "Target group ARN suffix (the requests-per-target scaling metric)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the tasks."
  type        = list(string)
  nullable    = false
}

variable "security_group_id" {
  description = "Security group of the tasks."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the private DNS namespace that names the tasks for the CI runner."
  type        = string
  nullable    = false
}

variable "private_dns_namespace" {
  description = "Private DNS namespace (Cloud Map, resolvable only inside the VPC) in which ECS registers the tasks: the admin API is http://<private_dns_name>.<namespace>:<container_port> from the CI runner."
  type        = string
  default     = "gateway.internal"

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+internal$", var.private_dns_namespace))
    error_message = "private_dns_namespace must be a DNS name under .internal (reserved for private use), e.g. gateway.internal."
  }
}

variable "private_dns_name" {
  description = "Host name of the tasks in private_dns_namespace."
  type        = string
  default     = "litellm"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.private_dns_name))
    error_message = "private_dns_name must be one DNS label."
  }
}

variable "paused" {
  description = "Keep the service at 0 tasks (first deploy: run bootstrap-secrets, db-bootstrap and migrate before unpausing)."
  type        = bool
  default     = false
}

variable "min_tasks" {
  description = "Minimum number of tasks (first one is on-demand FARGATE)."
  type        = number
  default     = 2

  validation {
    condition     = var.min_tasks >= 1
    error_message = "min_tasks must be at least 1."
  }
}

variable "max_tasks" {
  description = "Maximum number of tasks under autoscaling."
  type        = number
  default     = 4

  validation {
    condition     = var.max_tasks >= var.min_tasks
    error_message = "max_tasks must be >= min_tasks."
  }
}

variable "deployment_maximum_percent" {
  description = "ECS deployment maximum percent (peak task count during a rollout)."
  type        = number
  default     = 200

  validation {
    condition     = var.deployment_maximum_percent >= 100 && var.deployment_maximum_percent <= 200
    error_message = "deployment_maximum_percent must be between 100 and 200."
  }
}

variable "cpu_target_percent" {
  description = "Target average CPU utilisation for autoscaling."
  type        = number
  default     = 60

  validation {
    condition     = var.cpu_target_percent >= 10 && var.cpu_target_percent <= 90
    error_message = "cpu_target_percent must be between 10 and 90."
  }
}

variable "requests_per_target" {
  description = "Target ALBRequestCountPerTarget (requests per task per minute) for autoscaling."
  type        = number
  default     = 300

  validation {
    condition     = var.requests_per_target > 0
    error_message = "requests_per_target must be positive."
  }
}

variable "workers_per_task" {
  description = "LiteLLM worker processes per task, each with its own connection pool (the task definition's --num_workers)."
  type        = number
  nullable    = false
}

variable "db_pool_limit" {
  description = "Connections per worker: database_connection_pool_limit of the LiteLLM config (gateway/config.yaml)."
  type        = number

  validation {
    condition     = var.db_pool_limit >= 1
    error_message = "db_pool_limit must be >= 1."
  }
}

variable "db_max_connections" {
  description = "max_connections of the database instance."
  type        = number
  default     = 80
}

variable "db_reserved_connections" {
  description = "Connections kept free for admins, RDS and superuser_reserved_connections."
  type        = number
  default     = 10
}

variable "extra_db_connections" {
  description = "Connections used outside the service (reconciler + migration task)."
  type        = number
  default     = 10
}

variable "tags" {
  description = "Tags of the service and the scalable target."
  type        = map(string)
  default     = {}
}
