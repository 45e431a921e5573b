"""Where the fleet's records come from."""
