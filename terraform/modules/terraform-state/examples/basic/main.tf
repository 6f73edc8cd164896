# The S3 state backend of an account: a versioned bucket that refuses destruction, and its own key.
provider "aws" {
  # Terraform and AWS provider versions: the module's versions.tf.
  region = "ap-south-1"
}

module "state" {
  source = "../.."

  name = "example"
}

output "backend_config" {
  description = "The settings of terraform init -backend-config for a root that keeps its state here."
  value = {
    bucket       = module.state.bucket
    kms_key_id   = module.state.kms_key_arn
    region       = "ap-south-1"
    encrypt      = true
    use_lockfile = true
  }
}
