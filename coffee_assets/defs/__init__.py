"""The code location's definitions, one folder per layer of the lineage, in its order:

runs/       the run books every warehouse step names, and the run_health sensor
sources/    the CSV files in the bucket (generated, or kept after coffee-import)
raw/        the raw tables loaded from them, and their checks
business/   each store's day judged by its own history (the anomaly checks)
dbt/        the dbt project's models, their tests as checks, the marts' checks
reports/    the sales and customer reports
schedules/  daily_refresh and its morning schedule
alerts/     the alert channels and the sensors that use them

resources.py builds every resource the layers name, once (the layers declare none).

Each folder's definitions.py builds the layer for the settings in use
(coffee_assets.settings.current_settings); a file `dg scaffold defs` adds anywhere below this
folder loads with them. coffee_assets/definitions.py puts them together.
"""
