"""Side job: chargeback and spend reports per cost center."""
