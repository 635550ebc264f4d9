"""An alert and its renderings (plain text for e-mail and logs, Slack mrkdwn, JSON). Pure Python."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

CHECK_FAILED = "check_failed"
FRESHNESS_MISSED = "freshness_missed"
RUN_FAILED = "run_failed"
RESOLVED = "resolved"  # an incident announced before is over (a quarantined day lifted)

KIND_WORDS = {
    CHECK_FAILED: "Check failed",
    FRESHNESS_MISSED: "Freshness missed",
    RUN_FAILED: "Run failed",
    RESOLVED: "Resolved",
}


@dataclass(frozen=True)
class Alert:
    """One failure worth telling people about.

    `key` identifies the failure (a check execution or a run), so the same failure is never
    announced twice; `details` are the check's metadata (or the run's failed steps) as text.
    """

    key: str
    kind: str
    severity: str  # ERROR or WARN; OK for a resolved incident
    summary: str  # what was wrong, one line
    asset: str | None = None
    partition: str | None = None
    check: str | None = None
    job: str | None = None
    run_id: str | None = None
    run_url: str | None = None
    blocking: bool | None = None
    details: Mapping[str, str] = field(default_factory=dict)
    timestamp: float | None = None

    @property
    def subject(self) -> str:
        what = self.check or self.job or "run"
        where = f" on {self.asset}" if self.asset else ""
        when = f" ({self.partition})" if self.partition else ""
        return f"[coffee-shop][{self.severity}] {KIND_WORDS[self.kind]}: {what}{where}{when}"

    def _facts(self) -> list[tuple[str, str]]:
        facts = [("Severity", self.severity + (", blocking" if self.blocking else ""))]
        for label, value in [
            ("Asset", self.asset),
            ("Partition", self.partition),
            ("Check", self.check),
            ("Job", self.job),
            ("Run", self.run_url or self.run_id),
        ]:
            if value:
                facts.append((label, value))
        return facts

    def text(self) -> str:
        """Plain text: the e-mail body and the log line."""
        lines = [self.subject, "", f"What was wrong: {self.summary}", ""]
        lines += [f"{label}: {value}" for label, value in self._facts()]
        if self.details:
            lines += ["", "Details:"]
            for name, value in self.details.items():
                if "\n" in value:
                    lines.append(f"  {name}:")
                    lines += [f"    {line}" for line in value.splitlines()]
                else:
                    lines.append(f"  {name}: {value}")
        return "\n".join(lines)

    def slack_text(self) -> str:
        """Slack mrkdwn: bold subject, facts, details (tables in a code block), run link."""
        icon = {"ERROR": ":red_circle:", "OK": ":white_check_mark:"}.get(self.severity, ":warning:")
        lines = [f"{icon} *{self.subject}*", f"*What was wrong:* {self.summary}"]
        for label, value in self._facts():
            if label == "Run" and self.run_url:
                value = f"<{self.run_url}|{self.run_id}>"
            lines.append(f"*{label}:* {value}")
        for name, value in self.details.items():
            lines.append(f"*{name}:*\n```{value}```" if "\n" in value else f"*{name}:* {value}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """The alert's fields (what from_dict takes back)."""
        payload = asdict(self)
        payload["details"] = dict(self.details)
        return payload

    @classmethod
    def from_dict(cls, payload: Mapping[str, object]) -> Alert:
        return cls(**payload)  # type: ignore[arg-type]

    def to_json(self) -> str:
        payload = asdict(self)
        payload["details"] = dict(self.details)
        payload["subject"] = self.subject
        payload["text"] = self.text()
        return json.dumps(payload, sort_keys=True)
