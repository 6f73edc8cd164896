output "guardrails" {
  description = "Each guarded tier's guardrail: id, ARN and the version the tasks use."
  value = { for k, g in aws_bedrock_guardrail.this : k => {
    id      = g.guardrail_id
    arn     = g.guardrail_arn
    version = aws_bedrock_guardrail_version.this[k].version
  } }
}
