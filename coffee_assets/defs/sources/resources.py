"""The data generator's settings as a resource, so the UI shows what produced the CSV files."""

from __future__ import annotations

from datetime import date

import dagster as dg

from coffee_assets.core.generator.config import GeneratorConfig
from coffee_assets.core.generator.profiles import get_profile
from coffee_assets.settings import Settings


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


def generator_resource(settings: Settings) -> CoffeeGenerator:
    """The generator of the settings."""
    return CoffeeGenerator(
        seed=settings.seed,
        history_start=settings.start_date.isoformat(),
        profile=settings.volume_profile,
        orders_per_day=settings.orders_per_day,
    )
