"""The run_health sensor (coffee_assets/operations/ holds its work and the run books)."""
