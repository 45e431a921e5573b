"""The project index: what the project defines and when each piece of code runs."""
