"""Resources, and the one place that picks them by target (`build_resources`)."""

from __future__ import annotations

from typing import Any

from coffee_assets.resources.dbt import dbt_cli_resource
from coffee_assets.resources.generator import CoffeeGenerator
from coffee_assets.resources.storage import Bucket, LocalFolderBucket
from coffee_assets.resources.warehouse import DuckDBWarehouse, RawLoadError, Warehouse
from coffee_assets.settings import Settings

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
            "warehouse": DuckDBWarehouse(path=str(settings.duckdb_path)),
            "dbt": dbt,
            "generator": generator,
        }
    raise NotImplementedError(
        f"COFFEE_TARGET={settings.target!r} is not available yet: only 'local' is implemented"
    )
