"""Dagster asset checks on every layer (issue 4)."""

import dagster as dg

from coffee_assets.settings import Settings


def build_asset_checks(
    settings: Settings, partitions_def: dg.PartitionsDefinition, *, pool: str | None
) -> list[dg.AssetChecksDefinition]:
    return []  # WIP (issue 4)
