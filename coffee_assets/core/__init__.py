"""The ground floor: pure Python, no Dagster. The raw layer's contract and the domain's
vocabulary, dates and SQL both warehouses read, the rules the checks and the importer share, the
data generator, the importer's core, the reports' rendering and the alerts' texts."""
