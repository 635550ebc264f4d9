"""The gcp target: the same assets, checks and job on GCS and BigQuery, through the real
google-cloud-storage / google-cloud-bigquery clients, dagster-gcp and dbt-bigquery, against the
gcp-storage-emulator and bqemulator (started on loopback by gcp_fixtures.py).

The lineage's results are compared row for row with the local target's (the `pipeline` fixture:
same seed and days), so both targets are held to the same numbers.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import dagster as dg
import duckdb
import pytest
import requests
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery, storage

from coffee_assets.cli import importer as cli
from coffee_assets.core import contract as c
from coffee_assets.core import verdict_table as vt
from coffee_assets.core.project import DBT_PROJECT_DIR
from coffee_assets.definitions import build_definitions
from coffee_assets.defs.dbt.assets import node_costs, window_env
from coffee_assets.defs.dbt.resources import dbt_executable
from coffee_assets.defs.schedules.jobs import execute_daily_refresh
from coffee_assets.platform.bigquery import CoffeeBigQueryResource, load_error_summary
from coffee_assets.platform.bigquery_warehouse import RAW_CLUSTERING, BigQueryWarehouse
from coffee_assets.platform.costs import (
    BYTES_BILLED,
    BYTES_PROCESSED,
    COST_USD,
    JOBS,
    LOADED_BYTES,
    SLOT_MS,
    cost_metadata,
    usd,
)
from coffee_assets.platform.gcs import CoffeeGCSResource, GCSBucket
from coffee_assets.platform.retry import is_transient, transient_retry
from coffee_assets.platform.target import target_resources
from coffee_assets.platform.warehouse import RawLoadError
from coffee_assets.settings import PROJECT_ROOT, GcpSettings, Settings, SettingsError

from .conftest import LAST, START
from .gcp_fixtures import Emulators, prepare_gcp_manifest
from .original_showcase import original_files
from .test_import import DAYS as IMPORT_DAYS
from .test_import import LAST as IMPORT_LAST
from .test_import import START as IMPORT_START

BUCKET = "coffee-test-bucket"
PREFIX = "landing/csv/"  # not the default, to show COFFEE_GCS_PREFIX is honoured
RAW_DATASET = "raw_coffee"  # not the defaults either: the logical schemas must be mapped
DBT_DATASET = "coffee_marts"
MODELS = [
    "stg_customers",
    "stg_order_details",
    "stg_orders",
    "stg_products",
    "stg_stores",
    "stg_product_prices",
    "stg_business_events",
    "dim_customer",
    "dim_date",
    "dim_order",
    "dim_product",
    "dim_store",
    "fact_order_details",
    "flat_customer_metrics",
    "flat_order_details",
    "agg_customers",
    "agg_store_days",
    "agg_store_day_categories",
    "agg_store_day_mixes",
    "agg_customer_days",
]
# The incremental models: partitioned by day, clustered within it (coffee_dbt's configs).
CLUSTERED = {
    "fact_order_details": ["store_key", "product_key"],
    "flat_order_details": ["store_id", "product_category"],
    "agg_store_days": ["store_id"],
    "agg_store_day_categories": ["store_id"],
    "agg_store_day_mixes": ["store_id"],
    "agg_customer_days": ["customer_id"],
}
GCP_ENV = {
    "COFFEE_TARGET": "gcp",
    "COFFEE_GCS_BUCKET": BUCKET,
    "COFFEE_GCS_PREFIX": PREFIX,
    "COFFEE_BQ_LOCATION": "US",
    "COFFEE_BQ_RAW_DATASET": RAW_DATASET,
    "COFFEE_BQ_DBT_DATASET": DBT_DATASET,
}


# ---------------------------------------------------------------------------- retry decisions
@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (gexc.BadRequest("bad query"), False),
        (gexc.NotFound("no such table"), False),
        (gexc.Forbidden("access denied"), False),
        (gexc.Conflict("already exists"), False),
        (gexc.PreconditionFailed("generation mismatch"), False),
        (gexc.Forbidden("quota", errors=[{"reason": "rateLimitExceeded"}]), True),
        (gexc.BadRequest("job failed", errors=[{"reason": "backendError"}]), True),
        (gexc.TooManyRequests("slow down"), True),
        (gexc.InternalServerError("oops"), True),
        (gexc.BadGateway("proxy"), True),
        (gexc.ServiceUnavailable("try later"), True),
        (gexc.GatewayTimeout("timeout"), True),
        (ConnectionResetError(104, "Connection reset by peer"), True),
        (requests.exceptions.ConnectionError("connection aborted"), True),
        (requests.exceptions.ChunkedEncodingError("broken body"), True),
        (ValueError("a bug"), False),
        (KeyError("a bug"), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_transient_errors_are_retried_and_others_are_not(error, retried):
    assert is_transient(error) is retried


def test_the_retry_policy_backs_off_then_succeeds_and_gives_up_at_once_on_a_4xx():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise gexc.ServiceUnavailable("backend busy")
        return "done"

    fast = transient_retry(initial=0.01, maximum=0.02, timeout=5)
    assert fast(flaky)() == "done" and len(calls) == 3

    calls.clear()

    def wrong():
        calls.append(1)
        raise gexc.BadRequest("Syntax error")

    with pytest.raises(gexc.BadRequest):
        fast(wrong)()
    assert len(calls) == 1


def test_a_failed_load_job_is_summarised_from_bigquerys_errors():
    """The shape and wording of a real BigQuery CSV load failure (errors[] of the job)."""
    uri = "gs://b/csv_sources/orders/date=2025-01-03/Orders.csv"
    resource = {
        "jobReference": {"projectId": "p", "jobId": "j1", "location": "EU"},
        "configuration": {"load": {"sourceUris": [uri]}},
        "status": {
            "state": "DONE",
            "errorResult": {
                "reason": "invalid",
                "message": "Error while reading data, error message: CSV table encountered too "
                "many errors, giving up. Rows: 6; errors: 1. Please look into the errors[] "
                "collection for more details.",
            },
            "errors": [
                {
                    "reason": "invalid",
                    "message": "Error while reading data, error message: CSV table encountered "
                    "too many errors, giving up. Rows: 6; errors: 1. Please look into the "
                    "errors[] collection for more details.",
                },
                {
                    "reason": "invalid",
                    "location": uri,
                    "message": "Error while reading data, error message: Could not parse "
                    "'12.3x' as NUMERIC for field SubTotal (position 5) starting at location "
                    "412  with message 'Invalid NUMERIC value: 12.3x'",
                },
            ],
        },
    }
    client = bigquery.Client(project="p", credentials=AnonymousCredentials())
    job = bigquery.LoadJob.from_api_repr(resource, client)
    error = gexc.BadRequest(job.error_result["message"], errors=job.errors)
    assert load_error_summary(job, error, [uri]) == (
        "Error while reading data, error message: Could not parse '12.3x' as NUMERIC for field "
        "SubTotal (position 5) starting at location 412  with message 'Invalid NUMERIC value: "
        "12.3x'"
    )
    # Several files in one job: each error keeps its file.
    assert load_error_summary(job, error, [uri, uri + "2"]).startswith(f"{uri}: Error while")
    # No errors[] at all: the exception's message.
    assert load_error_summary(None, gexc.ServiceUnavailable("backend down"), []) == "backend down"


def render_dbt_profile(env: dict[str, str]):
    """coffee_dbt/profiles.yml's gcp output as dbt-bigquery reads it (credentials object)."""
    script = f"""
import json, os, yaml
from argparse import Namespace
from dbt.flags import set_from_args
from dbt_common.context import set_invocation_context
from dbt.adapters.factory import load_plugin
from dbt.config.profile import Profile
from dbt.config.renderer import ProfileRenderer
set_from_args(Namespace(), None)
load_plugin("bigquery")
set_invocation_context(os.environ)
raw = yaml.safe_load(open({str(PROJECT_ROOT / "coffee_dbt" / "profiles.yml")!r}))
profile = Profile.from_raw_profiles(raw, "coffee_dbt", ProfileRenderer({{}}), target_override="gcp")
cr = profile.credentials
print(json.dumps({{k: getattr(cr, k) for k in ("method", "token", "api_endpoint", "keyfile",
    "job_retries", "location", "database", "schema")}}, default=str))
"""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("COFFEE_", "GOOGLE_"))}
    base.pop("BIGQUERY_EMULATOR_HOST", None)
    done = subprocess.run(
        [sys.executable, "-c", script], env={**base, **env}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_cost_of_bigquery_jobs_from_their_adapter_responses(tmp_path):
    """The arithmetic, on responses as dbt-bigquery records them in run_results.json (its own
    BigQueryAdapterResponse, serialised as dbt does): bytes billed x the price per TiB, the
    10 MB minimum a small query is billed included; a DuckDB response costs nothing."""
    from dbt.adapters.bigquery.connections import BigQueryAdapterResponse

    big = BigQueryAdapterResponse(
        _message="MERGE (1.3m rows, 1.2 GiB processed)", code="MERGE", rows_affected=1_300_000,
        bytes_processed=1_288_490_189, bytes_billed=1_289_748_480, location="EU",
        project_id="my-project", job_id="job_big", slot_ms=45_210,
    ).to_dict()  # fmt: skip
    small = BigQueryAdapterResponse(
        _message="SELECT (0 rows, 1.2 KiB processed)", code="SELECT", rows_affected=0,
        bytes_processed=1_234, bytes_billed=10_485_760, location="EU", project_id="my-project",
        job_id="job_small", slot_ms=12,
    ).to_dict()  # fmt: skip
    one = cost_metadata([big], 6.25)
    assert one[BYTES_BILLED].value == 1_289_748_480
    assert one[COST_USD].value == pytest.approx(0.007331, abs=1e-6)  # 1.2 GiB at 6.25 a TiB
    assert one["bigquery/job"].value == (
        "https://console.cloud.google.com/bigquery?project=my-project&j=bq:EU:job_big"
        "&page=queryresults"
    )
    both = cost_metadata([big, small], 6.25)
    assert both[JOBS].value == 2 and both[SLOT_MS].value == 45_222
    assert both[BYTES_PROCESSED].value == 1_288_491_423
    assert both[COST_USD].value == pytest.approx(0.007331 + 0.0000596, abs=1e-6)  # + 10 MB
    assert cost_metadata([{"_message": "OK", "code": "OK", "rows_affected": -1}], 6.25) == {}

    class Invocation:  # what the dbt step reads: run_results.json's results
        def get_artifact(self, name):
            assert name == "run_results.json"
            return {"results": [
                {"unique_id": "model.coffee_dbt.fact_order_details", "adapter_response": big},
                {"unique_id": "test.coffee_dbt.unique_x", "adapter_response": small},
            ]}  # fmt: skip

    costs = node_costs(Invocation(), 6.25)
    assert costs["test.coffee_dbt.unique_x"][BYTES_BILLED].value == 10_485_760


@pytest.mark.slow  # three dbt processes
def test_the_dbt_profile_follows_the_env_vars(tmp_path):
    env = {**GCP_ENV, "COFFEE_GCP_PROJECT": "my-project", "COFFEE_BQ_LOCATION": "EU"}
    real = render_dbt_profile(env)
    assert real == {
        "method": "oauth",
        "token": "",
        "api_endpoint": "",  # empty: dbt-bigquery's client keeps Google's endpoint
        "keyfile": "",
        "job_retries": 3,
        "location": "EU",
        "database": "my-project",
        "schema": DBT_DATASET,
    }
    key = tmp_path / "key.json"
    key.write_text("{}")
    service = {"COFFEE_BQ_METHOD": "service-account", "GOOGLE_APPLICATION_CREDENTIALS": str(key)}
    with_key = render_dbt_profile({**env, **service})
    assert (with_key["method"], with_key["keyfile"]) == ("service-account", str(key))
    emulated = render_dbt_profile({**env, "BIGQUERY_EMULATOR_HOST": "http://127.0.0.1:9050"})
    assert emulated["method"] == "oauth-secrets"
    assert emulated["token"] and emulated["api_endpoint"] == "http://127.0.0.1:9050"


# ---------------------------------------------------------------------------- settings
@pytest.mark.parametrize(
    "missing", ["COFFEE_GCP_PROJECT", "COFFEE_GCS_BUCKET", "COFFEE_BQ_LOCATION"]
)
def test_a_missing_setting_is_named(missing):
    env = {**GCP_ENV, "COFFEE_GCP_PROJECT": "my-project"}
    del env[missing]
    with pytest.raises(SettingsError, match=f"COFFEE_TARGET=gcp needs {missing} "):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("COFFEE_GCS_BUCKET", "gs://bucket/csv", "not a bucket name"),
        ("COFFEE_BQ_RAW_DATASET", "raw-data", "not a dataset name"),
        ("COFFEE_GCS_PREFIX", "../up", "not a folder-like prefix"),
        ("COFFEE_BQ_METHOD", "password", "expected one of oauth, service-account"),
        ("BIGQUERY_EMULATOR_HOST", "127.0.0.1:9050", "http:// prefix"),
        ("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json", "no such file"),
    ],
)
def test_a_malformed_setting_is_named(name, value, message):
    env = {**GCP_ENV, "COFFEE_GCP_PROJECT": "my-project", name: value}
    with pytest.raises(SettingsError, match=f"{name}=.*{message}"):
        Settings.from_env(env)


def test_defaults_and_resources_use_the_env_vars(monkeypatch):
    for name in GcpSettings.env_names():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COFFEE_GCP_PROJECT", "my-project")
    monkeypatch.setenv("COFFEE_GCS_BUCKET", "my-bucket")
    monkeypatch.setenv("COFFEE_BQ_LOCATION", "EU")
    resources = target_resources(Settings(target="gcp"))
    # Values from the environment stay EnvVars, so the UI shows the variable, not its value.
    assert isinstance(resources["storage"].bucket, dg.EnvVar)
    assert isinstance(resources["warehouse"].bigquery.project, dg.EnvVar)
    with dg.build_resources(
        {"storage": resources["storage"], "warehouse": resources["warehouse"]}
    ) as built:
        bucket, warehouse = built.storage, built.warehouse
        assert bucket.uri("csv_sources/orders/date=2025-01-01/Orders.csv") == (
            "gs://my-bucket/csv_sources/orders/date=2025-01-01/Orders.csv"
        )
        assert bucket.uri("reports/daily.html") == "gs://my-bucket/reports/daily.html"
        assert warehouse.table_ref("coffee_shop.orders") == "`my-project.coffee_shop.orders`"
        assert warehouse.table_ref("dbt_models.dim_date") == "`my-project.dbt_models.dim_date`"
        assert warehouse.bigquery.location == "EU"
        assert warehouse.bigquery.emulator_host is None


def test_loading_the_definitions_without_a_setting_names_it():
    """What `dagster dev` shows: the variable, not a stack trace from inside a Google client."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COFFEE_", "GOOGLE_")) and k not in ("BIGQUERY_EMULATOR_HOST",)
    }
    env.update({**GCP_ENV, "COFFEE_GCP_PROJECT": "my-project"})
    del env["COFFEE_GCS_BUCKET"]
    done = subprocess.run(
        [sys.executable, "-c", "import coffee_assets.definitions"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith(
        "coffee_assets.settings.SettingsError: COFFEE_TARGET=gcp needs COFFEE_GCS_BUCKET"
    ), done.stderr[-2000:]
    assert "google" not in done.stderr.lower().replace("google cloud project", "")


# ---------------------------------------------------------------------------- on the emulators
@dataclass
class GcpRun:
    emulators: Emulators
    defs: dg.Definitions
    instance: dg.DagsterInstance
    result: dg.ExecuteInProcessResult
    bq: bigquery.Client
    gcs: storage.Client

    def rows(self, dataset: str, table: str) -> list[tuple]:
        return [
            tuple(row.values())
            for row in self.bq.query(f"select * from `{self.emulators.project}.{dataset}.{table}`")
        ]

    def columns(self, dataset: str, table: str) -> list[str]:
        return [
            f.name for f in self.bq.get_table(f"{self.emulators.project}.{dataset}.{table}").schema
        ]

    def snapshot(self) -> dict[str, list[tuple]]:
        raw = [(RAW_DATASET, t.table) for t in (*c.ALL_TABLES, vt.VERDICTS)]
        tables = raw + [(DBT_DATASET, m) for m in MODELS]
        return {f"{d}.{t}": sorted(map(normalise, self.rows(d, t)), key=repr) for d, t in tables}

    def blob(self, key: str) -> storage.Blob:
        return self.gcs.bucket(BUCKET).blob(PREFIX + key)


def normalise(row: tuple) -> tuple:
    """Values of either warehouse in one form: exact numbers and floats as rounded floats
    (NUMERIC vs DECIMAL(18,2) vs DOUBLE), timestamps as dates are left alone."""

    def value(v):
        if isinstance(v, bool) or v is None or isinstance(v, (str, date)):
            return v
        if isinstance(v, (int, float, Decimal)):
            f = float(v)
            return 0.0 if f == 0 else round(f, 6) if not math.isnan(f) else "nan"
        if isinstance(v, datetime):
            return v.isoformat()
        return v

    return tuple(value(v) for v in row)


@pytest.fixture(scope="module")
def gcp_env(gcp_emulators: Emulators) -> Iterator[Emulators]:
    """The process environment of the gcp target on the emulators (dbt inherits it)."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(("COFFEE_", "GOOGLE_")):
                mp.delenv(name)
        env = {**GCP_ENV, "COFFEE_GCP_PROJECT": gcp_emulators.project, **gcp_emulators.env()}
        for name, value in env.items():
            mp.setenv(name, value)
        yield gcp_emulators


@pytest.fixture(scope="module")
def gcp_run(gcp_env: Emulators, tmp_path_factory) -> GcpRun:
    """daily_refresh for START...LAST on COFFEE_TARGET=gcp, same seed as the local `pipeline`."""
    gcs = storage.Client(
        project=gcp_env.project,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": gcp_env.storage_host},
    )
    gcs.create_bucket(BUCKET)  # infrastructure: the pipeline writes into an existing bucket
    bq = bigquery.Client(
        project=gcp_env.project,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": gcp_env.bigquery_host},
    )
    settings = Settings.from_env()
    assert settings.target == "gcp"
    settings = Settings(
        target="gcp",
        data_dir=tmp_path_factory.mktemp("gcp-data"),
        start_date=START,
        seed=11,
    )
    prepare_gcp_manifest()  # the gcp manifest, as the container build prepares it
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    result = execute_daily_refresh(defs, START, LAST, instance=instance)
    return GcpRun(gcp_env, defs, instance, result, bq, gcs)


def local_table(pipeline, relation: str) -> tuple[list[str], list[tuple]]:
    with duckdb.connect(str(pipeline.settings.duckdb_path)) as con:
        cursor = con.execute(f"select * from {relation}")
        columns = [d[0] for d in cursor.description]
        return columns, sorted(map(normalise, cursor.fetchall()), key=repr)


@pytest.mark.slow
def test_the_lineage_runs_on_gcp_with_every_check_passing(gcp_run):
    assert gcp_run.result.success
    evaluations = gcp_run.result.get_asset_check_evaluations()
    job = gcp_run.defs.resolve_job_def("daily_refresh")
    declared = set(job.asset_layer.asset_graph.asset_check_keys)  # the job's checks
    assert {e.asset_check_key for e in evaluations} == declared
    assert [e.check_name for e in evaluations if not e.passed] == []
    assert gcp_run.defs.resolve_schedule_def("daily_refresh_schedule").job_name == "daily_refresh"
    graph = gcp_run.defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey(["coffee_shop", "orders"])).kinds == {"bigquery"}
    raw = gcp_run.result.asset_materializations_for_node("coffee_shop__orders")
    assert {m.metadata["dagster/table_name"].value for m in raw} == {
        f"{gcp_run.emulators.project}.{RAW_DATASET}.orders"
    }
    mart = gcp_run.result.asset_materializations_for_node("coffee_dbt_models")
    counts = {
        m.asset_key.path[-1]: m.metadata["dagster/row_count"].value
        for m in mart
        if "dagster/row_count" in m.metadata
    }
    assert set(counts) == set(MODELS)
    assert counts["fact_order_details"] == len(gcp_run.rows(DBT_DATASET, "fact_order_details"))


@pytest.mark.slow
def test_csv_files_land_below_the_prefix_with_the_local_layout(gcp_run, pipeline):
    for table in c.ALL_TABLES:
        key = table.object_key(LAST.isoformat() if table.partitioned else None)
        blob = gcp_run.blob(key)
        blob.reload()
        assert blob.content_type == "text/csv", key
        local = pipeline.settings.bucket_dir / "csv_sources" / key
        assert blob.download_as_bytes() == local.read_bytes(), key


@pytest.mark.slow
@pytest.mark.parametrize("table", (*c.ALL_TABLES, vt.VERDICTS), ids=lambda t: t.table)
def test_raw_tables_match_the_local_target_row_for_row(gcp_run, pipeline, table):
    columns, rows = local_table(pipeline, f"coffee_shop.{table.table}")
    assert gcp_run.columns(RAW_DATASET, table.table) == columns
    assert sorted(map(normalise, gcp_run.rows(RAW_DATASET, table.table)), key=repr) == rows
    bq_table = gcp_run.bq.get_table(f"{gcp_run.emulators.project}.{RAW_DATASET}.{table.table}")
    if table.partitioned:
        assert bq_table.time_partitioning.type_ == "DAY"
        assert bq_table.time_partitioning.field == table.date_column
    else:
        assert bq_table.time_partitioning is None


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
def test_marts_match_the_local_target_row_for_row(gcp_run, pipeline, model):
    columns, rows = local_table(pipeline, f"dbt_models.{model}")
    assert gcp_run.columns(DBT_DATASET, model) == columns
    assert sorted(map(normalise, gcp_run.rows(DBT_DATASET, model)), key=repr) == rows
    assert rows, f"{model} is empty: the comparison would prove nothing"


@pytest.mark.slow
def test_incremental_models_are_partitioned_by_day_and_clustered_in_the_ddl(gcp_run, tmp_path):
    """The tables the emulator holds are partitioned by day; the DDL dbt sends it (dbt's run
    folder holds each statement as executed) also clusters them. The emulator accepts CLUSTER BY
    but does not report it back, so the statement is what can be checked here: the models and
    what they read are built for one day into a dataset of their own, where each table is new
    (in the pipeline's dataset dbt would merge into the existing tables, with no DDL)."""
    for model in CLUSTERED:
        table = gcp_run.bq.get_table(f"{gcp_run.emulators.project}.{DBT_DATASET}.{model}")
        assert table.time_partitioning.field == "order_date", model
    vars_ = {"start_date": START.isoformat(), "min_date": str(LAST), "max_date": str(LAST)}
    built = subprocess.run(
        [dbt_executable(), "--no-use-colors", "run", "--target", "gcp", "--select",
         *(f"+{model}" for model in CLUSTERED), "--vars", json.dumps(vars_)],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "DBT_TARGET_PATH": str(tmp_path), "DBT_LOG_PATH": str(tmp_path),
             "COFFEE_BQ_DBT_DATASET": "ddl_probe"},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:]
    for model, columns in CLUSTERED.items():
        [sent] = (tmp_path / "run").rglob(f"{model}.sql")
        ddl = " ".join(sent.read_text().split()).lower()
        assert "partition by order_date" in ddl, (model, ddl[:500])
        assert f"cluster by {', '.join(columns)}" in ddl, (model, ddl[:500])


@pytest.mark.slow
def test_customers_carried_on_equal_their_rebuild_on_bigquery(gcp_run, tmp_path):
    """agg_customers carried on from its previous build (a CREATE OR REPLACE TABLE that reads
    the table it replaces, the previous rows joined with the new days) gives on BigQuery what a
    rebuild gives, and flat_customer_metrics too; in a dataset of its own, built from the
    pipeline's raw tables. (test_customer_state.py proves the carry-on against rebuilds over
    200 days on DuckDB; this is the same SQL in BigQuery's dialect.)"""
    dataset = "customers_probe"

    def dbt_run(
        window: tuple[date, date], folder: str, *args: str, select: str = "+flat_customer_metrics"
    ) -> str:
        built = subprocess.run(
            [dbt_executable(), "--no-use-colors", "run", "--target", "gcp", "--select", select,
             "--vars", json.dumps({"start_date": START.isoformat()}), *args],
            cwd=DBT_PROJECT_DIR,
            env={**os.environ, **window_env(window), "COFFEE_BQ_DBT_DATASET": dataset,
                 "DBT_TARGET_PATH": str(tmp_path / folder), "DBT_LOG_PATH": str(tmp_path / folder)},
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        assert built.returncode == 0, built.stdout[-3000:]
        [sent] = (tmp_path / folder / "run").rglob("agg_customers.sql")
        return sent.read_text()

    def tables() -> dict[str, list]:
        return {
            model: sorted(map(normalise, gcp_run.rows(dataset, model)), key=repr)
            for model in ("agg_customers", "flat_customer_metrics")
        }

    carried_on = "previous as ("  # the carry-on's SQL (models/marts/reporting/agg_customers.sql)
    # The first build takes every day of the raw tables (START...LAST), as of LAST.
    assert carried_on not in dbt_run((LAST, LAST), "first")
    # The next day (no orders yet): carried on, as of that day.
    following = LAST + timedelta(days=1)
    assert carried_on in dbt_run((following, following), "next")
    carried = tables()
    assert carried["agg_customers"]
    assert {row[-1] for row in carried["agg_customers"]} == {following}  # as_of_date
    # The same two tables rebuilt from the whole rollup (what they are built from is unchanged).
    rebuilt = dbt_run(
        (following, following), "rebuilt", "--full-refresh",
        select="agg_customers flat_customer_metrics",
    )  # fmt: skip
    assert carried_on not in rebuilt
    assert tables() == carried


@pytest.mark.slow
def test_raw_tables_are_clustered_where_their_readers_filter(gcp_run):
    for table in c.ALL_TABLES:
        bq_table = gcp_run.bq.get_table(f"{gcp_run.emulators.project}.{RAW_DATASET}.{table.table}")
        assert bq_table.clustering_fields == RAW_CLUSTERING.get(table.table), table.table


@pytest.mark.slow
def test_every_model_load_and_test_records_what_bigquery_billed(gcp_run):
    """The plumbing, on the emulator (which bills 0 bytes): each dbt model's materialization
    and each dbt test's check result carry its job's bytes processed and billed, slot time and
    cost; each raw table's load its queries' and what its load jobs wrote."""
    keys = (BYTES_PROCESSED, BYTES_BILLED, SLOT_MS, COST_USD, JOBS)
    dbt_events = gcp_run.result.asset_materializations_for_node("coffee_dbt_models")
    built = {m.asset_key.path[-1] for m in dbt_events if set(keys) <= set(m.metadata)}
    assert built >= set(CLUSTERED) | {"flat_customer_metrics"}
    for event in dbt_events:
        if JOBS in event.metadata:
            assert event.metadata[JOBS].value == 1
            assert event.metadata[BYTES_BILLED].value >= 0
            assert event.metadata[COST_USD].value == usd(event.metadata[BYTES_BILLED].value, 6.25)
    tests = [e for e in gcp_run.result.get_asset_check_evaluations() if JOBS in e.metadata]
    assert len({e.check_name for e in tests}) >= 30
    for table in c.ALL_TABLES:
        [load] = gcp_run.result.asset_materializations_for_node(f"coffee_shop__{table.table}")[:1]
        assert set(keys) | {LOADED_BYTES} <= set(load.metadata), table.table
        assert load.metadata[JOBS].value >= 3  # validate, swap, preview: one job each


@pytest.mark.slow
def test_rerunning_a_day_leaves_every_table_identical(gcp_run):
    before = gcp_run.snapshot()
    result = execute_daily_refresh(gcp_run.defs, LAST, LAST, instance=gcp_run.instance)
    assert result.success
    assert gcp_run.snapshot() == before


def _corrupt_orders(good: bytes, how: str) -> bytes:
    lines = good.decode().splitlines()
    header = lines[0].split(",")
    fields = lines[5].split(",")
    if how == "bad value":
        fields[header.index("SubTotal")] = "12.3x"
    else:  # a row of another day
        fields[header.index("OrderDate")] = START.isoformat()
    lines[5] = ",".join(fields)
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("bad value", "SubTotal"),
        ("another day", "column OrderDate, row with OrderId="),
    ],
)
def test_a_failed_load_keeps_the_day_and_names_file_table_partition_problem(gcp_run, how, problem):
    blob = gcp_run.blob(c.ORDERS.object_key(LAST.isoformat()))
    good = blob.download_as_bytes()
    before = gcp_run.snapshot()
    raw_keys = [dg.AssetKey(["coffee_shop", t.table]) for t in c.ALL_TABLES]
    blob.upload_from_string(_corrupt_orders(good, how), content_type="text/csv")
    try:
        result = gcp_run.defs.resolve_job_def("daily_refresh").execute_in_process(
            instance=gcp_run.instance,
            partition_key=LAST.isoformat(),
            asset_selection=raw_keys,
            raise_on_error=False,
        )
    finally:
        blob.upload_from_string(good, content_type="text/csv")
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "coffee_shop__orders"
    message = failure.step_failure_data.user_failure_data.description
    uri = f"gs://{BUCKET}/{PREFIX}{c.ORDERS.object_key(LAST.isoformat())}"
    assert message.startswith("orders: "), message
    assert uri in message and f"partition {LAST}" in message, message
    assert problem in message, message
    if how == "another day":
        assert f"value '{START}' lies outside the file's partition" in message
    # Nothing was lost: the other raw tables reloaded to the same rows, orders kept its day.
    assert gcp_run.snapshot() == before
    staging = [
        t.table_id for t in gcp_run.bq.list_tables(f"{gcp_run.emulators.project}.{RAW_DATASET}")
    ]
    assert sorted(staging) == sorted(t.table for t in (*c.ALL_TABLES, vt.VERDICTS))


# ---------------------------------------------------------------------------- the resources alone
SCRATCH_BUCKET = "coffee-scratch"
D1, D2 = date(2025, 2, 1), date(2025, 2, 2)
# The contract's columns in another order, plus a column the contract does not know.
ORDERS_HEADER = (
    "OrderDate,OrderId,Note,OrderType,CustomerId,StoreId,SubTotal,TotalAmount,DiscountApplied,"
    "DiscountAmount"
)


def orders_csv(*rows: str) -> bytes:
    return ("\n".join([ORDERS_HEADER, *rows]) + "\n").encode()


@pytest.fixture(scope="module")
def scratch(gcp_env: Emulators) -> Iterator[dg.Resources]:
    """A GCSBucket and a BigQueryWarehouse on their own bucket and datasets."""
    gcs = CoffeeGCSResource(project=gcp_env.project, emulator_host=gcp_env.storage_host)
    gcs.get_client().create_bucket(SCRATCH_BUCKET)
    bigquery_resource = CoffeeBigQueryResource(
        project=gcp_env.project, location="US", emulator_host=gcp_env.bigquery_host
    )
    with dg.build_resources(
        {
            "storage": GCSBucket(gcs=gcs, bucket=SCRATCH_BUCKET, csv_prefix="in/"),
            "warehouse": BigQueryWarehouse(
                bigquery=bigquery_resource, gcs=gcs, raw_dataset="scratch_raw", dbt_dataset="x"
            ),
        }
    ) as resources:
        yield resources


@pytest.mark.slow
def test_the_bucket_writes_reads_and_names_what_is_missing(scratch, gcp_env):
    bucket = scratch.storage
    uri = bucket.write_bytes("csv_sources/a/b.csv", b"x,y\n1,2\n")
    assert uri == f"gs://{SCRATCH_BUCKET}/in/a/b.csv"
    assert bucket.read_bytes("csv_sources/a/b.csv") == b"x,y\n1,2\n"
    bucket.write_bytes("reports/r.html", b"<html></html>")
    client = scratch.warehouse.gcs.get_client()
    blobs = {b.name: b.content_type for b in client.list_blobs(SCRATCH_BUCKET)}
    assert blobs == {"in/a/b.csv": "text/csv", "reports/r.html": "text/html"}
    with pytest.raises(FileNotFoundError, match=f"gs://{SCRATCH_BUCKET}/reports/none.html"):
        bucket.read_bytes("reports/none.html")
    with pytest.raises(ValueError, match="not a relative path"):
        bucket.uri("../elsewhere.csv")
    missing = GCSBucket(gcs=scratch.warehouse.gcs, bucket="no-such-bucket")
    with pytest.raises(FileNotFoundError, match="COFFEE_GCS_BUCKET='no-such-bucket'"):
        missing.write_bytes("reports/r.html", b"")


@pytest.mark.slow
def test_load_days_maps_columns_by_name_and_replaces_exactly_its_days(scratch):
    storage_, warehouse = scratch.storage, scratch.warehouse
    day1 = storage_.write_bytes(
        "csv_sources/o/d1.csv",
        orders_csv(
            '2025-02-01,1,"a, quoted note",Takeaway,,2,10.50,9.45,true,1.05',
            "2025-02-01,2,,In-store,7,1,3.00,3.00,false,0.00",
        ),
    )
    day2 = storage_.write_bytes(
        "csv_sources/o/d2.csv", orders_csv("2025-02-02,3,,Takeaway,8,3,4.25,4.25,false,0.00")
    )
    result = warehouse.load_days(c.ORDERS, {D1: day1, D2: day2})
    assert (result.table, result.rows_loaded, result.table_rows) == (
        f"{warehouse.project}.scratch_raw.orders",
        3,
        3,
    )
    assert result.preview_columns == c.ORDERS.column_names
    table = warehouse.table_ref("coffee_shop.orders")
    assert table == f"`{warehouse.project}.scratch_raw.orders`"
    rows = warehouse.query(f"select * from {table} where OrderId = ?", [1])
    assert [normalise(r) for r in rows] == [(1, D1, "Takeaway", None, 2, 10.5, 9.45, True, 1.05)]
    # Day 1 again, now with one order: day 1 is replaced, day 2 untouched.
    day1 = storage_.write_bytes(
        "csv_sources/o/d1.csv", orders_csv("2025-02-01,4,,Takeaway,,2,1.00,1.00,false,0.00")
    )
    result = warehouse.load_days(c.ORDERS, {D1: day1})
    assert (result.rows_loaded, result.table_rows) == (1, 2)
    ids = warehouse.query(f"select OrderId, OrderDate from {table} order by 1")
    assert ids == [(3, D2), (4, D1)]
    summary = warehouse.summary("coffee_shop.orders")
    assert (summary.rows, summary.preview_columns) == (2, c.ORDERS.column_names)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (None, "the file does not exist"),
        (
            b"OrderId,OrderDate,Type,CustomerId,StoreId,SubTotal,TotalAmount,DiscountApplied,"
            b"DiscountAmount\n1,2025-02-02,Takeaway,,2,1.00,1.00,false,0.00\n",
            "missing column(s) OrderType; unexpected column(s) Type (renamed?)",
        ),
        (orders_csv("2025-02-02,9,,Takeaway,,,1.00,1.00,false,0.00"), "StoreId"),
        (orders_csv("2025-02-02,9,,Takeaway,,2,1.00,1.005,false,0.00"), "TotalAmount"),
        (orders_csv("2025-02-02,9,,Takeaway,,2,1.00,1.00,maybe,0.00"), "DiscountApplied"),
        (
            orders_csv("2025-02-02,9,,Takeaway,,2,-1.00,-1.00,false,0.00"),
            # BigQuery quotes the value it loaded (the emulator as '-1.000000000').
            "column SubTotal, row with OrderId=9: value '-1",
        ),
        (
            orders_csv("2025-02-02,9,,Delivery,,2,1.00,1.00,false,0.00"),
            "column OrderType, row with OrderId=9: value 'Delivery' is not one of In-store, "
            "Takeaway",
        ),
        (
            orders_csv("2025-02-02,9,,Takeaway,,2,1.00,1.00,false,0.00").replace(
                b"OrderType", "OrderTyp\u00e9".encode("latin-1")
            ),
            "line 1: not UTF-8 text (byte 0xe9); save the file as UTF-8",
        ),
        (b"", "the file is empty (0 bytes): expected a header line, then the rows"),
        (
            orders_csv(
                "2025-02-02,9,,Takeaway,,2,1.00,1.00,false,0.00",
                "2025-02-02,10,Caf\u00e9,Takeaway,,2,1.00,1.00,false,0.00",
            ).replace("\u00e9".encode(), b"\xe9"),
            # The emulator's load job fails naming the line; real BigQuery loads the byte as
            # U+FFFD, which the staged rows' check refuses (naming the row's key).
            "CSV Error on Line: 3",
        ),
        (
            # What real BigQuery makes of that byte: U+FFFD, refused by the staged rows' check.
            orders_csv("2025-02-02,10,,Caf\ufffd,,2,1.00,1.00,false,0.00"),
            "column OrderType, row with OrderId=10: value 'Caf\ufffd' is not UTF-8 text (BigQuery "
            "replaced a byte with U+FFFD); save the file as UTF-8",
        ),
    ],
    ids=[
        "missing file", "renamed column", "empty required", "three decimals", "not a bool",
        "negative amount", "unknown order type", "latin-1 header", "empty file", "latin-1 row",
        "replaced byte",
    ],
)  # fmt: skip
def test_a_rejected_file_names_file_and_problem_and_changes_nothing(
    scratch, body, problem, request
):
    storage_, warehouse = scratch.storage, scratch.warehouse
    key = "csv_sources/o/bad.csv"
    if body is not None:
        storage_.write_bytes(key, body)
    else:
        key = "csv_sources/o/none.csv"
    table = warehouse.table_ref("coffee_shop.orders")
    warehouse.load_days(
        c.ORDERS,
        {
            D2: storage_.write_bytes(
                "csv_sources/o/d2.csv",
                orders_csv("2025-02-02,3,,Takeaway,8,3,4.25,4.25,false,0.00"),
            )
        },
    )
    before = warehouse.query(f"select * from {table} order by OrderId")
    with pytest.raises(RawLoadError) as failure:
        warehouse.load_days(c.ORDERS, {D2: storage_.uri(key)})
    message = str(failure.value)
    assert message.startswith(f"orders: file {storage_.uri(key)} (partition {D2})"), message
    assert problem in message, message
    assert "negative" not in request.node.name or message.endswith("is less than 0"), message
    assert warehouse.query(f"select * from {table} order by OrderId") == before


@pytest.mark.slow
def test_the_originals_spellings_load_on_bigquery_and_what_breaks_is_quoted(scratch):
    """'5%' discount levels and OrderDetails.csv files without OrderDate, as the original wrote
    them, next to this project's spellings; a level the contract cannot hold is quoted as the
    file wrote it."""
    storage_, warehouse = scratch.storage, scratch.warehouse
    customers = {
        D1: storage_.write_bytes(
            "csv_sources/c/d1.csv",
            b"CustomerId,LevelOfDiscount,RegistrationDate\n1,5%,2025-02-01\n2,0.07,2025-02-01\n",
        ),
        D2: storage_.write_bytes(
            "csv_sources/c/d2.csv",
            b"CustomerId,LevelOfDiscount,RegistrationDate\n3,10%,2025-02-02\n4,0%,2025-02-02\n"
            b"5,None,2025-02-02\n",
        ),
    }
    assert warehouse.load_days(c.CUSTOMERS, customers).rows_loaded == 5
    table = warehouse.table_ref("coffee_shop.customers")
    levels = warehouse.query(f"select CustomerId, LevelOfDiscount from {table} order by 1")
    assert [(k, float(v)) for k, v in levels] == [
        (1, 0.05), (2, 0.07), (3, 0.1), (4, 0.0), (5, 0.0)
    ]  # fmt: skip
    bad = storage_.write_bytes(
        "csv_sources/c/bad.csv",
        b"CustomerId,LevelOfDiscount,RegistrationDate\n6,150%,2025-02-02\n",
    )
    with pytest.raises(RawLoadError) as failure:
        warehouse.load_days(c.CUSTOMERS, {D2: bad})
    message = str(failure.value)
    assert message.startswith(f"customers: file {bad} (partition {D2})"), message
    assert "column LevelOfDiscount, row with CustomerId=6: value '150%' is not" in message
    assert len(warehouse.query(f"select * from {table}")) == 5

    header = "OrderDetailId,OrderId,ProductId,Quantity"
    details = {
        day: storage_.write_bytes(
            f"csv_sources/d/{day}.csv",
            f"{header}\n{n},{n}00,1,2\n{n + 1},{n}00,2,1\n".encode(),
        )
        for n, day in ((1, D1), (3, D2))
    }
    assert warehouse.load_days(c.ORDER_DETAILS, details).rows_loaded == 4
    table = warehouse.table_ref("coffee_shop.order_details")
    dated = warehouse.query(f"select OrderDetailId, OrderDate from {table} order by 1")
    assert dated == [(1, D1), (2, D1), (3, D2), (4, D2)]


@pytest.mark.slow
def test_coffee_import_reads_gs_and_writes_the_gcp_bucket_the_loader_takes(scratch, monkeypatch):
    """coffee-import from a gs:// folder of the original's files into the gcp target's bucket
    (prefix included), then the written days load into BigQuery."""
    client = scratch.warehouse.gcs.get_client()
    bucket = client.bucket(SCRATCH_BUCKET)
    for name, body in original_files(IMPORT_START, IMPORT_LAST).items():
        bucket.blob(f"original/{name}").upload_from_string(body)
    monkeypatch.setenv("COFFEE_GCS_BUCKET", SCRATCH_BUCKET)
    monkeypatch.setenv("COFFEE_GCS_PREFIX", "imported")
    monkeypatch.setenv("COFFEE_START_DATE", IMPORT_START.isoformat())
    assert cli.main([f"gs://{SCRATCH_BUCKET}/original/", "--repair", "--quiet"]) == 0
    names = {b.name for b in client.list_blobs(SCRATCH_BUCKET, prefix="imported/")}
    assert "imported/_imported.json" in names
    assert len([n for n in names if n.endswith("/Orders.csv")]) == IMPORT_DAYS
    days = [IMPORT_START + timedelta(days=i) for i in range(IMPORT_DAYS)]
    for table in c.DAILY_TABLES:
        files = {d: f"gs://{SCRATCH_BUCKET}/imported/{table.object_key(str(d))}" for d in days}
        result = scratch.warehouse.load_days(table, files)
        assert result.rows_loaded > 0
