"""The production shape on the gcp target: PostgreSQL, the code server, the webserver and the
daemon as test_production.py starts them, against the GCS and BigQuery emulators, compute logs in
the bucket (deploy/compute-logs-gcs.yaml).

One deployment and one pair of emulators for the module, stopped when its last test ends (an
idle deployment's daemon and code server still spend CPU every second). An asset backfill
launched through GraphQL the way the UI does (`launchPartitionBackfill` with an asset selection:
its runs are __ASSET_JOB runs, without the coffee/job tag) while a queued daily_refresh runs
waits its turn, no warehouse step of one run overlapping one of another; the daily_refresh loads
BigQuery and logs each step to GCS. (One test: a daily_refresh on the BigQuery emulator takes
about a minute, and the backfill's test needs one anyway.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import dagster as dg
import pytest

from coffee_assets.defs.schedules.jobs import DAILY_REFRESH
from coffee_assets.platform.target import BIGQUERY_POOL

from .deployments import (
    GCP_BUCKET,
    LAST,
    Deployment,
    assert_runs_took_turns,
    deployed,
    gcs_client,
    launch_asset_backfill,
    run_times,
    set_pool_limit,
    wait_for_backfill,
)
from .gcp_fixtures import Emulators, prepare_gcp_manifest
from .test_dagster_dev import wait_for_run
from .test_production import event_types

# One worker, beside the local deployment's.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("gcp-deployment")]


@pytest.fixture(scope="module")
def gcp_deployment(gcp_emulators: Emulators) -> Iterator[Deployment]:
    """The schedule waits for New Year: runs here are the tests'."""
    settings = {
        **gcp_emulators.env(),
        "COFFEE_TARGET": "gcp",
        "COFFEE_GCP_PROJECT": gcp_emulators.project,
        "COFFEE_GCS_BUCKET": GCP_BUCKET,
        "COFFEE_BQ_LOCATION": "US",
        "COFFEE_BQ_RAW_DATASET": "prod_raw",
        "COFFEE_BQ_DBT_DATASET": "prod_marts",
        "COFFEE_START_DATE": LAST.isoformat(),
        "COFFEE_ORDERS_PER_DAY": "60",
        "COFFEE_SCHEDULE_CRON": "0 0 1 1 *",
    }
    gcs_client(gcp_emulators).create_bucket(GCP_BUCKET)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in settings.items():
            mp.setenv(name, value)
        prepare_gcp_manifest()  # the gcp manifest, as the container build prepares it
    with deployed(settings) as deployment:
        yield deployment


def test_on_the_gcp_target_a_queued_run_loads_bigquery_logs_to_gcs_and_a_backfill_waits_for_it(
    gcp_deployment, gcp_emulators
):
    """On BigQuery (the emulator) too: a daily_refresh submitted through the queue loads the
    warehouse and writes each step's logs to the bucket; the asset backfill launched while it
    runs is queued until it has ended, and no warehouse step of one run overlaps another's."""
    deployment: Deployment = gcp_deployment
    set_pool_limit(deployment, BIGQUERY_POOL, 1)  # as on a new instance (docs/deployment.md)
    client = deployment.client
    refresh = client.submit_job_execution(DAILY_REFRESH, tags={"dagster/partition": str(LAST)})
    deadline = time.monotonic() + 180
    while client.get_run_status(refresh) in (
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
    ):
        assert time.monotonic() < deadline, deployment.log("daemon")[-3000:]
        time.sleep(1)
    backfill_id = launch_asset_backfill(deployment, LAST)
    assert wait_for_run(client, refresh, timeout=600) == dg.DagsterRunStatus.SUCCESS, (
        deployment.log("code-server")[-3000:]
    )
    backfill_runs = wait_for_backfill(deployment, backfill_id, timeout=600)
    assert len(backfill_runs) >= 2, backfill_runs
    assert (
        min(run_times(deployment, r)[0] for r in backfill_runs) < run_times(deployment, refresh)[1]
    )
    assert_runs_took_turns(deployment, [refresh, *backfill_runs], BIGQUERY_POOL)

    with deployment.instance() as instance:
        assert "PIPELINE_ENQUEUED" in event_types(instance, refresh)
        materialized = {
            e.dagster_event.asset_key.to_user_string()
            for e in instance.all_logs(refresh)
            if e.dagster_event and e.dagster_event.is_step_materialization
        }
    assert "dbt_models/flat_order_details" in materialized
    # Each step's stdout/stderr in the bucket, below the prefix, named by the run.
    logs = [
        b.name
        for b in gcs_client(gcp_emulators).list_blobs(GCP_BUCKET, prefix="dagster-compute-logs/")
    ]
    assert any(refresh in name for name in logs), logs[:20]
    assert any(name.endswith(".err") for name in logs) and any(
        name.endswith(".out") for name in logs
    )
