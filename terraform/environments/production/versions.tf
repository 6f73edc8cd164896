terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # State lives in the bucket terraform/bootstrap creates, encrypted with its KMS key and locked
  # with a lock object beside it (no DynamoDB table). The bucket and key are account-specific, so
  # scripts/ci/terraform-init passes them from TF_STATE_BUCKET and TF_STATE_KMS_KEY_ARN.
  backend "s3" {
    key          = "production/terraform.tfstate"
    region       = "ap-south-1"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.tags
  }
}

# IAM Identity Center's APIs answer in the instance's home Region only, which need not be the gateway's.
provider "aws" {
  alias  = "identity_center"
  region = var.identity_center_region != "" ? var.identity_center_region : var.aws_region

  default_tags {
    tags = local.tags
  }
}
