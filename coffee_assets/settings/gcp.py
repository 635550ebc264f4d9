"""The gcp target's variables: Google Cloud Storage, BigQuery, dbt's sign-in, the emulators."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, ClassVar

from pydantic import field_validator, model_validator

from coffee_assets.core.project import CSV_PREFIX, DBT_SCHEMA, RAW_SCHEMA
from coffee_assets.settings.base import EnvSettings, env_field, one_of

# Names the validators check against (Google's rules, and the emulators' endpoints as Google's
# client libraries read them: with the http:// scheme).
BQ_METHODS = ("oauth", "service-account")
_PROJECT_ID = re.compile(r"[a-z][-a-z0-9.:]{4,62}[a-z0-9]")
_BUCKET_NAME = re.compile(r"[a-z0-9][-a-z0-9_.]{1,220}[a-z0-9]")
_DATASET = re.compile(r"[A-Za-z0-9_]{1,1024}")
_PREFIX = re.compile(r"([-A-Za-z0-9_.=]+/)*")
_ENDPOINT = re.compile(r"https?://[^/\s]+/?")


def _matching(variable: str, value: str, pattern: re.Pattern[str], expected: str) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f"{variable}={value!r} is not {expected}")
    return value


class GcpSettings(EnvSettings):
    """The gcp target's settings, read and checked only on COFFEE_TARGET=gcp, once, when the
    definitions load: a missing or malformed variable is reported by name before any client is
    built. The resources take the values that are set as `dg.EnvVar`s (platform/target.py), so
    the UI shows which variable a value comes from, not the value."""

    missing_message: ClassVar[str] = (
        "COFFEE_TARGET=gcp needs {names} (missing or empty; see README.md, 'Running against a "
        "real Google Cloud project')"
    )

    project: str = env_field("COFFEE_GCP_PROJECT", ..., "the Google Cloud project")
    bucket: str = env_field("COFFEE_GCS_BUCKET", ..., "the bucket the CSV files go to")
    prefix: str = env_field(
        "COFFEE_GCS_PREFIX", CSV_PREFIX, "the CSV files' folder in the bucket (one trailing /)"
    )
    location: str = env_field("COFFEE_BQ_LOCATION", ..., "the datasets' BigQuery location")
    raw_dataset: str = env_field("COFFEE_BQ_RAW_DATASET", RAW_SCHEMA, "the raw tables' dataset")
    dbt_dataset: str = env_field("COFFEE_BQ_DBT_DATASET", DBT_SCHEMA, "dbt's dataset")
    method: str = env_field(
        "COFFEE_BQ_METHOD",
        "oauth",
        "dbt's BigQuery sign-in: oauth (application-default credentials) or service-account",
    )
    usd_per_tib: float = env_field(
        "COFFEE_BQ_USD_PER_TIB",
        6.25,
        "BigQuery's on-demand price in US dollars per TiB billed (2026, the US and EU "
        "multi-regions; 0 for a capacity reservation): the cost each asset's metadata shows",
    )
    credentials: str | None = env_field(
        "GOOGLE_APPLICATION_CREDENTIALS", None, "a service account's key file"
    )
    storage_emulator_host: str | None = env_field(
        "STORAGE_EMULATOR_HOST", None, "the GCS emulator's endpoint (without a trailing /)"
    )
    bigquery_emulator_host: str | None = env_field(
        "BIGQUERY_EMULATOR_HOST", None, "the BigQuery emulator's endpoint, likewise"
    )

    @field_validator("project")
    @classmethod
    def _project(cls, value: str) -> str:
        expected = "a Google Cloud project id such as my-project-123"
        return _matching("COFFEE_GCP_PROJECT", value, _PROJECT_ID, expected)

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        expected = "a bucket name, without gs:// or a path"
        return _matching("COFFEE_GCS_BUCKET", value, _BUCKET_NAME, expected)

    @field_validator("raw_dataset", "dbt_dataset")
    @classmethod
    def _dataset(cls, value: str, info: Any) -> str:
        variable = cls.model_fields[info.field_name].validation_alias
        return _matching(str(variable), value, _DATASET, "a dataset name (letters, digits, _)")

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        prefix = value.strip("/")
        prefix = f"{prefix}/" if prefix else ""
        if not _PREFIX.fullmatch(prefix) or {".", ".."} & set(prefix.split("/")):
            raise ValueError(
                f"COFFEE_GCS_PREFIX={value!r} is not a folder-like prefix such as csv_sources/ "
                "(letters, digits, - _ . = and /)"
            )
        return prefix

    @field_validator("method", mode="before")
    @classmethod
    def _method(cls, value: Any) -> str:
        return one_of("COFFEE_BQ_METHOD", value, BQ_METHODS)

    @field_validator("usd_per_tib", mode="before")
    @classmethod
    def _price(cls, value: Any) -> float:
        try:
            price = float(value)
        except (TypeError, ValueError):
            price = math.nan
        if not 0 <= price < 1000:
            raise ValueError(
                f"COFFEE_BQ_USD_PER_TIB={value!r} is not a price per TiB in US dollars "
                f"(on demand: {cls.default_of('COFFEE_BQ_USD_PER_TIB')}; 0 for a capacity "
                "reservation)"
            )
        return price

    @field_validator("credentials")
    @classmethod
    def _credentials(cls, value: str | None) -> str | None:
        if value and not Path(value).expanduser().is_file():
            raise ValueError(
                f"GOOGLE_APPLICATION_CREDENTIALS={value!r}: no such file (a service account key "
                "file; unset it to use application-default credentials)"
            )
        return value

    @field_validator("storage_emulator_host", "bigquery_emulator_host")
    @classmethod
    def _endpoint(cls, value: str | None, info: Any) -> str | None:
        if value and not _ENDPOINT.fullmatch(value):
            variable = cls.model_fields[info.field_name].validation_alias
            raise ValueError(
                f"{variable}={value!r}: expected an endpoint with its scheme, e.g. "
                "http://127.0.0.1:9023 (Google's clients need the http:// prefix)"
            )
        return value.rstrip("/") if value else None

    @model_validator(mode="after")
    def _together(self) -> GcpSettings:
        if self.raw_dataset == self.dbt_dataset:
            raise ValueError(
                "COFFEE_BQ_RAW_DATASET and COFFEE_BQ_DBT_DATASET must differ "
                f"(both {self.raw_dataset!r})"
            )
        if self.method == "service-account" and not self.credentials:
            raise ValueError(
                "COFFEE_BQ_METHOD=service-account needs GOOGLE_APPLICATION_CREDENTIALS "
                "(the service account's key file)"
            )
        return self
