"""The whole lineage materialized for real (generator -> CSV -> DuckDB -> dbt), and the marts'
numbers recomputed independently, in Python, from the CSV files in the bucket."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import dagster as dg
import pytest

from coffee_assets.core import contract as c
from coffee_assets.core.project import DBT_PROJECT_DIR, PROJECT_ROOT
from coffee_assets.defs.dbt.resources import CoffeeDbtCliResource, dbt_executable
from coffee_assets.defs.schedules.jobs import execute_daily_refresh, partition_range_tags

from .conftest import DAYS, LAST, START

LINEAGE = "dagster/column_lineage"

pytestmark = pytest.mark.slow

SEGMENT_RULES = [  # docs/spec.md, first matching rule wins
    ("Champions", lambda r, f, m: r > 4 and f > 4 and m > 4),
    ("Big Spenders", lambda r, f, m: r <= 3 and f <= 3 and m >= 4),
    ("Loyal", lambda r, f, m: r >= 3 and f >= 4 and m >= 3),
    ("New Customers", lambda r, f, m: r >= 4 and f <= 3),
    ("At Risk", lambda r, f, m: r <= 2 and f >= 4),
    ("Churned", lambda r, f, m: r == 1 and f == 1 and m == 1),
]


def ntile(ordered_ids: list, buckets: int = 5) -> dict:
    """SQL's NTILE: sizes differ by at most one, the larger buckets first."""
    size, extra = divmod(len(ordered_ids), buckets)
    result, position = {}, 0
    for bucket in range(1, buckets + 1):
        count = size + (1 if bucket <= extra else 0)
        for customer in ordered_ids[position : position + count]:
            result[customer] = bucket
        position += count
    return result


def test_the_range_is_one_successful_run(pipeline):
    assert pipeline.result.success
    assert pipeline.instance.get_runs_count() == 1
    days = {(START + timedelta(days=i)).isoformat() for i in range(DAYS)}
    for key in [
        dg.AssetKey(["csv_sources", "orders"]),
        dg.AssetKey(["coffee_shop", "orders"]),
        dg.AssetKey(["dbt_models", "fact_order_details"]),
    ]:
        assert pipeline.instance.get_materialized_partitions(key) == days, key


def test_every_check_ran_and_passed(pipeline):
    """dbt tests and Dagster checks: every check of the code location runs in daily_refresh."""
    job = pipeline.defs.resolve_job_def("daily_refresh")
    declared = set(job.asset_layer.asset_graph.asset_check_keys)
    assert set(pipeline.defs.resolve_asset_graph().asset_check_keys) == declared
    evaluations = pipeline.result.get_asset_check_evaluations()
    assert {e.asset_check_key for e in evaluations} == declared
    assert [e.check_name for e in evaluations if not e.passed] == []
    names = {key.name for key in declared}
    # the money reconciliations (dbt singular tests) and the raw tables' Dagster checks
    assert {
        "assert_order_lines_add_up_to_order",
        "assert_daily_revenue_matches_raw_orders",
        "unique_key",
        "dates_inside_partitions",
        "daily_rules",
    } <= names
    assert dg.AssetKey(["coffee_shop", "orders"]) in {key.asset_key for key in declared}


def test_daily_rules_record_one_result_per_day_and_the_rest_one_per_run(pipeline):
    """What the UI's partition view of a check shows: which day passed or failed."""
    evaluations = pipeline.result.get_asset_check_evaluations()
    days = {(START + timedelta(days=i)).isoformat() for i in range(DAYS)}
    per_check: dict[tuple[str, str], list] = defaultdict(list)
    for evaluation in evaluations:
        per_check[(evaluation.asset_key.to_user_string(), evaluation.check_name)].append(
            evaluation.partition
        )
    for table in ("orders", "order_details"):
        assert sorted(per_check[(f"coffee_shop/{table}", "daily_rules")]) == sorted(days)
    assert per_check[("coffee_shop/orders", "unique_key")] == [None]
    history = pipeline.instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey(["coffee_shop", "orders"]), "daily_rules"), limit=10
    )
    assert {r.partition for r in history} == days
    assert {r.status.value for r in history} == {"SUCCEEDED"}


def test_assets_carry_metadata(pipeline):
    csv_meta = pipeline.instance.get_latest_materialization_event(
        dg.AssetKey(["csv_sources", "orders"])
    ).asset_materialization.metadata
    assert csv_meta["dagster/uri"].value.endswith(f"orders/date={LAST}/Orders.csv")
    # a range run: every day records the run's totals, not a row count of its own
    assert csv_meta["rows_in_run"].value == len(pipeline.csv_rows(c.ORDERS))
    assert "dagster/row_count" not in csv_meta and csv_meta["bytes"].value > 0
    raw_meta = pipeline.instance.get_latest_materialization_event(
        dg.AssetKey(["coffee_shop", "orders"])
    ).asset_materialization.metadata
    assert raw_meta["dagster/table_name"].value == "warehouse.coffee_shop.orders"
    assert raw_meta["dagster/row_count"].value == len(pipeline.csv_rows(c.ORDERS))
    assert [
        col.name for col in raw_meta["dagster/column_schema"].schema.columns
    ] == c.ORDERS.column_names
    assert "| OrderId |" in raw_meta["preview"].value
    fact_meta = pipeline.instance.get_latest_materialization_event(
        dg.AssetKey(["dbt_models", "fact_order_details"])
    ).asset_materialization.metadata
    assert fact_meta["dagster/row_count"].value == len(pipeline.csv_rows(c.ORDER_DETAILS))
    assert "| order_detail_key |" in fact_meta["preview"].value


def test_dbt_models_record_their_column_lineage(pipeline):
    """The dbt post-hook logs each model's columns and its parents' (no dbt adapter in the run's
    process); dagster-dbt turns them into column-level lineage, down to the raw tables."""
    staging = pipeline.instance.get_latest_materialization_event(
        dg.AssetKey(["dbt_models", "stg_orders"])
    ).asset_materialization.metadata
    deps = staging["dagster/column_lineage"].value.deps_by_column
    [source] = deps["total_amount"]
    assert source.asset_key == dg.AssetKey(["coffee_shop", "orders"])
    assert source.column_name.lower() == "totalamount"
    fact = pipeline.instance.get_latest_materialization_event(
        dg.AssetKey(["dbt_models", "fact_order_details"])
    ).asset_materialization.metadata
    parents = {
        dep.asset_key for dep in fact["dagster/column_lineage"].value.deps_by_column["price"]
    }
    # the day's price (a promotion, a price change), else the menu's
    assert parents == {
        dg.AssetKey(["dbt_models", "stg_products"]),
        dg.AssetKey(["dbt_models", "stg_product_prices"]),
    }
    assert "order_date" in {col.name for col in fact["dagster/column_schema"].schema.columns}


@pytest.mark.parametrize("table", c.ALL_TABLES, ids=lambda t: t.table)
def test_raw_tables_hold_exactly_the_csv_rows(pipeline, table):
    csv_keys = sorted(int(row[table.key]) for row in pipeline.csv_rows(table))
    raw_keys = [
        k
        for (k,) in pipeline.sql(f'select "{table.key}" from coffee_shop.{table.table} order by 1')
    ]
    assert raw_keys == csv_keys and len(set(raw_keys)) == len(raw_keys)


def test_revenue_per_store_and_day(pipeline):
    expected: Counter = Counter()
    orders: Counter = Counter()
    for row in pipeline.csv_rows(c.ORDERS):
        expected[(int(row["StoreId"]), row["OrderDate"])] += Decimal(row["TotalAmount"])
        orders[(int(row["StoreId"]), row["OrderDate"])] += 1
    got = pipeline.sql(
        "select store_id, cast(order_date as varchar), sum(total_amount), count(distinct order_id) "
        "from dbt_models.flat_order_details group by 1, 2"
    )
    assert {(s, d): total for s, d, total, _ in got} == dict(expected)
    assert {(s, d): n for s, d, _, n in got} == dict(orders)
    assert len(expected) == 5 * DAYS


def test_product_mix_per_order(pipeline):
    category = {row["ProductId"]: row["ProductCategory"] for row in pipeline.csv_rows(c.PRODUCTS)}
    categories = defaultdict(set)
    for line in pipeline.csv_rows(c.ORDER_DETAILS):
        categories[int(line["OrderId"])].add(category[line["ProductId"]])
    names = {
        frozenset({"Beverage", "Pastry", "Savory"}): "All Categories",
        frozenset({"Beverage", "Pastry"}): "Beverage + Pastry",
        frozenset({"Beverage", "Savory"}): "Beverage + Savory",
        frozenset({"Pastry", "Savory"}): "Pastry + Savory",
        frozenset({"Beverage"}): "Beverage Only",
        frozenset({"Pastry"}): "Pastry Only",
        frozenset({"Savory"}): "Savory Only",
    }
    expected = {order: names[frozenset(cats)] for order, cats in categories.items()}
    got = dict(
        pipeline.sql(
            "select distinct order_id, product_mix_type from dbt_models.flat_order_details"
        )
    )
    assert got == expected
    assert len(set(expected.values())) == 7  # every mix occurs at this volume


def test_rfm_segments_as_of_the_last_day(pipeline):
    registered = {
        int(r["CustomerId"]): date.fromisoformat(r["RegistrationDate"])
        for r in pipeline.csv_rows(c.CUSTOMERS)
    }
    per_customer: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
    for row in pipeline.csv_rows(c.ORDERS):
        if row["CustomerId"]:
            per_customer[int(row["CustomerId"])].append(
                (date.fromisoformat(row["OrderDate"]), Decimal(row["TotalAmount"]))
            )
    recency = {cid: (LAST - max(d for d, _ in o)).days for cid, o in per_customer.items()}
    frequency = {cid: len(o) for cid, o in per_customer.items()}
    monetary = {cid: sum(t for _, t in o) for cid, o in per_customer.items()}
    ids = sorted(per_customer)
    # Ties are broken by the surrogate key, md5 of the id's text.
    key = {i: hashlib.md5(str(i).encode()).hexdigest() for i in ids}
    r = ntile(sorted(ids, key=lambda i: (-recency[i], key[i])))
    f = ntile(sorted(ids, key=lambda i: (frequency[i], key[i])))
    m = ntile(sorted(ids, key=lambda i: (monetary[i], key[i])))
    # the original's window: order_date >= as_of - 180 days
    recent = {i: sum(1 for d, _ in per_customer[i] if (LAST - d).days <= 180) for i in ids}
    average = {
        i: (monetary[i] / frequency[i]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        for i in ids
    }

    def segment(cid: int) -> str:
        scores = (r[cid], f[cid], m[cid])
        return next((name for name, rule in SEGMENT_RULES if rule(*scores)), "Other")

    got = {
        row[0]: row[1:]
        for row in pipeline.sql(
            "select customer_id, r_score, f_score, m_score, segment, orders_all_time, ltv, "
            "days_since_last_order, customer_age_days, cast(as_of_date as varchar), "
            "orders_past_180_days, is_active_180d, avg_order_value "
            "from dbt_models.flat_customer_metrics"
        )
    }
    assert set(got) == set(ids)
    for cid in ids:
        assert got[cid] == (
            r[cid],
            f[cid],
            m[cid],
            segment(cid),
            frequency[cid],
            monetary[cid],
            recency[cid],
            (LAST - registered[cid]).days,
            LAST.isoformat(),
            recent[cid],
            int(recent[cid] > 0),
            average[cid],
        ), cid


def column_lineages(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    return {
        event.asset_key.to_user_string(): event.materialization.metadata[LINEAGE].value
        for event in result.get_asset_materialization_events()
        if LINEAGE in event.materialization.metadata
    }


def test_rerunning_partitions_leaves_every_table_identical(pipeline, tmp_path, monkeypatch):
    """... and a day's models' column lineage, built once (into an empty cache here), is read
    from the cache on another day's run (dagster_internals.column_lineage_kept), equal."""
    cache = tmp_path / "lineage"
    monkeypatch.setattr(CoffeeDbtCliResource, "lineage_cache", lambda self: cache)
    before = pipeline.snapshot()
    assert set(before) >= {f"coffee_shop.{t.table}" for t in c.ALL_TABLES}
    built = execute_daily_refresh(pipeline.defs, LAST, LAST, instance=pipeline.instance)
    assert pipeline.snapshot() == before
    entries = sorted(cache.iterdir())
    assert len(entries) == len(column_lineages(built)) >= 20
    # An earlier day too: the as-of mart stays as of the newest day of the data.
    middle = START + timedelta(days=1)
    read = execute_daily_refresh(pipeline.defs, middle, middle, instance=pipeline.instance)
    assert pipeline.snapshot() == before
    assert pipeline.sql(
        "select distinct cast(as_of_date as varchar) from dbt_models.flat_customer_metrics"
    ) == [(LAST.isoformat(),)]
    assert sorted(cache.iterdir()) == entries  # nothing built again
    assert column_lineages(read) == column_lineages(built)


def test_a_bad_file_fails_the_raw_step_and_keeps_the_table(pipeline):
    """A broken upstream file: the run fails naming the file and problem; nothing is lost."""
    path = pipeline.settings.bucket_dir / "csv_sources" / c.ORDERS.object_key(LAST.isoformat())
    good = path.read_bytes()
    before = pipeline.snapshot()
    lines = good.decode().splitlines()
    lines[5] = lines[5].replace(f",{LAST},", ",not-a-date,", 1)
    path.write_text("\n".join(lines) + "\n")
    try:
        result = pipeline.defs.resolve_job_def("daily_refresh").execute_in_process(
            instance=pipeline.instance,
            partition_key=LAST.isoformat(),
            asset_selection=[dg.AssetKey(["coffee_shop", "orders"])],
            raise_on_error=False,
        )
    finally:
        path.write_bytes(good)
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert str(path) in message and f"partition {LAST}" in message
    assert "column OrderDate, row 5 (line 6): value 'not-a-date' is not a date" in message
    assert pipeline.snapshot() == before


def test_a_failing_blocking_check_stops_the_models(pipeline):
    """A duplicated order (the loader lets it through: keys are the checks' job) reaches the raw
    table: its blocking unique_key check fails, dbt does not start (the marts keep their rows)
    and the run fails on the check's step."""
    path = pipeline.settings.bucket_dir / "csv_sources" / c.ORDERS.object_key(LAST.isoformat())
    good = path.read_bytes()
    lines = good.decode().splitlines()
    path.write_text("\n".join([*lines, lines[1]]) + "\n")
    graph = pipeline.defs.resolve_asset_graph()
    not_csv = [k for k in graph.materializable_asset_keys if k.path[0] != "csv_sources"]
    before = pipeline.snapshot()
    try:
        result = pipeline.defs.resolve_job_def("daily_refresh").execute_in_process(
            instance=pipeline.instance,
            partition_key=LAST.isoformat(),
            asset_selection=not_csv,
            raise_on_error=False,
        )
        after = pipeline.snapshot()
    finally:
        path.write_bytes(good)
        execute_daily_refresh(pipeline.defs, LAST, LAST, instance=pipeline.instance)
    assert not result.success
    failed = {
        (e.asset_key.to_user_string(), e.check_name)
        for e in result.get_asset_check_evaluations()
        if not e.passed
    }
    assert failed == {("coffee_shop/orders", "unique_key")}
    assert len(after["coffee_shop.orders"]) == len(before["coffee_shop.orders"]) + 1
    assert {t: rows for t, rows in after.items() if t.startswith("dbt_models.")} == {
        t: rows for t, rows in before.items() if t.startswith("dbt_models.")
    }
    assert not [
        e for e in result.get_asset_materialization_events() if e.asset_key.path[0] == "dbt_models"
    ]
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "coffee_shop__orders_unique_key"
    assert pipeline.snapshot() == before  # restored by re-running the day


def test_a_failed_range_run_shows_its_days_failed(pipeline):
    """One planned event per asset and run (DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS)
    would leave the days of a failed range run looking as they were; the run's books record
    them, so the UI shows every day the run planned and did not do as failed, downstream of the
    failure too, and a good run makes them materialized again."""
    middle = START + timedelta(days=1)
    path = pipeline.settings.bucket_dir / "csv_sources" / c.ORDERS.object_key(middle.isoformat())
    good = path.read_bytes()
    path.write_text(good.decode().replace(f",{middle},", ",2025-13-01,", 1))
    graph = pipeline.defs.resolve_asset_graph()
    not_csv = [k for k in graph.materializable_asset_keys if k.path[0] != "csv_sources"]
    orders = dg.AssetKey(["coffee_shop", "orders"])
    fact = dg.AssetKey(["dbt_models", "fact_order_details"])
    customers = dg.AssetKey(["coffee_shop", "customers"])
    partitions = pipeline.defs.resolve_job_def("daily_refresh").partitions_def
    days = [(START + timedelta(days=i)).isoformat() for i in range(DAYS)]

    def statuses(key: dg.AssetKey) -> set[str]:
        found = pipeline.instance.get_status_by_partition(key, days, partitions)
        return {status.value for status in found.values()}

    try:
        result = pipeline.defs.resolve_job_def("daily_refresh").execute_in_process(
            instance=pipeline.instance,
            tags=partition_range_tags(START, LAST),
            asset_selection=not_csv,
            raise_on_error=False,
        )
        assert not result.success
        assert statuses(orders) == {"FAILED"}  # the failed step's asset
        assert statuses(fact) == {"FAILED"}  # downstream, never run
        assert statuses(customers) == {"MATERIALIZED"}  # loaded by the run before it failed
    finally:
        path.write_bytes(good)
    execute_daily_refresh(pipeline.defs, START, LAST, instance=pipeline.instance)
    assert statuses(orders) == statuses(fact) == {"MATERIALIZED"}


def test_dbt_unit_tests_pass(pipeline, tmp_path):
    """dbt's unit tests of the marts' SQL (RFM rules, the as-of day, product mixes). Runs do not
    run them (they test code, not data: dbt's advice), so the test suite does, against the
    pipeline's warehouse (they read the schemas of the models they test)."""
    vars_ = json.dumps({"duckdb_path": str(pipeline.settings.duckdb_path)})
    result = subprocess.run(
        [dbt_executable(), "test", "--select", "test_type:unit", "--vars", vars_],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "DBT_TARGET_PATH": str(tmp_path), "DBT_LOG_PATH": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    declared = len(manifest["unit_tests"])
    assert declared >= 6
    assert f"PASS={declared} WARN=0 ERROR=0" in result.stdout, result.stdout[-2000:]


LOGICAL_TYPES = {
    "BIGINT": "integer",
    "INTEGER": "integer",
    "VARCHAR": "text",
    "DATE": "date",
    "BOOLEAN": "boolean",
    "DOUBLE": "float",
}


def original_columns(mart: str) -> dict[str, str]:
    """The original's columns and types of a mart, from the list docs/spec.md keeps."""
    text = (PROJECT_ROOT / "docs" / "spec.md").read_text()
    table = text.split(f"\n{mart}:\n", 1)[1].strip().split("\n\n", 1)[0]
    rows = [line.strip("|").split("|") for line in table.splitlines()[2:]]
    return {name.strip(): kind.strip() for name, kind in rows}


@pytest.mark.parametrize("mart", ["flat_order_details", "flat_customer_metrics"])
def test_the_marts_hold_every_column_of_the_originals_with_its_type(pipeline, mart):
    """The original showcase's dashboards keep working: every column they read is there,
    under its name, with its type (more columns are fine)."""
    described = pipeline.sql(f"describe dbt_models.{mart}")
    found = {
        name: "decimal" if kind.startswith("DECIMAL") else LOGICAL_TYPES.get(kind, kind)
        for name, kind, *_ in described
    }
    expected = original_columns(mart)
    assert len(expected) >= 13
    assert {name: found.get(name) for name in expected} == expected
