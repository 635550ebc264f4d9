"""The coffee chain's synthetic data generator: pure Python, numpy and pyarrow, no Dagster.

from coffee_assets.core.generator import GeneratorConfig, generate_day, write_day
data = generate_day(GeneratorConfig(seed=42), date(2025, 1, 1))
write_day(Path("data/csv_sources"), data)
"""

from coffee_assets.core.generator.core import DayData, GeneratorConfig, generate_day, generate_range
from coffee_assets.core.generator.events import reference_tables
from coffee_assets.core.generator.profiles import PROFILES, Season, VolumeProfile, get_profile
from coffee_assets.core.generator.writer import (
    RangeSummary,
    to_csv_bytes,
    write_day,
    write_files,
    write_range,
    write_reference,
)

__all__ = [
    "PROFILES",
    "DayData",
    "GeneratorConfig",
    "RangeSummary",
    "Season",
    "VolumeProfile",
    "generate_day",
    "generate_range",
    "get_profile",
    "reference_tables",
    "to_csv_bytes",
    "write_day",
    "write_files",
    "write_range",
    "write_reference",
]
