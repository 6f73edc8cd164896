# A customer-managed key for one application's data at rest, rotated yearly.
terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

provider "aws" {
  region = "ap-south-1"
}

module "kms" {
  source = "../.."

  name = "example-app"
}

output "key_arn" {
  description = "Pass this as kms_key_arn to the modules that encrypt with it."
  value       = module.kms.key_arn
}
