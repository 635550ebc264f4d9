"""Coffee-shop analytics: Dagster assets from synthetic CSV files to dbt marts."""

import warnings

# Features this project uses on purpose, whose stability labels Dagster would otherwise repeat at
# every definitions load (here, once, with the reason). Matched by message, not by Dagster's
# warning classes: importing dagster here would cost every entry point of the package ~2 s.
# - single-run backfills (`backfill_policy`, beta): a range is one run and one dbt invocation;
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`")
# - partitioned asset checks (preview): a daily check records which day is bad.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")
# - code references (beta): the UI links each asset to its source file.
warnings.filterwarnings("ignore", message=".*with_source_code_references")
warnings.filterwarnings("ignore", message=".*link_code_references_to_git")
warnings.filterwarnings("ignore", message=".*(AnchorBasedFilePathMapping|CodeReference)")
# - dagster-dbt imports sqlglot's Rust tokenizer, which announces its own deprecation.
warnings.filterwarnings("ignore", message="sqlglotrs is deprecated", category=DeprecationWarning)
