"""Live state: what the gateway, Secrets Manager and Bedrock hold, read through their APIs."""
