"""Side job: key notices, budget alerts and the channels that deliver them."""
