# A role that only the production job of deploy.yml, run from main, can assume; it may read one bucket.
provider "aws" {
  # Terraform and AWS provider versions: the module's versions.tf.
  region = "ap-south-1"
}

data "aws_iam_openid_connect_provider" "github" {
  url = "https://token.actions.githubusercontent.com"
}

module "deploy_role" {
  source = "../.."

  name              = "example-deploy"
  description       = "deploy.yml on main, production environment"
  oidc_provider_arn = data.aws_iam_openid_connect_provider.github.arn
  github_repository = "example-org/example-repo"
  trusted_jobs = [
    { workflow = "deploy.yml", context = "environment:production", ref = "refs/heads/main" },
  ]
  inline_policies = {
    read-artifacts = jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = "arn:aws:s3:::example-artifacts/*"
      }]
    })
  }
}

output "role_arn" {
  description = "Set it as role-to-assume of aws-actions/configure-aws-credentials in that job."
  value       = module.deploy_role.arn
}
