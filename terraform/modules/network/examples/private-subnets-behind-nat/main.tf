# A two-AZ VPC: public subnets for a load balancer, private subnets whose tasks reach the internet
# through one shared NAT gateway, flow logs encrypted with a key of the kms module.
provider "aws" {
  # Terraform and AWS provider versions: the module's versions.tf.
  region = "ap-south-1"
}

module "kms" {
  source = "../../../kms"

  name = "example-network"
}

module "network" {
  source = "../.."

  name        = "example"
  cidr_block  = "10.50.0.0/16"
  azs         = ["ap-south-1a", "ap-south-1b"]
  egress_mode = "nat"
  kms_key_arn = module.kms.key_arn
}

output "private_subnet_ids" {
  description = "Where the tasks run."
  value       = module.network.private_subnet_ids
}
