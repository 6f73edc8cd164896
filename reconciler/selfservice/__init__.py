"""Side job: employee self-service (`gatewayctl whoami`, `gatewayctl key show --me`)."""
