"""Run operations: what keeps runs honest rather than what they build. The run books (a run's
process and its warehouse lock, recovery of dead runs), the run-health sensor's work, the code
server watchdog, the file locks, dbt run in the run's process, PostgreSQL's connection check,
and every use of Dagster's private API (dagster_internals.py, one module with a test per call):
the code a Dagster upgrade can break, in one place."""
