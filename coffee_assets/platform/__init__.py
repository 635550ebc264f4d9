"""What every layer of defs/ shares: the target (local or gcp) with its bucket and warehouse
resources, the daily partitions, freshness, metadata and check helpers."""
