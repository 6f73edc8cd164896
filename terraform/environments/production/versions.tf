terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Remote state. Kept partial so `terraform init -backend=false` works offline;
  # enable with: terraform init -backend-config=backend.hcl (bucket, key,
  # region = "ap-south-1", use_lockfile = true, encrypt = true, kms_key_id).
  # backend "s3" {}
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.tags
  }
}
