"""One bad day is one incident (docs/running.md, "When a day is blocked").

A history is built; one day's delivery breaks a blocking daily rule (an order whose amounts do
not reconcile) and is quarantined. The schedule leaves it alone and the following days, run
through the schedule's job as the daemon would launch them, succeed; the customer metrics and
the reports say which day they lack, and exactly one alert names it. Then the day is repaired
(its files written again) and run again: one "resolved" alert, and the marts equal a clean build
of the same history, every row to the cent. A day accepted as it is, is built as it is and the
marts say so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from coffee_assets.core import contract as c
from coffee_assets.defs.raw.quarantine import ACCEPT_TAG, day_states
from coffee_assets.defs.schedules.jobs import SCHEDULE
from coffee_assets.settings import Settings

from .histories import HistorySpec, history_copy
from .test_checks import read_csv, tick_all, with_redelivery_job, wrong_total

pytestmark = pytest.mark.slow

KYIV = ZoneInfo("Europe/Kyiv")
START = date(2025, 1, 1)
BAD = date(2025, 1, 4)
LAST = date(2025, 1, 7)
MARTS = (
    "fact_order_details",
    "flat_order_details",
    "agg_store_days",
    "agg_store_day_categories",
    "agg_store_day_mixes",
    "agg_customer_days",
    "flat_customer_metrics",
)
DAY = timedelta(days=1)


@dataclass
class History:
    settings: Settings
    defs: dg.Definitions
    instance: dg.DagsterInstance


def marts(settings: Settings) -> dict[str, list[tuple]]:
    with duckdb.connect(str(settings.duckdb_path)) as con:
        return {
            t: sorted(con.sql(f"select * from dbt_models.{t}").fetchall(), key=repr) for t in MARTS
        }


def deliver_bad_day(history: History, **run: object) -> dg.ExecuteInProcessResult:
    """BAD's files written, one order's TotalAmount raised by 1.00, and everything after the
    files run on them (a corrupt delivery)."""
    csv_only = dg.define_asset_job("files_only", selection=dg.AssetSelection.groups("csv_sources"))
    defs = dg.Definitions.merge(with_redelivery_job(history.defs), dg.Definitions(jobs=[csv_only]))
    assert (
        defs.resolve_job_def("files_only")
        .execute_in_process(instance=history.instance, partition_key=BAD.isoformat())
        .success
    )
    wrong_total(history.settings, BAD)
    return defs.resolve_job_def("after_upstream_delivery").execute_in_process(
        instance=history.instance, partition_key=BAD.isoformat(), raise_on_error=False, **run
    )


def morning_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 4, 30, tzinfo=KYIV)


def schedule_tick(history: History, morning: date) -> list[dg.RunRequest] | str:
    """The schedule's run requests on `morning` at 04:30 Kyiv, or its skip message."""
    schedule = history.defs.resolve_schedule_def(SCHEDULE)
    with dg.build_schedule_context(
        instance=history.instance,
        scheduled_execution_time=morning_of(morning),
        resources={"storage": history.defs.resources["storage"]},
    ) as context:
        data = schedule.evaluate_tick(context)
    return list(data.run_requests or []) or str(data.skip_message)


def launch(history: History, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    """A run request executed as the daemon launches it: daily_refresh with its tags."""
    return history.defs.resolve_job_def("daily_refresh").execute_in_process(
        instance=history.instance, tags=dict(request.tags), raise_on_error=False
    )


def requested(result: list[dg.RunRequest] | str) -> list[tuple[str, str]]:
    assert not isinstance(result, str), result
    return [
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in result
    ]


def latest_metadata(history: History, *path: str) -> dict[str, str]:
    event = history.instance.get_latest_materialization_event(dg.AssetKey(list(path)))
    assert event is not None and event.asset_materialization is not None
    return {k: str(getattr(v, "value", v)) for k, v in event.asset_materialization.metadata.items()}


# Three clean days, one run; and the same history a week long (the clean build the repaired
# history must equal): built once per session (histories.py), copied into each test.
BASE = HistorySpec(START, BAD - DAY, seed=11, orders_per_day=60)
CLEAN = HistorySpec(START, LAST, seed=11, orders_per_day=60)


@pytest.fixture
def history(tmp_path_factory, tmp_path) -> Iterator[History]:
    """A copy of BASE, its instance on disk (as the daemon's: schedules read it)."""
    built = history_copy(tmp_path_factory, BASE, tmp_path)
    with built.instance() as instance:
        yield History(built.settings, built.defs(), instance)


def test_a_blocked_day_is_one_incident_the_next_days_go_on_and_the_repair_is_one_run(
    history, alerting, tmp_path_factory, tmp_path
):
    cursors = tick_all(history.defs, history.instance, alerting, {})
    blocked = deliver_bad_day(history)
    assert not blocked.success
    states = day_states(history.instance)
    assert states.quarantined_days() == [BAD]
    [verdict] = states.quarantined[BAD]
    assert verdict.check == "daily_rules on coffee_shop/orders"
    assert "amounts_reconcile" in verdict.summary

    # The three following mornings, as the daemon ticks: each requests its day, never BAD.
    for morning in (BAD + 2 * DAY, BAD + 3 * DAY, BAD + 4 * DAY):
        result = schedule_tick(history, morning)
        assert requested(result) == [(str(morning - DAY), str(morning - DAY))]
        [request] = result
        run = launch(history, request)
        assert run.success, morning
        failed = [e for e in run.get_asset_check_evaluations() if not e.passed]
        assert failed == [], [e.description for e in failed]
        cursors = tick_all(history.defs, history.instance, alerting, cursors)

    # Nothing left to request: BAD is quarantined, and the skip says so.
    skipped = schedule_tick(history, LAST + DAY)
    assert isinstance(skipped, str)
    assert "quarantined, left until repaired or accepted" in skipped
    assert f"{BAD} (daily_rules on coffee_shop/orders; quarantined since" in skipped

    # Exactly one alert, naming the blocked day; no run failure.
    assert alerting.counts() == (1, 1, 1)
    [alert] = [r.json() for r in alerting.webhook.requests]
    assert (alert["kind"], alert["asset"], alert["check"], alert["partition"]) == (
        "check_failed", "coffee_shop/orders", "daily_rules", str(BAD)
    )  # fmt: skip

    # The cumulative marts say what they lack, and why.
    without = f"as of {LAST}, without {BAD} (daily_rules on coffee_shop/orders, quarantined since"
    metrics = latest_metadata(history, "dbt_models", "flat_customer_metrics")
    assert metrics["coverage"].startswith(without), metrics["coverage"]
    assert metrics["days_without"] == "1"
    for report in ("sales_report", "customer_report"):
        assert latest_metadata(history, report)["coverage"].startswith(without)
        page = (history.settings.bucket_dir / "reports" / f"{report}.html").read_text()
        assert f"Built {without}" in page
    check = history.instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey(["dbt_models", "flat_customer_metrics"]),
                          "one_row_per_customer_with_orders")]
    )  # fmt: skip
    [record] = check.values()
    assert record.evaluation.passed and without in record.evaluation.description
    assert record.evaluation.metadata["scope"].value == f"{LAST}...{LAST}"

    # The repair: the day's files written again and the day run again, as
    # `dg launch --job daily_refresh --partition 2025-01-04` does.
    repaired = history.defs.resolve_job_def("daily_refresh").execute_in_process(
        instance=history.instance, partition_key=BAD.isoformat()
    )
    assert repaired.success
    assert day_states(history.instance).quarantined == {}
    tick_all(history.defs, history.instance, alerting, cursors)
    assert alerting.counts() == (2, 2, 2)
    resolved = alerting.webhook.requests[1].json()
    assert (resolved["kind"], resolved["severity"], resolved["partition"]) == (
        "resolved", "OK", str(BAD)
    )  # fmt: skip
    assert f"{BAD} is no longer quarantined: daily_rules passes again" in resolved["summary"]
    metrics = latest_metadata(history, "dbt_models", "flat_customer_metrics")
    assert metrics["coverage"] == f"as of {LAST}, every day since {START}"
    assert schedule_tick(history, LAST + DAY) == "every day up to yesterday is complete"

    # Every mart row equals a clean build of the same history, to the cent.
    clean = history_copy(tmp_path_factory, CLEAN, tmp_path / "clean")
    assert marts(history.settings) == marts(clean.settings)


def test_a_day_accepted_as_it_is_is_built_and_the_marts_say_so(history, alerting):
    cursors = tick_all(history.defs, history.instance, alerting, {})
    assert not deliver_bad_day(history).success
    cursors = tick_all(history.defs, history.instance, alerting, cursors)
    # The till's data is lost: the day is taken as it is, with the reason, as
    # `dg launch ... --partition 2025-01-04` with the tag does (the files stay as they are).
    reason = "the till's tape is lost; totals as recorded"
    accepted = deliver_bad_day(history, tags={ACCEPT_TAG: reason})
    assert accepted.success
    [warning] = [e for e in accepted.get_asset_check_evaluations() if not e.passed]
    assert warning.check_name == "daily_rules" and warning.severity == dg.AssetCheckSeverity.WARN
    assert warning.description.startswith(f"accepted as it is ({reason}): amounts_reconcile")
    states = day_states(history.instance)
    assert states.quarantined == {} and list(states.accepted) == [BAD]
    with duckdb.connect(str(history.settings.duckdb_path)) as con:
        [(orders,)] = con.sql(
            f"select count(distinct order_id) from dbt_models.flat_order_details "
            f"where order_date = date '{BAD}'"
        ).fetchall()
    header, rows = read_csv(history.settings.bucket_dir / c.bucket_key(c.ORDERS, str(BAD)))
    assert orders == len(rows)  # built as it is, the odd order included
    metrics = latest_metadata(history, "dbt_models", "flat_customer_metrics")
    assert metrics["coverage"] == (
        f"as of {BAD}, every day since {START}; with {BAD} (accepted as it is: {reason}; "
        "daily_rules on coffee_shop/orders)"
    )
    # One alert when it was quarantined, one when it was accepted (resolved): no other.
    tick_all(history.defs, history.instance, alerting, cursors)
    kinds = [r.json()["kind"] for r in alerting.webhook.requests]
    assert kinds == ["check_failed", "resolved"]
    assert f"accepted as it is ({reason})" in alerting.webhook.requests[1].json()["summary"]
    assert schedule_tick(history, BAD + DAY) == "every day up to yesterday is complete"
