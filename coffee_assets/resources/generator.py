"""The data generator's settings as a resource, so the UI shows what produced the CSV files."""

from __future__ import annotations

from datetime import date

import dagster as dg

from coffee_assets.generator import GeneratorConfig, get_profile


class CoffeeGenerator(dg.ConfigurableResource):
    """Seed, history start and volume of the synthetic coffee-shop data."""

    seed: int = 42
    history_start: str = "2025-01-01"
    profile: str = "realistic"
    orders_per_day: float | None = None

    def config(self) -> GeneratorConfig:
        return GeneratorConfig(
            seed=self.seed,
            history_start=date.fromisoformat(self.history_start),
            profile=get_profile(self.profile, self.orders_per_day),
        )
