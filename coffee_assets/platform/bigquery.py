"""BigQuery's client side: dagster-gcp's resource (which can also talk to the emulator), quoted
identifiers, retried jobs, what a failed load job says, and a client that records the jobs it
starts (for the cost metadata)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from dagster_gcp import BigQueryResource
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery
from google.cloud.bigquery import Client as BigQueryClient

from coffee_assets.platform.retry import TRANSIENT_RETRY

MAX_LOAD_ERRORS_SHOWN = 3
T = TypeVar("T")


class CoffeeBigQueryResource(BigQueryResource):
    """dagster-gcp's BigQueryResource, which can also talk to a BigQuery emulator.

    BigQueryResource builds its client with Google's default credentials only. With
    `emulator_host` (BIGQUERY_EMULATOR_HOST, e.g. http://127.0.0.1:9050) the client uses that
    endpoint and anonymous credentials instead.
    """

    emulator_host: str | None = None

    @contextmanager
    def get_client(self) -> Iterator[bigquery.Client]:
        if not self.emulator_host:
            with super().get_client() as client:
                yield client
            return
        client = bigquery.Client(
            project=self.project,
            location=self.location,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.emulator_host},
        )
        try:
            yield client
        finally:
            client.close()


def bq(identifier: str) -> str:
    """A backquoted BigQuery identifier (path parts joined by dots inside one pair)."""
    return "`" + identifier.replace("\\", "\\\\").replace("`", "\\`") + "`"


def run_with_retry(action: Callable[[], T]) -> T:
    """Run an action that submits a job and waits for it, again from the start (a new job) on
    transient errors. Every action here is idempotent: WRITE_TRUNCATE loads, a MERGE that
    replaces a fixed set of days, reads."""
    return TRANSIENT_RETRY(action)()


def _first_lines(message: str, lines: int = 3) -> str:
    """A job error's message without the emulator's (DuckDB's) list of reader options."""
    kept: list[str] = []
    for line in message.splitlines():
        if not line.strip():
            if kept:
                break
            continue
        kept.append(line.strip())
    return " | ".join(kept[:lines])


def load_error_summary(
    job: bigquery.LoadJob | None, exc: BaseException, uris: Sequence[str] = ()
) -> str:
    """BigQuery's reasons for a failed load: each error's message, with its location (the file)
    unless a single file was loaded (the caller names it already)."""
    errors = [e for e in (getattr(job, "errors", None) or []) if isinstance(e, dict)]
    shown = []
    for error in errors:
        text = _first_lines(error.get("message", ""))
        if not text or "too many errors, giving up" in text:
            continue  # BigQuery's summary lines; the errors around them say what is wrong
        location = error.get("location")
        named = not location or location in text or list(uris) == [location]
        entry = text if named else f"{location}: {text}"
        if entry not in shown:
            shown.append(entry)
    if not shown:
        shown = [_first_lines(getattr(exc, "message", None) or str(exc))]
    more = len(shown) - MAX_LOAD_ERRORS_SHOWN
    return " || ".join(shown[:MAX_LOAD_ERRORS_SHOWN]) + (f" (+{more} more)" if more > 0 else "")


class JobRecorder:
    """A BigQuery client that keeps every job it starts (the load's queries and load jobs), so a
    load can say what it cost (platform/costs.py); everything else is the client's."""

    def __init__(self, client: BigQueryClient):
        self._client = client
        self.jobs: list[bigquery.QueryJob | bigquery.LoadJob] = []

    def query(self, *args: Any, **kwargs: Any) -> bigquery.QueryJob:
        job = self._client.query(*args, **kwargs)
        self.jobs.append(job)
        return job

    def load_table_from_uri(self, *args: Any, **kwargs: Any) -> bigquery.LoadJob:
        job = self._client.load_table_from_uri(*args, **kwargs)
        self.jobs.append(job)
        return job

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def responses(self) -> list[dict[str, Any]]:
        """Each query job as dbt-bigquery's adapter response describes one (load jobs are not
        billed: their bytes are what they wrote, kept apart)."""
        return [
            {
                "bytes_processed": job.total_bytes_processed,
                "bytes_billed": job.total_bytes_billed,
                "slot_ms": job.slot_millis,
                "job_id": job.job_id,
                "project_id": job.project,
                "location": job.location,
            }
            for job in self.jobs
            if isinstance(job, bigquery.QueryJob)
        ]

    def loaded_bytes(self) -> int:
        return sum(job.output_bytes or 0 for job in self.jobs if isinstance(job, bigquery.LoadJob))
