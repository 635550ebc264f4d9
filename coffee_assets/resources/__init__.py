"""Resources, and the one place that picks them by target (`build_resources`)."""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from coffee_assets.resources.dbt import dbt_cli_resource
from coffee_assets.resources.generator import CoffeeGenerator
from coffee_assets.resources.storage import Bucket, LocalFolderBucket
from coffee_assets.resources.warehouse import DuckDBWarehouse, RawLoadError, Warehouse
from coffee_assets.settings import GCP_ENV_DEFAULTS, GcpSettings, Settings

__all__ = [
    "Bucket",
    "CoffeeGenerator",
    "DuckDBWarehouse",
    "LocalFolderBucket",
    "RawLoadError",
    "Warehouse",
    "build_resources",
]


def build_resources(settings: Settings) -> dict[str, Any]:
    """The resources of a target. Assets only see the keys: storage, warehouse, dbt, generator."""
    generator = CoffeeGenerator(
        seed=settings.seed,
        history_start=settings.start_date.isoformat(),
        profile=settings.volume_profile,
        orders_per_day=settings.orders_per_day,
    )
    dbt = dbt_cli_resource(settings.target)
    if settings.target == "local":
        return {
            "storage": LocalFolderBucket(root=str(settings.bucket_dir)),
            "warehouse": DuckDBWarehouse(
                path=str(settings.duckdb_path), lock_timeout_seconds=settings.warehouse_wait_seconds
            ),
            "dbt": dbt,
            "generator": generator,
        }
    if settings.target == "gcp":
        gcp = settings.gcp or GcpSettings.from_env()
        return {**gcp_resources(gcp), "dbt": dbt, "generator": generator}
    raise ValueError(f"unknown target {settings.target!r}")


def _env(name: str) -> Any:
    """The variable itself (so the UI shows its name, not its value) when it is set; its default
    otherwise. GcpSettings.from_env has already checked that the required ones are set."""
    if os.environ.get(name, "").strip():
        return dg.EnvVar(name)
    return GCP_ENV_DEFAULTS[name]


def gcp_resources(gcp: GcpSettings) -> dict[str, Any]:
    """GCS and BigQuery through dagster-gcp; against the emulators when their hosts are set.

    The CSV prefix and the emulator endpoints are passed normalised (trailing slash, scheme
    checked) rather than as EnvVar: they are not secrets and their raw form needs fixing up.
    """
    # Imported here, not at the top: the Google client libraries take over a second to import,
    # which the local target need not pay at every definitions load.
    from coffee_assets.resources.bigquery import BigQueryWarehouse, CoffeeBigQueryResource
    from coffee_assets.resources.gcs import CoffeeGCSResource, GCSBucket

    gcs = CoffeeGCSResource(
        project=_env("COFFEE_GCP_PROJECT"), emulator_host=gcp.storage_emulator_host
    )
    bigquery = CoffeeBigQueryResource(
        project=_env("COFFEE_GCP_PROJECT"),
        location=_env("COFFEE_BQ_LOCATION"),
        emulator_host=gcp.bigquery_emulator_host,
    )
    return {
        "storage": GCSBucket(gcs=gcs, bucket=_env("COFFEE_GCS_BUCKET"), csv_prefix=gcp.prefix),
        "warehouse": BigQueryWarehouse(
            bigquery=bigquery,
            gcs=gcs,
            raw_dataset=_env("COFFEE_BQ_RAW_DATASET"),
            dbt_dataset=_env("COFFEE_BQ_DBT_DATASET"),
        ),
    }
