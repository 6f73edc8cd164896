variable "name" {
  description = "Cluster name."
  type        = string
  nullable    = false
}

variable "container_insights" {
  description = "Enable CloudWatch Container Insights (task-level CPU, memory and network metrics)."
  type        = bool
  default     = true
}

variable "on_demand_base" {
  description = "Tasks of a service using the default strategy that always run on on-demand FARGATE; the rest run on FARGATE_SPOT."
  type        = number
  default     = 1

  validation {
    condition     = var.on_demand_base >= 0 && var.on_demand_base <= 100000 && floor(var.on_demand_base) == var.on_demand_base
    error_message = "on_demand_base must be a whole number from 0 to 100000."
  }
}

variable "tags" {
  description = "Tags of the cluster."
  type        = map(string)
  default     = {}
}
