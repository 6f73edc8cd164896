"""Side job: who had which access when, read from git."""
