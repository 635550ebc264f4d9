"""The gcp target's bucket: Google Cloud Storage through dagster-gcp's GCSResource.

Objects keep the local folder's layout. The CSV files, which the assets address below
settings.CSV_PREFIX ("csv_sources/..."), live below the bucket's `csv_prefix` (COFFEE_GCS_PREFIX,
by default the same csv_sources/); any other key (reports, ...) sits at the bucket's root.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from dagster_gcp import GCSResource
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from coffee_assets.core.project import CSV_PREFIX
from coffee_assets.platform.retry import TRANSIENT_RETRY
from coffee_assets.platform.storage import Bucket

CONTENT_TYPES = {
    ".csv": "text/csv",
    ".html": "text/html",
    ".json": "application/json",
    ".png": "image/png",
}


class CoffeeGCSResource(GCSResource):
    """dagster-gcp's GCSResource, which can also talk to a storage emulator.

    With `emulator_host` (STORAGE_EMULATOR_HOST, e.g. http://127.0.0.1:9023) the client uses
    that endpoint and anonymous credentials; otherwise Google's default credentials (ADC or
    GOOGLE_APPLICATION_CREDENTIALS), exactly as GCSResource.
    """

    emulator_host: str | None = None

    def get_client(self) -> storage.Client:
        if self.emulator_host:
            return storage.Client(
                project=self.project,
                credentials=AnonymousCredentials(),
                client_options={"api_endpoint": self.emulator_host},
            )
        return super().get_client()


def split_uri(uri: str) -> tuple[str, str]:
    """gs://bucket/some/key -> (bucket, some/key)."""
    if not uri.startswith("gs://") or "/" not in uri[5:]:
        raise ValueError(f"{uri!r} is not a gs://bucket/key URI")
    bucket, _, name = uri[5:].partition("/")
    return bucket, name


class GCSBucket(Bucket):
    """A GCS bucket. Writes replace an object whole (GCS uploads are atomic per object)."""

    gcs: CoffeeGCSResource
    bucket: str
    csv_prefix: str = CSV_PREFIX  # where the CSV files live inside the bucket, "" for the root

    def blob_name(self, key: str) -> str:
        """The object name of a key: csv_sources/... -> <csv_prefix>..., anything else as is."""
        parts = PurePosixPath(key).parts
        if not key or key.startswith("/") or ".." in parts or "." in parts:
            raise ValueError(f"object key {key!r} is not a relative path inside the bucket")
        if key.startswith(CSV_PREFIX):
            return self.csv_prefix + key[len(CSV_PREFIX) :]
        return key

    def uri(self, key: str) -> str:
        return f"gs://{self.bucket}/{self.blob_name(key)}"

    def _blob(self, key: str) -> storage.Blob:
        return self.gcs.get_client().bucket(self.bucket).blob(self.blob_name(key))

    def write_bytes(self, key: str, data: bytes) -> str:
        """Upload (or overwrite) an object. Retried on transient errors: a whole-object upload is
        idempotent, though the client retries unconditional uploads only when told so."""
        content_type = CONTENT_TYPES.get(
            PurePosixPath(key).suffix.lower(), "application/octet-stream"
        )
        try:
            self._blob(key).upload_from_string(
                data, content_type=content_type, retry=TRANSIENT_RETRY
            )
        except gexc.NotFound as exc:
            raise FileNotFoundError(
                f"cannot write {self.uri(key)}: {exc.message} (is COFFEE_GCS_BUCKET="
                f"{self.bucket!r} an existing bucket of the project?)"
            ) from None
        return self.uri(key)

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._blob(key).download_as_bytes(retry=TRANSIENT_RETRY)
        except gexc.NotFound:
            raise FileNotFoundError(f"{self.uri(key)} does not exist") from None
