"""The run books and the run_health sensor."""
