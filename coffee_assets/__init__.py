"""Coffee-shop analytics: Dagster assets from synthetic CSV files to dbt marts."""

import warnings

import dagster as dg

# Features this project uses on purpose, whose stability labels Dagster would otherwise repeat at
# every definitions load (here, once, with the reason):
# - single-run backfills (`backfill_policy`, beta): a range is one run and one dbt invocation;
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)
# - partitioned asset checks (preview): a daily check records which day is bad.
warnings.filterwarnings(
    "ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning
)
# - dagster-dbt imports sqlglot's Rust tokenizer, which announces its own deprecation.
warnings.filterwarnings("ignore", message="sqlglotrs is deprecated", category=DeprecationWarning)
