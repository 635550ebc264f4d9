"""What a warehouse job cost, as metadata the UI plots per materialization: BigQuery's bytes
processed and billed, slot time, and the bytes billed at the on-demand price.

dbt-bigquery reports each model's and test's job in its adapter response (run_results.json);
the raw loader reports its own load and query jobs. On DuckDB there is nothing to bill: no
metadata. BigQuery bills at least 10 MB per query (and per table it reads); `bytes_billed`
already holds that rounding, so the cost is bytes billed x the price per TiB (2^40 bytes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg

TIB = 2**40

# The metadata keys, one home: the raw loader, the dbt assets and the bench read them.
BYTES_PROCESSED = "bigquery/bytes_processed"
BYTES_BILLED = "bigquery/bytes_billed"
SLOT_MS = "bigquery/slot_ms"
COST_USD = "bigquery/cost_usd"
JOBS = "bigquery/jobs"
LOADED_BYTES = "bigquery/loaded_bytes"  # what a load job wrote (load jobs are not billed)


def usd(bytes_billed: int, usd_per_tib: float) -> float:
    """The on-demand cost of `bytes_billed`, in US dollars."""
    return bytes_billed / TIB * usd_per_tib


def job_url(project: str, location: str, job_id: str) -> str:
    """The job's page in the Google Cloud console."""
    return (
        f"https://console.cloud.google.com/bigquery?project={project}"
        f"&j=bq:{location}:{job_id}&page=queryresults"
    )


def cost_metadata(
    responses: Iterable[Mapping[str, Any]], usd_per_tib: float
) -> dict[str, dg.MetadataValue]:
    """The summed cost of BigQuery jobs, each described as dbt-bigquery's adapter response
    describes one (bytes_processed, bytes_billed, slot_ms, job_id, project_id, location; missing
    figures count as 0, as the BigQuery emulator reports them). Empty when no job is BigQuery's
    (DuckDB's responses hold none of these)."""
    jobs = [r for r in responses if "bytes_billed" in r or "bytes_processed" in r]
    if not jobs:
        return {}
    billed = sum(int(r.get("bytes_billed") or 0) for r in jobs)
    processed = sum(int(r.get("bytes_processed") or 0) for r in jobs)
    metadata: dict[str, dg.MetadataValue] = {
        BYTES_PROCESSED: dg.MetadataValue.int(processed),
        BYTES_BILLED: dg.MetadataValue.int(billed),
        SLOT_MS: dg.MetadataValue.int(sum(int(r.get("slot_ms") or 0) for r in jobs)),
        COST_USD: dg.MetadataValue.float(round(usd(billed, usd_per_tib), 6)),
        JOBS: dg.MetadataValue.int(len(jobs)),
    }
    if len(jobs) == 1 and jobs[0].get("job_id"):
        job = jobs[0]
        if job.get("project_id") and job.get("location"):
            metadata["bigquery/job"] = dg.MetadataValue.url(
                job_url(job["project_id"], job["location"], job["job_id"])
            )
        else:
            metadata["bigquery/job"] = dg.MetadataValue.text(str(job["job_id"]))
    return metadata
