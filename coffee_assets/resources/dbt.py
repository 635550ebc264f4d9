"""The dbt CLI resource."""

from __future__ import annotations

from dagster_dbt import DbtCliResource

from coffee_assets.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR


def dbt_cli_resource(target: str) -> DbtCliResource:
    """dbt of this Python environment (an unactivated venv works too), on the given dbt target."""
    return DbtCliResource(
        project_dir=str(DBT_PROJECT_DIR), target=target, dbt_executable=DBT_EXECUTABLE
    )
