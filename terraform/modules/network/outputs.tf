output "vpc_id" {
  description = "VPC ID."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "VPC CIDR."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Public subnet IDs (ALB only)."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnet IDs (tasks, database, cache)."
  value       = aws_subnet.private[*].id
}

output "s3_prefix_list_id" {
  description = "Prefix list of the S3 gateway endpoint (for security group egress)."
  value       = aws_vpc_endpoint.s3.prefix_list_id
}

output "nat_gateway_count" {
  description = "Number of NAT gateways created."
  value       = local.nat_count
}

output "interface_endpoint_ids" {
  description = "Interface endpoint IDs by service."
  value       = { for k, v in aws_vpc_endpoint.interface : k => v.id }
}

output "nat_public_ips" {
  description = "Public IPv4 addresses of the NAT gateways: the source address of everything in the private subnets that reaches the internet (the tasks, the VPC runner), e.g. for an allow-list on GitHub or a third party."
  value       = aws_eip.nat[*].public_ip
}
