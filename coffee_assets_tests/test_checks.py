"""Fault injection, end to end: a broken upstream writes a bad file, the pipeline runs for real
(DuckDB, dbt, Dagster), the right check fails with useful metadata, the marts keep yesterday's
numbers, and the alert sensors send exactly one alert to a real webhook server, SMTP server
and a local stand-in of the Slack API (through slack-sdk) - and nothing more on the next tick.

The run after a broken delivery is the job's selection minus the CSV-generating assets: in
production the files come from an upstream system, and the pipeline's part starts at the bucket.
Re-running the generator would overwrite the bad file.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from coffee_assets.core import contract as c
from coffee_assets.definitions import build_definitions
from coffee_assets.defs.alerts.channels import AlertChannels, SlackChannel
from coffee_assets.defs.alerts.resources import alert_channels
from coffee_assets.defs.alerts.sensors import CHECK_ALERT_SENSOR, RUN_FAILURE_SENSOR
from coffee_assets.defs.schedules.jobs import execute_daily_refresh, partition_range_tags
from coffee_assets.settings import Settings

from .alert_servers import AlertServers
from .conftest import DAGSTER_URL

pytestmark = pytest.mark.slow

START = date(2025, 1, 1)
LAST = START + timedelta(days=2)  # three clean days; day 3 brings the first new customers
STORE_NAMES = ("Brazil Coffee", "Colombia Coffee", "Ethiopia Coffee", "Vietnam Coffee",
               "Indonesia Coffee")  # fmt: skip


@dataclass
class Base:
    settings: Settings
    instance: dg.DagsterInstance
    defs: dg.Definitions


def channels(servers: AlertServers) -> AlertChannels:
    """The channels the environment enables; Slack's API base URL is the local stand-in's."""
    configured = alert_channels()
    assert configured.webhook and configured.email and configured.slack
    return AlertChannels(
        webhook=configured.webhook,
        email=configured.email,
        slack=SlackChannel(
            token=dg.EnvVar("COFFEE_SLACK_TOKEN"),
            channel=dg.EnvVar("COFFEE_SLACK_CHANNEL"),
            base_url=servers.slack.url,
        ),
        dagster_url=configured.dagster_url,
    )


def evaluate(defs, instance, servers, name: str, cursor: str | None = None):
    """One evaluation of an alert sensor, as the daemon does it (its cursor, and what the tick
    says in the UI: the skip message)."""
    sensor = defs.resolve_sensor_def(name)
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=defs,
        resources={"alerts": channels(servers)},
    ) as context:
        return sensor.evaluate_tick(context)


def tick(defs, instance, servers, name: str, cursor: str | None = None) -> str | None:
    """One evaluation of an alert sensor; returns the new cursor."""
    return evaluate(defs, instance, servers, name, cursor).cursor


def tick_all(defs, instance, servers, cursors: dict[str, str | None]) -> dict[str, str | None]:
    return {
        name: tick(defs, instance, servers, name, cursors.get(name))
        for name in (CHECK_ALERT_SENSOR, RUN_FAILURE_SENSOR)
    }


@pytest.fixture(scope="module")
def base(tmp_path_factory, servers) -> Base:
    """Three clean days, one run, on a small volume."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("checks-base"),
        start_date=START,
        seed=11,
        orders_per_day=60,
    )
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    result = execute_daily_refresh(defs, START, LAST, instance=instance)
    assert result.success
    return Base(settings, instance, defs)


def marts(settings: Settings) -> dict[str, list[tuple]]:
    with duckdb.connect(str(settings.duckdb_path)) as con:
        return {
            t: sorted(con.sql(f"select * from dbt_models.{t}").fetchall(), key=repr)
            for t in ("flat_order_details", "flat_customer_metrics", "fact_order_details")
        }


def sql(settings: Settings, query: str) -> list[tuple]:
    with duckdb.connect(str(settings.duckdb_path)) as con:
        return con.sql(query).fetchall()


def with_redelivery_job(defs: dg.Definitions) -> dg.Definitions:
    """The code location plus a job of everything downstream of the bucket (see the module
    doc)."""
    daily = defs.resolve_job_def("daily_refresh")
    csv_files = [
        node.key
        for node in defs.resolve_asset_graph().asset_nodes
        if node.group_name == "csv_sources"
    ]
    job = dg.define_asset_job(
        "after_upstream_delivery",
        selection=dg.AssetSelection.assets(*daily.asset_layer.executable_asset_keys)
        - dg.AssetSelection.assets(*csv_files),
    )
    return dg.Definitions.merge(defs, dg.Definitions(jobs=[job]))


# ------------------------------------------------------------------------- CSV editing
def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text())))
    return rows[0], rows[1:]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    path.write_text(out.getvalue())


def file_of(settings: Settings, table: c.TableContract, day: date) -> Path:
    return settings.bucket_dir / c.bucket_key(table, day.isoformat())


def dangling_order_line(settings: Settings, day: date) -> None:
    path = file_of(settings, c.ORDER_DETAILS, day)
    header, rows = read_csv(path)
    line = dict(zip(header, rows[0]))
    line.update(OrderDetailId=str(int(rows[-1][0]) + 1), OrderId="999999999", ProductId="1")
    write_csv(path, header, [*rows, [line[h] for h in header]])


def wrong_total(settings: Settings, day: date) -> None:
    path = file_of(settings, c.ORDERS, day)
    header, rows = read_csv(path)
    i = header.index("TotalAmount")
    rows[3][i] = f"{float(rows[3][i]) + 1:.2f}"
    write_csv(path, header, rows)


def customer_registered_later(settings: Settings, day: date) -> None:
    """An anonymous order of `day` gets a customer (no discount, so the money still adds up)
    registered the next day."""
    _, customers = read_csv(file_of(settings, c.CUSTOMERS, day + timedelta(days=1)))
    later = next(cid for cid, rate, _ in customers if float(rate) == 0)
    path = file_of(settings, c.ORDERS, day)
    header, rows = read_csv(path)
    row = next(r for r in rows if r[header.index("CustomerId")] == "")
    row[header.index("CustomerId")] = later
    write_csv(path, header, rows)


def duplicated_key(settings: Settings, day: date) -> None:
    path = file_of(settings, c.ORDERS, day)
    header, rows = read_csv(path)
    write_csv(path, header, [*rows, rows[1]])


def missing_column(settings: Settings, day: date) -> None:
    path = file_of(settings, c.ORDERS, day)
    header, rows = read_csv(path)
    i = header.index("DiscountAmount")
    write_csv(path, header[:i] + header[i + 1 :], [r[:i] + r[i + 1 :] for r in rows])


@dataclass(frozen=True)
class Fault:
    corrupt: Callable[[Settings, date], None]
    day: date
    check: str  # asset/check that must fail
    summary: str  # in the check's description
    sample: str  # in the check's metadata (the offending key)
    per_day: bool = True  # one result per day (else one for the whole table)


FAULTS = {
    "dangling_order_line": Fault(
        dangling_order_line,
        LAST,
        "coffee_shop/order_details:daily_rules",
        "references_exist: 1 dangling reference(s) of order lines",
        "999999999",
    ),
    "wrong_total": Fault(
        wrong_total,
        LAST,
        "coffee_shop/orders:daily_rules",
        "amounts_reconcile: 1 order(s) whose amounts do not reconcile",
        "2025010300004",
    ),
    "customer_registered_after_order": Fault(
        customer_registered_later,
        LAST - timedelta(days=1),
        "coffee_shop/orders:daily_rules",
        "customer_registered_by_order_date: 1 order(s) by a customer registered after the order "
        "date",
        "2025-01-03",
    ),
    "duplicated_key": Fault(
        duplicated_key,
        LAST,
        "coffee_shop/orders:unique_key",
        "1 duplicated OrderId value(s)",
        "2025010300002",
        per_day=False,
    ),
}


def copy_base(base: Base, tmp_path: Path) -> tuple[Settings, dg.Definitions]:
    settings = base.settings.model_copy(update={"data_dir": tmp_path / "data"})
    shutil.copytree(base.settings.data_dir, settings.data_dir)
    return settings, build_definitions(settings)


def check_name(evaluation) -> str:
    return f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"


# ------------------------------------------------------------------------------- tests
def test_clean_days_pass_every_check_and_raise_no_alert(base, alerting):
    cursors = tick_all(base.defs, base.instance, alerting, {})
    assert alerting.counts() == (0, 0, 0)
    tick_all(base.defs, base.instance, alerting, cursors)
    assert alerting.counts() == (0, 0, 0)
    history = base.instance.event_log_storage
    for key in base.defs.resolve_job_def("daily_refresh").asset_layer.asset_graph.asset_check_keys:
        assert not [
            r
            for r in history.get_asset_check_execution_history(key, limit=10)
            if r.status.value == "FAILED"
        ], key


@pytest.mark.parametrize("fault_name", list(FAULTS))
def test_corrupt_delivery_fails_its_check_keeps_the_marts_and_alerts_once(
    base, alerting, tmp_path, fault_name
):
    fault = FAULTS[fault_name]
    settings, defs = copy_base(base, tmp_path)
    defs = with_redelivery_job(defs)
    instance = dg.DagsterInstance.ephemeral()
    before = marts(settings)
    fault.corrupt(settings, fault.day)

    cursors = tick_all(defs, instance, alerting, {})  # the daemon is running already

    result = defs.resolve_job_def("after_upstream_delivery").execute_in_process(
        instance=instance, partition_key=fault.day.isoformat(), raise_on_error=False
    )

    assert not result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert [check_name(e) for e in failed] == [fault.check]
    [evaluation] = failed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR and evaluation.blocking
    assert evaluation.partition == (fault.day.isoformat() if fault.per_day else None)
    assert fault.summary in evaluation.description
    metadata = {k: str(getattr(v, "value", v)) for k, v in evaluation.metadata.items()}
    assert fault.sample in " ".join(metadata.values())
    asset, check = fault.check.split(":")
    # Nothing was built on the bad data, and the marts keep the last good numbers.
    built = {e.asset_key for e in result.get_asset_materialization_events()}
    assert not [key for key in built if key.path[0] == "dbt_models"]
    assert marts(settings) == before

    cursors = tick_all(defs, instance, alerting, cursors)
    assert alerting.counts() == (1, 1, 1)
    payload = alerting.webhook.requests[0].json()
    assert payload["kind"] == "check_failed" and payload["severity"] == "ERROR"
    assert (payload["asset"], payload["check"]) == (asset, check)
    assert payload["partition"] == fault.day.isoformat()
    assert payload["run_url"] == f"{DAGSTER_URL}/runs/{result.run_id}"
    assert fault.summary in payload["summary"]
    assert fault.sample in json.dumps(payload["details"])
    [mail] = alerting.smtp.messages
    assert mail["Subject"] == payload["subject"]
    assert mail["To"] == "data-team@coffee.example, oncall@coffee.example"
    assert f"{DAGSTER_URL}/runs/{result.run_id}" in mail.get_payload()
    [post] = alerting.slack.requests
    assert post.path.endswith("/chat.postMessage")
    assert post.headers["Authorization"] == "Bearer xoxb-test-token"
    message = post.json()
    assert message["channel"] == "#coffee-alerts" and check in message["text"]
    # The daemon restarts and ticks again with the stored cursors: nothing new is sent.
    tick_all(defs, instance, alerting, cursors)
    assert alerting.counts() == (1, 1, 1)


def test_a_day_far_below_the_stores_history_warns_and_the_marts_are_rebuilt(
    base, alerting, tmp_path
):
    """A day with far too few orders (consistent otherwise: a truncated delivery): the chain's
    day is far below its own history, the WARN check fails saying so (each store on its own is
    too small to tell), nothing blocks, the marts take the day, and one alert marked WARN goes
    out. (Two days of history, one of them a holiday: too few ordinary days, so both count;
    judged leniently, and said so.)"""
    settings, defs = copy_base(base, tmp_path)
    defs = with_redelivery_job(defs)
    instance = dg.DagsterInstance.ephemeral()
    header, orders = read_csv(file_of(settings, c.ORDERS, LAST))
    kept = orders[:3]
    write_csv(file_of(settings, c.ORDERS, LAST), header, kept)
    kept_ids = {row[0] for row in kept}
    line_header, lines = read_csv(file_of(settings, c.ORDER_DETAILS, LAST))
    write_csv(
        file_of(settings, c.ORDER_DETAILS, LAST),
        line_header,
        [line for line in lines if line[1] in kept_ids],
    )

    cursors = tick_all(defs, instance, alerting, {})

    result = defs.resolve_job_def("after_upstream_delivery").execute_in_process(
        instance=instance, partition_key=LAST.isoformat(), raise_on_error=False
    )

    assert result.success
    [warning] = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert check_name(warning) == "coffee_shop/orders:store_days_as_usual"
    assert warning.severity == dg.AssetCheckSeverity.WARN
    assert warning.description.startswith(f"The whole chain, {LAST}, orders: 3, expected ")
    assert "(band " in warning.description
    assert "[judged leniently: 2 comparable day(s) of history]" in warning.description
    assert warning.metadata["The whole chain orders"].value == 3
    assert sum(warning.metadata[f"{store} orders"].value for store in STORE_NAMES) == 3
    assert warning.metadata["incidents"].value == f"chain since {LAST}"
    assert sql(
        settings,
        f"select count(distinct order_id) from dbt_models.flat_order_details "
        f"where order_date = date '{LAST}'",
    ) == [(3,)]
    cursors = tick_all(defs, instance, alerting, cursors)
    assert alerting.counts() == (1, 1, 1)
    payload = alerting.webhook.requests[0].json()
    assert payload["severity"] == "WARN" and payload["check"] == "store_days_as_usual"
    assert "[WARN]" in alerting.smtp.messages[0]["Subject"]
    assert ":warning:" in alerting.slack.requests[0].json()["text"]
    tick_all(defs, instance, alerting, cursors)
    assert alerting.counts() == (1, 1, 1)


def unparsable_date(settings: Settings, day: date) -> None:
    path = file_of(settings, c.ORDERS, day)
    header, rows = read_csv(path)
    rows[4][header.index("OrderDate")] = "not-a-date"
    write_csv(path, header, rows)


@pytest.mark.parametrize(
    ("corrupt", "problem"),
    [
        (unparsable_date, "column OrderDate, row 5 (line 6): value 'not-a-date' is not a date"),
        (missing_column, "missing column(s) DiscountAmount"),
    ],
    ids=["unparsable_date", "missing_column"],
)
def test_a_file_the_loader_refuses_alerts_once_as_a_run_failure(
    base, alerting, tmp_path, corrupt, problem
):
    """The raw loader refuses the file before it touches the table (the run fails, no check
    does): one run alert that names the file, the partition and the problem."""
    settings, defs = copy_base(base, tmp_path)
    defs = with_redelivery_job(defs)
    instance = dg.DagsterInstance.ephemeral()
    before = marts(settings)
    corrupt(settings, LAST)
    cursors = tick_all(defs, instance, alerting, {})
    result = defs.resolve_job_def("after_upstream_delivery").execute_in_process(
        instance=instance, partition_key=LAST.isoformat(), raise_on_error=False
    )
    assert not result.success
    assert not [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert marts(settings) == before
    cursors = tick_all(defs, instance, alerting, cursors)
    assert alerting.counts() == (1, 1, 1)
    payload = alerting.webhook.requests[0].json()
    assert payload["kind"] == "run_failed" and payload["job"] == "after_upstream_delivery"
    assert payload["partition"] == LAST.isoformat()
    assert "coffee_shop__orders" in payload["summary"]
    details = json.dumps(payload["details"])
    assert problem in details and "Orders.csv" in details and f"partition {LAST}" in details
    tick_all(defs, instance, alerting, cursors)
    assert alerting.counts() == (1, 1, 1)


def test_mart_checks_catch_a_mart_that_disagrees_with_the_raw_data(base, tmp_path):
    """The marts' own checks, run on a tampered mart (one order line gone, one customer row
    duplicated): both fail, blocking, naming the day and the customer."""
    settings, defs = copy_base(base, tmp_path)
    defs = with_redelivery_job(defs)
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute(
            "delete from dbt_models.flat_order_details where order_detail_id = "
            f"(select min(order_detail_id) from dbt_models.flat_order_details "
            f"where order_date = date '{LAST}')"
        )
        con.execute(
            "insert into dbt_models.flat_customer_metrics select * from "
            "dbt_models.flat_customer_metrics order by customer_id limit 1"
        )
    evaluations = {}
    for name in ("assert_daily_revenue_matches_raw_orders", "one_row_per_customer_with_orders"):
        [key] = [k for k in defs.resolve_asset_graph().asset_check_keys if k.name == name]
        # A check-only run, as "Execute check" in the UI launches it (the dbt test for a day).
        job = defs.resolve_implicit_global_asset_job_def().get_subset(
            asset_selection=set(), asset_check_selection={key}
        )
        partitioned = name == "assert_daily_revenue_matches_raw_orders"
        result = job.execute_in_process(
            instance=dg.DagsterInstance.ephemeral(),
            partition_key=LAST.isoformat() if partitioned else None,
            raise_on_error=False,
        )
        assert not result.success  # a failing ERROR check (or dbt test) fails its run
        evaluations.update({check_name(e): e for e in result.get_asset_check_evaluations()})
    revenue = evaluations["dbt_models/flat_order_details:assert_daily_revenue_matches_raw_orders"]
    assert not revenue.passed and revenue.severity == dg.AssetCheckSeverity.ERROR
    assert revenue.metadata["dagster_dbt/failed_row_count"].value == 1  # the day that differs
    customers = evaluations["dbt_models/flat_customer_metrics:one_row_per_customer_with_orders"]
    assert not customers.passed
    assert customers.metadata["offending_rows"].value == 1
    assert "duplicated" in customers.metadata["sample"].value


def test_alerts_raised_while_every_channel_fails_reach_each_channel_once_when_it_is_back(
    base, alerting, tmp_path
):
    """A failed check and a failed run while the SMTP server is down and the webhook and Slack
    answer 500 for two ticks: each tick says which channels failed and why (the sensor's tick
    history in the UI), and once they are back each channel gets each alert exactly once."""
    settings, defs = copy_base(base, tmp_path)
    defs = with_redelivery_job(defs)
    instance = dg.DagsterInstance.ephemeral()
    cursors = tick_all(defs, instance, alerting, {})
    wrong_total(settings, LAST)  # a failed check
    unparsable_date(settings, LAST - timedelta(days=1))  # a file the loader refuses: a failed run
    job = defs.resolve_job_def("after_upstream_delivery")
    for day in (LAST, LAST - timedelta(days=1)):
        result = job.execute_in_process(
            instance=instance, partition_key=day.isoformat(), raise_on_error=False
        )
        assert not result.success

    alerting.smtp.stop()
    alerting.webhook.failing = alerting.slack.failing = True
    said: dict[str, list[str]] = {CHECK_ALERT_SENSOR: [], RUN_FAILURE_SENSOR: []}

    def tick_both() -> None:
        for name in said:
            data = evaluate(defs, instance, alerting, name, cursors.get(name))
            cursors[name] = data.cursor
            said[name].append(str(data.skip_message))

    tick_both()
    tick_both()
    for name, messages in said.items():
        assert messages[0].startswith("1 new alert(s); 0 delivery(ies); 1 alert(s) waiting for "), (
            name,
            messages,
        )
        assert "email (ConnectionRefusedError" in messages[1], messages
        assert "webhook (HTTPError: HTTP Error 500" in messages[1], messages
        assert "slack (SlackApiError" in messages[1], messages
    assert alerting.counts() == (0, 0, 0)
    assert (alerting.webhook.refused, alerting.slack.refused) == (4, 4)

    alerting.smtp.start()
    alerting.webhook.failing = alerting.slack.failing = False
    tick_both()  # the backoff lets this tick pass
    assert alerting.counts() == (0, 0, 0)
    tick_both()
    assert alerting.counts() == (2, 2, 2)
    kinds = sorted(r.json()["kind"] for r in alerting.webhook.requests)
    assert kinds == ["check_failed", "run_failed"]
    assert sorted(m["Subject"] for m in alerting.smtp.messages) == sorted(
        r.json()["subject"] for r in alerting.webhook.requests
    )
    for _ in range(3):  # and never again
        tick_both()
    assert alerting.counts() == (2, 2, 2)


def test_a_check_that_fails_on_120_days_of_one_backfill_reaches_an_alert_for_every_day(
    alerting, tmp_path
):
    """120 days whose orders do not reconcile, loaded by one backfill of the raw layer (the raw
    tables and their checks, nothing downstream): daily_rules fails 120 times in one run, and
    every failed day reaches an alert: one that lists each of them, not 50 and a silence."""
    days = 120
    settings = Settings(data_dir=tmp_path / "data", start_date=START, seed=11, orders_per_day=10)
    raw_layer = dg.AssetSelection.groups("csv_sources", "raw")
    defs = dg.Definitions.merge(
        build_definitions(settings),
        dg.Definitions(
            jobs=[
                dg.define_asset_job("raw_layer", selection=raw_layer),
                dg.define_asset_job(
                    "raw_after_delivery", selection=dg.AssetSelection.groups("raw")
                ),
            ]
        ),
    )
    last = START + timedelta(days=days - 1)
    instance = dg.DagsterInstance.ephemeral()
    tags = partition_range_tags(START, last)
    assert defs.resolve_job_def("raw_layer").execute_in_process(instance=instance, tags=tags)
    cursors = tick_all(defs, instance, alerting, {})
    for i in range(days):  # the day's first order's TotalAmount raised by 1.00
        path = file_of(settings, c.ORDERS, START + timedelta(days=i))
        header, rows = read_csv(path)
        total = header.index("TotalAmount")
        rows[0][total] = f"{float(rows[0][total]) + 1:.2f}"
        write_csv(path, header, rows)
    result = defs.resolve_job_def("raw_after_delivery").execute_in_process(
        instance=instance, tags=tags, raise_on_error=False
    )
    assert not result.success
    failed = [
        e for e in result.get_asset_check_evaluations()
        if not e.passed and e.check_name == "daily_rules"
    ]  # fmt: skip
    assert len(failed) == days

    tick_all(defs, instance, alerting, cursors)
    announced = [r.json() for r in alerting.webhook.requests if r.json()["check"] == "daily_rules"]
    named = set()
    for alert in announced:
        if "partitions" in alert["details"]:  # one alert for many days: each on its line
            named |= {line.split(":")[0] for line in alert["details"]["partitions"].splitlines()}
        else:
            named.add(alert["partition"])
    assert named == {str(START + timedelta(days=i)) for i in range(days)}
    [digest] = announced
    assert digest["summary"].startswith(f"daily_rules failed on {days} partition(s), {START} to")
    assert (
        "amounts_reconcile: 1 order(s) whose amounts do not reconcile on"
        in (digest["details"]["partitions"])
    )


def report_freshness(instance: dg.DagsterInstance, key: dg.AssetKey, new: str, old: str, at: float):
    """What Dagster's FreshnessDaemon records when it finds an asset's freshness state changed
    (it evaluates the assets' FreshnessPolicy every 30 s while `dagster dev` runs)."""
    from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange

    instance._report_runless_asset_event(  # noqa: SLF001 (as the daemon does)
        FreshnessStateChange(
            key=key,
            new_state=FreshnessState(new),
            previous_state=FreshnessState(old),
            state_change_timestamp=at,
        )
    )


def test_a_missed_deadline_alerts_once_whatever_runs_in_between(base, alerting):
    """Freshness is a FreshnessPolicy on the assets (09:00 Kyiv, daily), evaluated by Dagster's
    daemon: no job or ad-hoc run evaluates it, so none repeats its alert; each turn to stale is
    one WARN alert on every channel."""
    defs = base.defs
    graph = defs.resolve_asset_graph()
    with_policy = {node.key for node in graph.asset_nodes if node.freshness_policy}
    # Both ends of the warehouse: the daily raw tables and the marts read in the morning.
    assert with_policy == {
        *(dg.AssetKey(["coffee_shop", t.table]) for t in c.DAILY_TABLES),
        dg.AssetKey(["dbt_models", "flat_order_details"]),
        dg.AssetKey(["dbt_models", "flat_customer_metrics"]),
    }
    assert not [key for key in graph.asset_check_keys if "freshness" in key.name]
    late = dg.AssetKey(["dbt_models", "flat_order_details"])
    with dg.instance_for_test() as instance:
        cursor = tick(defs, instance, alerting, CHECK_ALERT_SENSOR)
        report_freshness(instance, late, "FAIL", "PASS", time.time() - 60)
        cursor = tick(defs, instance, alerting, CHECK_ALERT_SENSOR, cursor)
        assert alerting.counts() == (1, 1, 1)
        payload = alerting.webhook.requests[0].json()
        assert (payload["kind"], payload["severity"]) == ("freshness_missed", "WARN")
        assert payload["asset"] == "dbt_models/flat_order_details"
        assert "missed its deadline (0 9 * * * Europe/Kyiv, daily)" in payload["summary"]
        # Ticks go on, an ad-hoc run materializes an old day meanwhile: nothing more.
        instance.report_runless_asset_event(dg.AssetMaterialization(late, partition="2025-01-01"))
        for _ in range(2):
            cursor = tick(defs, instance, alerting, CHECK_ALERT_SENSOR, cursor)
        assert alerting.counts() == (1, 1, 1)
        # Fresh again, then the next deadline is missed: one more alert.
        report_freshness(instance, late, "PASS", "FAIL", time.time() - 30)
        cursor = tick(defs, instance, alerting, CHECK_ALERT_SENSOR, cursor)
        report_freshness(instance, late, "FAIL", "PASS", time.time() - 10)
        tick(defs, instance, alerting, CHECK_ALERT_SENSOR, cursor)
        assert alerting.counts() == (2, 2, 2)


def test_an_empty_day_is_refused_whichever_assets_are_selected(base, tmp_path):
    """A header-only Orders.csv on a profile that expects tens of orders a day, and only the raw
    orders table re-materialized for that day: no store recorded anything, which cannot be a
    business day: store_days_as_usual fails with ERROR (an empty delivery), blocking; the marts
    keep the day."""
    settings, defs = copy_base(base, tmp_path)
    header, _ = read_csv(file_of(settings, c.ORDERS, LAST))
    write_csv(file_of(settings, c.ORDERS, LAST), header, [])
    before = marts(settings)
    orders = dg.AssetKey(["coffee_shop", "orders"])
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={orders})
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        partition_key=LAST.isoformat(),
        raise_on_error=False,
    )
    assert not result.success
    [failed] = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert check_name(failed) == "coffee_shop/orders:store_days_as_usual"
    assert failed.severity == dg.AssetCheckSeverity.ERROR and failed.blocking
    assert (
        failed.description == f"no store recorded an order on {LAST} (an empty or lost delivery?)"
    )
    assert marts(settings) == before
