"""What a generated day depends on besides its date: the seed, the history's first day and the
volume profile. Light to import (no numpy or pyarrow): the settings build one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from coffee_assets.core.dates import as_date
from coffee_assets.core.generator.profiles import REALISTIC, VolumeProfile


@dataclass(frozen=True)
class GeneratorConfig:
    """What a day's rows depend on, besides the date."""

    seed: int = 42
    history_start: date = date(2025, 1, 1)
    profile: VolumeProfile = field(default=REALISTIC)

    def __post_init__(self) -> None:
        seed = self.seed
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
            raise ValueError(f"seed must be an integer in [0, 2**63), got {seed!r}")
        object.__setattr__(self, "history_start", as_date(self.history_start, "history_start"))
        if not isinstance(self.profile, VolumeProfile):
            raise ValueError(f"profile must be a VolumeProfile, got {self.profile!r}")
