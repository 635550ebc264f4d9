"""The CSV files in the bucket: the raw layer's source of truth."""
