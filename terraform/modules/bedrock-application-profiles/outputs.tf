output "profiles" {
  description = "Each profile's ARN and the inference profile it copies, by key (<tier>-<model alias>)."
  value = { for k, p in aws_bedrock_inference_profile.this : k => {
    arn       = p.arn
    copy_from = var.profiles[k].copy_from
  } }
}
