"""The code location loads, and the job, schedule, partitions and pools are what users rely on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from coffee_assets.core import contract as c
from coffee_assets.core.importer.manifest import MANIFEST_KEY, ImportManifest
from coffee_assets.core.project import DBT_PROJECT_DIR
from coffee_assets.definitions import build_definitions
from coffee_assets.defs.alerts.sensors import CHECK_ALERT_SENSOR, RUN_FAILURE_SENSOR
from coffee_assets.defs.dbt.project import dbt_project, prepare_if_dev_and_changed
from coffee_assets.defs.schedules.jobs import partition_range_tags
from coffee_assets.platform.target import DUCKDB_POOL
from coffee_assets.settings import Settings, SettingsError


@pytest.fixture(scope="module")
def defs(tmp_path_factory) -> dg.Definitions:
    return build_definitions(Settings(data_dir=tmp_path_factory.mktemp("data")))


def test_definitions_load(defs):
    dg.Definitions.validate_loadable(defs)
    keys = {spec.key.to_user_string() for spec in defs.resolve_all_asset_specs()}
    for table in c.ALL_TABLES:
        assert f"csv_sources/{table.table}" in keys
        assert f"coffee_shop/{table.table}" in keys
    for model in [
        "dim_customer",
        "dim_product",
        "dim_store",
        "dim_order",
        "dim_date",
        "fact_order_details",
        "flat_order_details",
        "flat_customer_metrics",
    ]:
        assert f"dbt_models/{model}" in keys


def test_module_level_defs_load():
    from coffee_assets import definitions

    assert definitions.defs.resolve_job_def("daily_refresh") is not None


def test_dbt_sources_are_the_raw_table_assets(defs):
    graph = defs.resolve_asset_graph()
    staging_parents = graph.get(dg.AssetKey(["dbt_models", "stg_orders"])).parent_keys
    assert staging_parents == {dg.AssetKey(["coffee_shop", "orders"])}
    raw_parents = graph.get(dg.AssetKey(["coffee_shop", "orders"])).parent_keys
    assert raw_parents == {dg.AssetKey(["csv_sources", "orders"])}


def test_daily_partitions_for_what_grows_by_day_and_none_for_what_is_rebuilt_whole(defs):
    """Each partition of each daily asset is an event in every run that covers it: only the
    CSV files, raw tables and incremental models are daily; views over them, the as-of mart and
    the reports are rebuilt whole, once a run."""
    daily = {
        node.key.to_user_string()
        for node in defs.resolve_asset_graph().asset_nodes
        if node.is_materializable and node.partitions_def is not None
    }
    assert daily == {
        *(f"csv_sources/{t.table}" for t in c.DAILY_TABLES),
        *(f"coffee_shop/{t.table}" for t in c.DAILY_TABLES),
        "dbt_models/fact_order_details",
        "dbt_models/flat_order_details",
        "dbt_models/agg_store_days",
        "dbt_models/agg_store_day_categories",
        "dbt_models/agg_store_day_mixes",
        "dbt_models/agg_customer_days",
    }


def test_daily_models_wait_for_the_raw_tables_they_read_through_views(defs):
    """A run of the daily assets alone leaves the views out; these direct edges keep dbt after
    the raw loads in such a run (see CoffeeDbtTranslator)."""
    graph = defs.resolve_asset_graph()
    parents = graph.get(dg.AssetKey(["dbt_models", "fact_order_details"])).parent_keys
    read = {"customers", "orders", "order_details", "products", "product_prices"}
    assert {f"coffee_shop/{table}" for table in read} <= {key.to_user_string() for key in parents}


def test_every_partitioned_asset_runs_a_range_in_one_run(defs):
    for node in defs.resolve_asset_graph().asset_nodes:
        if node.is_materializable and node.partitions_def is not None:
            assert node.backfill_policy == dg.BackfillPolicy.single_run(), node.key


def test_every_asset_that_opens_duckdb_is_in_the_pool(defs):
    job = defs.resolve_job_def("daily_refresh")
    pools = {node.name: node.definition.pool for node in job.graph.node_dict.values()}
    opens_duckdb = {f"coffee_shop__{t.table}" for t in c.ALL_TABLES} | {
        "coffee_dbt_models",
        "reports",
    }
    # ... and the checks that query the raw tables and marts (the CSV files' checks read the
    # bucket only)
    opens_duckdb |= {name for name in pools if name.startswith(("coffee_shop__", "dbt_models__"))}
    assert {name for name, pool in pools.items() if pool == DUCKDB_POOL} == opens_duckdb


def test_daily_refresh_covers_the_whole_lineage_in_process(defs):
    job = defs.resolve_job_def("daily_refresh")
    assert job.executor_def.name == "in_process"
    # ... and so do the UI's ad-hoc materializations (the implicit asset job)
    assert defs.resolve_implicit_global_asset_job_def().executor_def.name == "in_process"
    job_keys = set(job.asset_layer.executable_asset_keys)
    all_keys = {n.key for n in defs.resolve_asset_graph().asset_nodes if n.is_materializable}
    assert job_keys == all_keys


def tick(defs: dg.Definitions, instance: dg.DagsterInstance, at: datetime):
    schedule = defs.resolve_schedule_def("daily_refresh_schedule")
    # As a context manager: the context opens its own instance (and resources) and closes them.
    with dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=at,
        resources={"storage": defs.resources["storage"]},
    ) as context:
        return schedule.evaluate_tick(context)


def materialize_days(instance: dg.DagsterInstance, first: str, last: str) -> None:
    """What a complete day leaves behind: flat_order_details, the last daily asset."""
    day = date.fromisoformat(first)
    while day <= date.fromisoformat(last):
        instance.report_runless_asset_event(
            dg.AssetMaterialization(FLAT_ORDER_DETAILS, partition=day.isoformat())
        )
        day += timedelta(days=1)


# The lineage's last daily asset: a day is complete once it is.
FLAT_ORDER_DETAILS = dg.AssetKey(["dbt_models", "flat_order_details"])
MORNING = datetime(2025, 3, 2, 4, 30, tzinfo=ZoneInfo("Europe/Kyiv"))


def test_schedule_runs_early_morning_kyiv_for_yesterday(defs):
    schedule = defs.resolve_schedule_def("daily_refresh_schedule")
    assert schedule.execution_timezone == "Europe/Kyiv" and schedule.cron_schedule == "30 4 * * *"
    assert schedule.job_name == "daily_refresh"
    with dg.instance_for_test() as instance:
        materialize_days(instance, "2025-01-01", "2025-02-28")
        [request] = tick(defs, instance, MORNING).run_requests
    assert request.partition_key_range == dg.PartitionKeyRange("2025-03-01", "2025-03-01")


def test_schedule_catches_up_a_gap_in_one_run(defs):
    """A week with the laptop closed: the first morning covers every missing day, one run."""
    with dg.instance_for_test() as instance:
        materialize_days(instance, "2025-01-01", "2025-02-21")
        [request] = tick(defs, instance, MORNING).run_requests
    assert request.partition_key_range == dg.PartitionKeyRange("2025-02-22", "2025-03-01")
    assert partition_range_tags(date(2025, 2, 22), date(2025, 3, 1)).items() <= request.tags.items()
    assert request.run_key == "2025-02-22...2025-03-01"


def test_schedule_builds_the_whole_history_first_and_skips_when_done(defs):
    with dg.instance_for_test() as instance:
        [request] = tick(defs, instance, MORNING).run_requests
        assert request.partition_key_range == dg.PartitionKeyRange("2025-01-01", "2025-03-01")
        materialize_days(instance, "2025-01-01", "2025-03-01")
        result = tick(defs, instance, MORNING)
    assert not result.run_requests
    assert "every day up to yesterday is complete" in result.skip_message


def test_after_an_import_the_schedule_stops_at_the_imported_days(tmp_path):
    """Nothing generates days after an import (coffee-import): the catch-up ends at the
    manifest's last day, and skips, with the reason, once that day is complete."""
    settings = Settings(data_dir=tmp_path)
    defs = build_definitions(settings)
    manifest = ImportManifest(
        "/somewhere/original", "2025-03-01T00:00:00+00:00", date(2025, 1, 1), date(2025, 2, 10),
        rows={}, reference_rows={},
    )  # fmt: skip
    path = settings.bucket_dir / MANIFEST_KEY
    path.parent.mkdir(parents=True)
    path.write_bytes(manifest.to_json())
    with dg.instance_for_test() as instance:
        materialize_days(instance, "2025-01-01", "2025-01-31")
        [request] = tick(defs, instance, MORNING).run_requests
        assert request.partition_key_range == dg.PartitionKeyRange("2025-02-01", "2025-02-10")
        materialize_days(instance, "2025-02-01", "2025-02-10")
        result = tick(defs, instance, MORNING)
    assert not result.run_requests
    assert (
        "every imported day is complete (imported from /somewhere/original" in result.skip_message
    )


def test_partitions_start_at_the_history_and_end_yesterday(defs):
    partitions = defs.resolve_job_def("daily_refresh").partitions_def
    keys = partitions.get_partition_keys(
        current_time=datetime(2025, 1, 10, 12, tzinfo=ZoneInfo("Europe/Kyiv"))
    )
    assert keys[0] == "2025-01-01" and keys[-1] == "2025-01-09"
    assert partitions.timezone == "Europe/Kyiv"


def test_settings_from_env(tmp_path):
    settings = Settings.from_env(
        {
            "COFFEE_DATA_DIR": str(tmp_path),
            "COFFEE_START_DATE": "2024-06-01",
            "COFFEE_ORDERS_PER_DAY": "120",
            "COFFEE_SCHEDULE_CRON": " 0  6 * * 1-5",
            "COFFEE_HOLIDAYS_COUNTRY": "de",
            "COFFEE_HOLIDAYS_SUBDIVISION": "by",
        }
    )
    assert settings.target == "local" and settings.start_date == date(2024, 6, 1)
    assert settings.holidays.describe() == "DE-BY" and Settings().holidays.describe() == "UA"
    assert settings.schedule_cron == "0 6 * * 1-5"
    assert Settings().schedule_cron == "30 4 * * *"
    assert settings.duckdb_path == tmp_path / "warehouse.duckdb"
    assert settings.bucket_dir == tmp_path / "bucket"
    assert settings.orders_per_day == 120


def test_the_alert_sensors_tick_as_often_as_the_setting_says(defs, tmp_path):
    sensors = (CHECK_ALERT_SENSOR, RUN_FAILURE_SENSOR)
    assert [defs.resolve_sensor_def(s).minimum_interval_seconds for s in sensors] == [60, 60]
    quick = build_definitions(
        Settings.from_env({"COFFEE_DATA_DIR": str(tmp_path), "COFFEE_ALERT_INTERVAL_SECONDS": "10"})
    )
    assert [quick.resolve_sensor_def(s).minimum_interval_seconds for s in sensors] == [10, 10]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"COFFEE_TARGET": "aws"}, "COFFEE_TARGET='aws'"),
        ({"COFFEE_START_DATE": "01/01/2025"}, "COFFEE_START_DATE='01/01/2025'"),
        ({"COFFEE_SEED": "x"}, "COFFEE_SEED='x'"),
        ({"COFFEE_SEED": "-1"}, "COFFEE_SEED=-1"),
        ({"COFFEE_VOLUME_PROFILE": "weekly"}, "COFFEE_VOLUME_PROFILE='weekly'"),
        ({"COFFEE_ORDERS_PER_DAY": "1e9"}, "COFFEE_ORDERS_PER_DAY=1000000000.0"),
        ({"COFFEE_SCHEDULE_CRON": "at dawn"}, "COFFEE_SCHEDULE_CRON='at dawn' is not a cron"),
        ({"COFFEE_HOLIDAYS_COUNTRY": "Ukraine"}, "COFFEE_HOLIDAYS_COUNTRY='UKRAINE'.*ISO 3166"),
        ({"COFFEE_HOLIDAYS_SUBDIVISION": "99"}, "'99' is not a subdivision of UA"),
    ],
)
def test_bad_settings_name_the_variable(env, message, tmp_path):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({"COFFEE_DATA_DIR": str(tmp_path), **env})


EMAIL = {
    "COFFEE_SMTP_HOST": "smtp.example",
    "COFFEE_ALERT_EMAIL_FROM": "dagster@coffee.example",
    "COFFEE_ALERT_EMAIL_TO": "data@coffee.example",
}
TOMORROW = (datetime.now(ZoneInfo("Europe/Kyiv")).date() + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"COFFEE_START_DATE": TOMORROW},
            f"COFFEE_START_DATE={TOMORROW} is in the future: the history needs at least one "
            "complete day; use a date on or before yesterday",
        ),
        (
            {"COFFEE_START_DATE": "2025-02-30"},
            "COFFEE_START_DATE='2025-02-30' is an impossible date (day is out of range for month)",
        ),
        (
            {"COFFEE_START_DATE": "2025-1-1"},
            "COFFEE_START_DATE='2025-1-1' is not a date in YYYY-MM-DD form, e.g. 2025-01-01",
        ),
        (
            {"COFFEE_DATA_DIR": "{tmp}/a-file"},
            "COFFEE_DATA_DIR='{tmp}/a-file' is a file, not a folder: point it at a folder",
        ),
        (
            {"COFFEE_DATA_DIR": "{tmp}/a-file/data"},
            "COFFEE_DATA_DIR='{tmp}/a-file/data' cannot be used (Not a directory): point it at "
            "a folder you can write",
        ),
        (
            {"COFFEE_DATA_DIR": "/proc/coffee-data"},
            "COFFEE_DATA_DIR='/proc/coffee-data' cannot be used",
        ),
        (
            {"COFFEE_DATA_DIR": "{tmp}/{{{{x}}}}"},
            "COFFEE_DATA_DIR='{tmp}/{{{{x}}}}' holds '{{{{' and '}}}}': dbt reads the warehouse's "
            "path as a Jinja template",
        ),
        (
            {"COFFEE_DATA_DIR": "{tmp}/a\\b"},
            "COFFEE_DATA_DIR='{tmp}/a\\\\b' holds '\\\\': dbt reads the warehouse's path as a "
            "Jinja template and DuckDB reads a backslash as '/'",
        ),
        (
            {"COFFEE_ORDERS_PER_DAY": "0.0001"},
            "COFFEE_ORDERS_PER_DAY=0.0001: the realistic profile's quietest day would average "
            "9.1e-05 orders; a usable history needs at least one a day (set it to 2 or more)",
        ),
        (
            {"COFFEE_SLACK_TOKEN": "xoxb-1"},
            "Slack alerts: COFFEE_SLACK_TOKEN set but COFFEE_SLACK_CHANNEL not",
        ),
        (
            {**EMAIL, "COFFEE_SMTP_PORT": "abc"},
            "COFFEE_SMTP_PORT='abc' is not a port (1 to 65535)",
        ),
        (
            {**EMAIL, "COFFEE_SMTP_PORT": "99999"},
            "COFFEE_SMTP_PORT='99999' is not a port (1 to 65535)",
        ),
        (
            {"COFFEE_ALERT_WEBHOOK_URL": "notaurl"},
            "COFFEE_ALERT_WEBHOOK_URL='notaurl' is not a URL (http:// or https://, a host, a path)",
        ),
    ],
    ids=[
        "future_start", "impossible_date", "not_iso", "data_dir_file", "under_a_file", "proc",
        "jinja_in_path", "backslash_in_path", "too_few_orders", "slack_half", "smtp_port_text",
        "smtp_port_range", "webhook_not_a_url",
    ],
)  # fmt: skip
def test_settings_errors_are_one_line_naming_the_variable_and_fix(env, message, tmp_path):
    """`coffee-settings` (what the scripts run first): one line, exit 1, no stack trace, and
    nothing written."""
    (tmp_path / "a-file").write_text("not a folder")
    env = {k: v.format(tmp=tmp_path) for k, v in env.items()}
    env.setdefault("COFFEE_DATA_DIR", str(tmp_path / "data"))
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COFFEE_")}
    result = subprocess.run(
        [str(Path(sys.executable).with_name("coffee-settings"))],
        env={**clean, **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Settings error: " + message.format(tmp=tmp_path))
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()


def test_instance_limits_the_duckdb_pool_to_one(tmp_path, monkeypatch):
    """dagster_home/dagster.yaml, which the scripts use as DAGSTER_HOME."""
    import shutil
    from pathlib import Path

    shutil.copy(Path(__file__).parent.parent / "dagster_home" / "dagster.yaml", tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1


def test_every_asset_has_owners_and_links_to_its_code(defs, monkeypatch, tmp_path):
    """Owners (a team) and code references (the Python or the dbt model's SQL file): to the local
    file, or to the repository when COFFEE_GIT_URL says where it is."""
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    for name, spec in specs.items():
        assert spec.owners, name
        references = spec.metadata["dagster/code_references"].code_references
        assert references and all(Path(r.file_path).is_file() for r in references), name
    flat = specs["dbt_models/flat_order_details"]
    assert flat.owners == ["team:analytics"]
    files = [r.file_path for r in flat.metadata["dagster/code_references"].code_references]
    assert files[0].endswith("coffee_dbt/models/marts/reporting/flat_order_details.sql")
    linked = build_definitions(
        Settings(data_dir=tmp_path, git_url="https://github.com/example/coffee")
    )
    spec = next(s for s in linked.resolve_all_asset_specs() if s.key == flat.key)
    urls = [r.url for r in spec.metadata["dagster/code_references"].code_references]
    assert urls[0] == (
        "https://github.com/example/coffee/tree/main/"
        "coffee_dbt/models/marts/reporting/flat_order_details.sql"
    )


def test_dbt_column_descriptions_and_types_reach_the_ui(defs):
    """The marts' dbt YAML (descriptions, contract types) is the assets' column schema."""
    spec = next(
        s for s in defs.resolve_all_asset_specs() if s.key.path[-1] == "flat_customer_metrics"
    )
    columns = {col.name: col for col in spec.metadata["dagster/column_schema"].columns}
    assert "181 calendar days" in columns["orders_past_180_days"].description
    assert columns["is_active_180d"].type == "int64"


@pytest.mark.slow
def test_under_dg_the_dbt_manifest_is_parsed_again_only_when_the_project_changed(
    tmp_path, monkeypatch
):
    """Every `dg` command counts as development for dagster-dbt: an unchanged project is not
    parsed again at each `dg launch`, an edited one is, whole: after an edited macro the
    singular tests keep their properties, so they stay asset checks (dbt's partial parsing
    would drop their meta.dagster.ref)."""
    folder = tmp_path / "coffee_dbt"
    shutil.copytree(DBT_PROJECT_DIR, folder, ignore=shutil.ignore_patterns("target", "logs"))
    project = dbt_project("local", folder)
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")

    prepare_if_dev_and_changed(project)  # no manifest yet: parsed
    made = project.manifest_path.stat().st_mtime_ns
    prepare_if_dev_and_changed(project)  # nothing changed: not parsed
    assert project.manifest_path.stat().st_mtime_ns == made

    macro = folder / "macros" / "window.sql"  # an edit: a macro the singular tests use renamed
    macro.write_text(macro.read_text().replace("iso_date(", "iso_day("))
    os.utime(macro, (made / 1e9 + 5, made / 1e9 + 5))
    prepare_if_dev_and_changed(project)
    assert project.manifest_path.stat().st_mtime_ns > made
    nodes = json.loads(project.manifest_path.read_text())["nodes"].values()
    checked = {
        node["name"]: node["config"]["meta"].get("dagster", {}).get("ref", {}).get("name")
        for node in nodes
        if node["resource_type"] == "test" and node["name"].startswith("assert_")
    }
    assert checked == {
        "assert_order_lines_add_up_to_order": "fact_order_details",
        "assert_daily_revenue_matches_raw_orders": "flat_order_details",
        "assert_rollups_match_order_lines": "agg_store_days",
    }

    monkeypatch.delenv("DAGSTER_IS_DEV_CLI")  # deployed code: never parsed at load
    parsed = project.manifest_path.stat().st_mtime_ns
    model = folder / "models" / "marts" / "core" / "dim_store.sql"
    os.utime(model, (parsed / 1e9 + 10, parsed / 1e9 + 10))
    prepare_if_dev_and_changed(project)
    assert project.manifest_path.stat().st_mtime_ns == parsed


def test_under_dg_a_broken_dbt_edit_is_dbts_message_from_this_process(tmp_path, monkeypatch, capfd):
    """The parse under `dg` runs in the loading process (no `dbt --version`, no dbt process):
    an edit dbt cannot parse fails the load with dbt's own words, printed as a dbt process
    prints them (no Python traceback)."""
    import dagster_dbt.core.resource
    from dagster_dbt.errors import DagsterDbtCliRuntimeError

    folder = tmp_path / "coffee_dbt"
    shutil.copytree(DBT_PROJECT_DIR, folder, ignore=shutil.ignore_patterns("target", "logs"))
    model = folder / "models" / "marts" / "core" / "dim_store.sql"
    model.write_text(model.read_text() + "\n{{ ref('no_such_model') }}\n")
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")

    def no_process(*args, **kwargs):
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr(subprocess, "Popen", no_process)  # how dagster-dbt starts dbt
    monkeypatch.setattr(dagster_dbt.core.resource, "check_output", no_process)  # dbt --version
    with pytest.raises(DagsterDbtCliRuntimeError, match="depends on a node named 'no_such_model'"):
        prepare_if_dev_and_changed(dbt_project("local", folder))
    printed = capfd.readouterr()
    assert "Encountered an error" in printed.out + printed.err
    assert "Traceback" not in printed.out + printed.err


def test_a_reversed_range_is_refused_before_any_step(defs):
    """`--partition-range 2025-01-03...2025-01-01`: Dagster's CLI checks that each end is a
    partition, not their order. The run fails as its resources are set up, with one line, and
    no step runs (the reference files and tables are not reloaded)."""
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("daily_refresh").execute_in_process(
            instance=instance,
            tags=partition_range_tags(date(2025, 1, 3), date(2025, 1, 1)),
            raise_on_error=False,
        )
        assert not result.success
        events = instance.all_logs(result.run_id)
    assert not [e for e in events if e.dagster_event and e.dagster_event.is_step_start]
    failures = [
        e.dagster_event.event_specific_data.error.message
        for e in events
        if e.dagster_event and e.dagster_event.event_type_value == "RESOURCE_INIT_FAILURE"
    ]
    assert failures and failures[0].strip() == (
        "dagster._core.definitions.events.Failure: the partition range 2025-01-03...2025-01-01 "
        "is reversed (it holds no day): write the earlier day first, 2025-01-01...2025-01-03"
    )


@pytest.mark.slow
def test_a_bad_setting_is_the_first_line_under_dg(tmp_path):
    """What `dg launch` (and `dg dev`'s code server) print when the definitions cannot load: the
    one line `coffee-settings` prints, first, before Dagster's traceback."""
    shutil.copy(DBT_PROJECT_DIR.parent / "dagster_home" / "dagster.yaml", tmp_path)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COFFEE_")}
    env = {
        **clean,
        "COFFEE_DATA_DIR": str(tmp_path / "data"),
        "COFFEE_SMTP_PORT": "abc",
        "DAGSTER_HOME": str(tmp_path),
    }
    result = subprocess.run(
        [str(Path(sys.executable).with_name("dg")), "launch", "--job", "daily_refresh",
         "--partition", "2025-01-01"],
        cwd=DBT_PROJECT_DIR.parent, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == (
        "Settings error: COFFEE_SMTP_PORT='abc' is not a port (1 to 65535)"
    )
