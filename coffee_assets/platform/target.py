"""The target a code location runs on, `local` or `gcp`: the one place that knows what differs.

A `Target` says which warehouse kind the UI shows, which pool the steps that use the warehouse
share, which dbt target of coffee_dbt/profiles.yml dbt runs on and which SQL dialect the
contract's column types take. `target_resources` builds the two resources of the target, the
bucket (`storage`) and the warehouse (defs/resources.py builds every resource of the code
location, once).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import dagster as dg

from coffee_assets.core import contract as c
from coffee_assets.platform.duckdb_warehouse import DuckDBWarehouse
from coffee_assets.platform.storage import LocalFolderBucket
from coffee_assets.settings import GcpSettings, Settings

# Every step that opens the warehouse (raw loads, dbt, the checks that query it, the reports) is
# in its target's pool, whatever launched its run (a job, an asset backfill, the schedule, the
# UI). The instances limit every pool to 1 (concurrency.pools.default_limit):
#   duckdb    DuckDB has one writer process. dagster_home/dagster.yaml: one such step at a time.
#   bigquery  BigQuery takes parallel writers, but two runs rebuilding the same days and marts at
#             once race (and a check or report reading mid-rebuild sees one run's raw tables
#             with another's marts): the readers take turns with the writers too.
# deploy/dagster.yaml (and the Helm values) apply the limit per run (granularity: run): a run that
# has any step in a pool waits in the queue while another such run is in progress.
DUCKDB_POOL = "duckdb"
BIGQUERY_POOL = "bigquery"


@dataclass(frozen=True)
class Target:
    name: str  # COFFEE_TARGET, and the dbt target of coffee_dbt/profiles.yml
    kind: str  # the warehouse's kind, shown on the assets that live in it
    pool: str  # the pool of the steps that use the warehouse
    dialect: str  # the contract's ColumnType attribute with this warehouse's SQL type

    @property
    def dbt_target(self) -> str:
        return self.name

    def sql_type(self, column: c.Column) -> str:
        return getattr(column.type, self.dialect)


LOCAL = Target("local", kind="duckdb", pool=DUCKDB_POOL, dialect="duckdb")
GCP = Target("gcp", kind="bigquery", pool=BIGQUERY_POOL, dialect="bigquery")
TARGETS = {target.name: target for target in (LOCAL, GCP)}


def target_of(settings: Settings) -> Target:
    return TARGETS[settings.target]


def target_resources(settings: Settings) -> dict[str, Any]:
    """The bucket (`storage`) and the `warehouse` of the settings' target. An unusable gcp
    target fails here, naming the variable."""
    if settings.target == LOCAL.name:
        return {
            "storage": LocalFolderBucket(root=str(settings.bucket_dir)),
            "warehouse": DuckDBWarehouse(path=str(settings.duckdb_path)),
        }
    return gcp_resources(settings.gcp or GcpSettings.from_env())


def _env(name: str) -> Any:
    """The variable itself (so the UI shows its name, not its value) when it is set; its default
    otherwise. GcpSettings.from_env has already checked that the required ones are set."""
    if os.environ.get(name, "").strip():
        return dg.EnvVar(name)
    return GcpSettings.default_of(name)


def gcp_resources(gcp: GcpSettings) -> dict[str, Any]:
    """GCS and BigQuery through dagster-gcp; against the emulators when their hosts are set.

    The CSV prefix and the emulator endpoints are passed normalised (trailing slash, scheme
    checked) rather than as EnvVar: they are not secrets and their raw form needs fixing up.
    """
    # Imported here, not at the top: the Google client libraries take over a second to import,
    # which the local target need not pay at every definitions load.
    from coffee_assets.platform.bigquery import CoffeeBigQueryResource
    from coffee_assets.platform.bigquery_warehouse import BigQueryWarehouse
    from coffee_assets.platform.gcs import CoffeeGCSResource, GCSBucket

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
            usd_per_tib=gcp.usd_per_tib,
        ),
    }
