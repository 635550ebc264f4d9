"""The import's manifest: which days of the bucket hold imported files.

`coffee-import` writes it last, after every file, at csv_sources/_imported.json. While it is
there the CSV assets keep the imported days as they are (they never generate over them) and
refuse days outside the imported range, so synthetic days never mix with imported ones; the
schedule stops catching up at the imported range's last day.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Protocol

from coffee_assets.core.project import CSV_PREFIX

MANIFEST_KEY = CSV_PREFIX + "_imported.json"


class ReadsBytes(Protocol):
    def read_bytes(self, key: str) -> bytes: ...


@dataclass(frozen=True)
class ImportManifest:
    source: str
    imported_at: str  # ISO timestamp, UTC
    first_day: date
    last_day: date
    rows: dict[str, dict[str, int]]  # daily table -> {day: rows}
    reference_rows: dict[str, int]
    findings: list[str] = field(default_factory=list)  # what broke the rules (all repaired)
    changes: list[str] = field(default_factory=list)  # what the repairs changed

    def covers(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day

    @property
    def label(self) -> str:
        return f"imported from {self.source} at {self.imported_at}"

    def to_json(self) -> bytes:
        data = asdict(self)
        data["first_day"], data["last_day"] = str(self.first_day), str(self.last_day)
        return json.dumps(data, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> ImportManifest:
        raw = json.loads(data)
        raw["first_day"] = date.fromisoformat(raw["first_day"])
        raw["last_day"] = date.fromisoformat(raw["last_day"])
        return cls(**raw)


def read_manifest(storage: ReadsBytes) -> ImportManifest | None:
    """The bucket's import manifest, or None when its CSV files are the generator's."""
    try:
        return ImportManifest.from_json(storage.read_bytes(MANIFEST_KEY))
    except FileNotFoundError:
        return None
