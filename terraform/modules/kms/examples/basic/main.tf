# A customer-managed key for one application's data at rest, rotated yearly.
provider "aws" {
  # Terraform and AWS provider versions: the module's versions.tf.
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
