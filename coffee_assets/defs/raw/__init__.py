"""The raw tables and their checks."""
