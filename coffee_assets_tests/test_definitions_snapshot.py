"""A golden snapshot of what the code location defines: asset keys, groups, kinds, partitions,
freshness, owners, checks, jobs, schedules and sensors, kept by syrupy. A rename, a lost check or
a changed partitioning shows up as a reviewed diff of the snapshot file (SNAPSHOT).

After an intended change: bash scripts/test.sh -k snapshot --snapshot-update
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from coffee_assets.definitions import build_definitions
from coffee_assets.settings import Settings

# Where syrupy keeps it (its JSON extension: one file per test); test_image_build.py reads it too.
SNAPSHOT = (
    Path(__file__).parent / "__snapshots__" / Path(__file__).stem
    / "test_definitions_match_the_snapshot.json"
)  # fmt: skip


def describe(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for node in sorted(graph.asset_nodes, key=lambda n: n.key.to_user_string()):
        if not node.is_materializable:
            continue
        assets[node.key.to_user_string()] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "partitions": type(node.partitions_def).__name__ if node.partitions_def else None,
            "freshness": type(node.freshness_policy).__name__ if node.freshness_policy else None,
            "deps": sorted(key.to_user_string() for key in node.parent_keys),
            "owners": sorted(node.owners),
        }
    checks = {}
    for key in sorted(graph.asset_check_keys, key=lambda k: k.to_user_string()):
        spec = graph.get_check_spec(key)
        checks[key.to_user_string()] = {
            "blocking": spec.blocking,
            "partitioned": spec.partitions_def is not None,
        }
    job = defs.resolve_job_def("daily_refresh")
    return {
        "assets": assets,
        "checks": checks,
        "jobs": {
            "daily_refresh": {
                "executor": job.executor_def.name,
                "partitions": type(job.partitions_def).__name__,
                "assets": len(job.asset_layer.executable_asset_keys),
            }
        },
        "schedules": {
            schedule.name: {
                "job": schedule.job_name,
                "cron": schedule.cron_schedule,
                "timezone": schedule.execution_timezone,
            }
            for schedule in (defs.resolve_schedule_def(s.name) for s in defs.schedules or [])
        },
        "sensors": sorted(sensor.name for sensor in defs.sensors or []),
    }


@pytest.fixture
def json_snapshot(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


def test_definitions_match_the_snapshot(tmp_path, json_snapshot):
    assert describe(build_definitions(Settings(data_dir=tmp_path))) == json_snapshot
