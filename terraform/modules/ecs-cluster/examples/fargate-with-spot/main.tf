# A Fargate cluster whose services keep two on-demand tasks and run the rest on Spot.
provider "aws" {
  # Terraform and AWS provider versions: the module's versions.tf.
  region = "ap-south-1"
}

module "cluster" {
  source = "../.."

  name           = "example"
  on_demand_base = 2
  tags           = { Team = "platform" }
}

output "cluster_arn" {
  description = "The cluster (known once its capacity providers are attached)."
  value       = module.cluster.arn
}
