"""Apply: carry out a plan's steps against the gateway, record what was deployed."""
