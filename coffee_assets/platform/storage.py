"""Where CSV files and reports are written: the bucket.

The interface is deliberately small (write, read, URI), so a cloud bucket can stand in for the
local folder without touching the assets.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from coffee_assets.core.files import atomic_write
from coffee_assets.platform.partitions import check_run_range


class Bucket(dg.ConfigurableResource):
    """What the assets need of a bucket. Object keys are paths below the bucket's root."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        check_run_range(context)  # every step uses the bucket or the warehouse

    def uri(self, key: str) -> str:
        """Where an object lives, in the form the target's warehouse loads from."""
        raise NotImplementedError

    def write_bytes(self, key: str, data: bytes) -> str:
        """Write (or overwrite) an object whole and return its URI."""
        raise NotImplementedError

    def read_bytes(self, key: str) -> bytes:
        """An object's content; FileNotFoundError naming the URI when it does not exist."""
        raise NotImplementedError


class LocalFolderBucket(Bucket):
    """A local folder that plays the bucket's part on the `local` target."""

    root: str

    def _path(self, key: str) -> Path:
        path = (Path(self.root) / key).resolve()
        if Path(self.root).resolve() not in path.parents:
            raise ValueError(f"object key {key!r} escapes the bucket folder {self.root}")
        return path

    def uri(self, key: str) -> str:
        """Where the object lives, as the warehouse reads it (an absolute path here)."""
        return str(self._path(key))

    def write_bytes(self, key: str, data: bytes) -> str:
        """Write an object atomically (readers never see half a file) and return its URI."""
        return str(atomic_write(self._path(key), lambda tmp: tmp.write_bytes(data)))

    def read_bytes(self, key: str) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"no object {key!r} in the bucket folder: {path} is missing")
        return path.read_bytes()
