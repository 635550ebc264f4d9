"""Which Google Cloud errors are worth retrying, and the retry policy the gcp resources use.

Transient: 429 (too many requests), every 5xx, BigQuery's rate-limit and backend errors (which
BigQuery reports as 403 rateLimitExceeded / 400 backendError inside job errors), and broken
connections. Every other 4xx (bad request, not found, forbidden, conflict) means the request is
wrong and would fail again, so it is raised at once.
"""

from __future__ import annotations

import http.client

import requests
from google.api_core import exceptions as gexc
from google.api_core.retry import Retry
from google.auth import exceptions as auth_exceptions

# Reasons BigQuery gives for failures that go away on a retry.
TRANSIENT_REASONS = frozenset({"rateLimitExceeded", "backendError", "internalError"})
CONNECTION_ERRORS = (
    ConnectionError,  # ConnectionResetError, ConnectionRefusedError, BrokenPipeError, ...
    TimeoutError,
    http.client.RemoteDisconnected,
    http.client.IncompleteRead,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.Timeout,
    auth_exceptions.TransportError,
)


def _reasons(exc: gexc.GoogleAPICallError) -> set[str]:
    return {error.get("reason", "") for error in (exc.errors or []) if isinstance(error, dict)}


def is_transient(exc: BaseException) -> bool:
    """True for errors a later attempt can cure (429, 5xx, rate limits, dropped connections)."""
    if isinstance(exc, gexc.GoogleAPICallError):
        code = exc.code or 0
        if code == 429 or code >= 500:
            return True
        return bool(_reasons(exc) & TRANSIENT_REASONS)
    return isinstance(exc, CONNECTION_ERRORS)


def transient_retry(
    initial: float = 1.0, maximum: float = 32.0, multiplier: float = 2.0, timeout: float = 600.0
) -> Retry:
    """Exponential backoff with jitter (google.api_core's Retry) on `is_transient` errors."""
    return Retry(
        predicate=is_transient,
        initial=initial,
        maximum=maximum,
        multiplier=multiplier,
        timeout=timeout,
    )


TRANSIENT_RETRY = transient_retry()
