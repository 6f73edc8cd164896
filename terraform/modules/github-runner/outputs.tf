output "project_name" {
  description = "CodeBuild project; a job runs on this runner with runs-on: codebuild-<project_name>-$${{ github.run_id }}-$${{ github.run_attempt }}."
  value       = aws_codebuild_project.this.name
}

output "runs_on" {
  description = "The runs-on label of a job on this runner, as a workflow writes it."
  value       = "codebuild-${aws_codebuild_project.this.name}-$${{ github.run_id }}-$${{ github.run_attempt }}"
}

output "build_role_arn" {
  description = "CodeBuild service role of the runner (logs and VPC attachment only)."
  value       = aws_iam_role.build.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the runner's builds."
  value       = aws_cloudwatch_log_group.this.name
}
