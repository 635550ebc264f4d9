import dagster as dg

from coffee_assets.defs.sources.assets import build_csv_assets
from coffee_assets.defs.sources.resources import generator_resource
from coffee_assets.platform.partitions import daily_partitions
from coffee_assets.platform.target import shared_resources
from coffee_assets.settings import current_settings


@dg.definitions
def defs() -> dg.Definitions:
    settings = current_settings()
    return dg.Definitions(
        assets=build_csv_assets(daily_partitions(settings.start_date)),
        resources={
            "storage": shared_resources(settings)["storage"],
            "generator": generator_resource(settings),
        },
    )
