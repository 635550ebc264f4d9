"""The coffee chain's synthetic data generator: pure Python, numpy and pyarrow, no Dagster.

from coffee_assets.core.generator.config import GeneratorConfig
from coffee_assets.core.generator.core import generate_day
from coffee_assets.core.generator.writer import write_day
data = generate_day(GeneratorConfig(seed=42), date(2025, 1, 1))
write_day(Path("data/csv_sources"), data)

Import from the modules: this package imports none of them, so what needs only a profile or a
GeneratorConfig (the settings, which every script checks first with `coffee-settings`) does not
import numpy, pyarrow and pandas, a second of CPU each time.
"""
