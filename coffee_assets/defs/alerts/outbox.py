"""At-least-once delivery: an alert waits in its sensor's cursor until every channel took it.

An alert enters the outbox with the channels enabled at that moment. Each tick tries the alerts
whose next attempt is due, on the channels that have not accepted them yet: a channel that takes
an alert is done with it (it never gets it twice), a channel that fails (a Slack 500, an SMTP
server restarting, a webhook timeout) is tried again on a later tick: on the next one, then
after skipping 1, 3, 7 ... ticks (the daemon ticks the sensors every
COFFEE_ALERT_INTERVAL_SECONDS, a minute by default: 1, 2, 4, 8 ... minutes), at most 60 ticks
(an hour) apart, for RETRY_SECONDS (two days); only then the alert is given up
on that channel, said in the tick's log as an error. (Counting ticks rather than seconds keeps
the backoff the daemon's rhythm, and testable without a clock.) The outbox is part of the
sensor's cursor, which Dagster stores: a daemon restart keeps it. Every tick whose delivery
failed says so in its log and its result (the sensor's tick history in the UI: "2 alert(s)
waiting for webhook (HTTPError: HTTP Error 500 ...)").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from coffee_assets.core.alert import Alert
from coffee_assets.defs.alerts.channels import AlertChannels

RETRY_SECONDS = 2 * 24 * 3600
MAX_SKIPPED_TICKS = 59  # at most 60 ticks between tries: an hour at the default interval


def ticks_to_skip(attempts: int) -> int:
    """Ticks to let pass before the next try after `attempts` failed ones: 0, 1, 3, 7 ...,
    at most MAX_SKIPPED_TICKS."""
    return min(MAX_SKIPPED_TICKS, 2 ** max(0, attempts - 1) - 1)


@dataclass
class Pending:
    """An alert some channels have not taken yet."""

    alert: Alert
    channels: list[str]  # the channels still to take it
    since: float  # when it entered the outbox
    attempts: int = 0  # failed tries so far (on any of its channels)
    skip: int = 0  # ticks to let pass before the next try
    errors: dict[str, str] = field(default_factory=dict)  # channel -> its last error

    def to_state(self) -> dict[str, Any]:
        state = asdict(self)
        state["alert"] = self.alert.to_dict()
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Pending:
        return cls(**{**state, "alert": Alert.from_dict(state["alert"])})


@dataclass
class Delivery:
    """What one tick's delivery did."""

    delivered: int = 0  # alert-channel pairs taken
    failed: dict[str, str] = field(default_factory=dict)  # channel -> error, this tick
    waiting: int = 0  # alerts still in the outbox
    given_up: list[str] = field(default_factory=list)  # "alert key on channel"

    def summary(self) -> str:
        text = f"{self.delivered} delivery(ies)"
        if self.failed:
            text += (
                f"; {self.waiting} alert(s) waiting for "
                + ", ".join(f"{name} ({error})" for name, error in sorted(self.failed.items()))
                + ", tried again on a later tick"
            )
        elif self.waiting:
            text += f"; {self.waiting} alert(s) waiting for their next try"
        if self.given_up:
            text += f"; given up after {RETRY_SECONDS // 3600} h: {', '.join(self.given_up)}"
        return text


class Outbox:
    """The alerts not yet taken by every channel, oldest first."""

    def __init__(self, pending: Iterable[Pending] = ()) -> None:
        self.pending = list(pending)

    @classmethod
    def from_state(cls, state: list[dict[str, Any]] | None) -> Outbox:
        return cls(Pending.from_state(entry) for entry in state or [])

    def state(self) -> list[dict[str, Any]]:
        return [entry.to_state() for entry in self.pending]

    def add(self, alert: Alert, channels: Iterable[str], now: float) -> None:
        self.pending.append(Pending(alert, sorted(channels), since=now))

    def deliver(self, alerts: AlertChannels, log: Any, now: float) -> Delivery:
        """Try every due alert on the channels still to take it."""
        done = Delivery()
        kept = []
        for entry in self.pending:
            if entry.skip > 0:
                entry.skip -= 1
            else:
                self._try(entry, alerts, log, done)
            if entry.channels and now - entry.since > RETRY_SECONDS:
                for name in entry.channels:
                    done.given_up.append(f"{entry.alert.key} on {name}")
                    log.error(
                        f"alert {entry.alert.key} ({entry.alert.subject}) given up on {name} "
                        f"after {RETRY_SECONDS // 3600} h: {entry.errors.get(name)}"
                    )
                continue
            if entry.channels:
                kept.append(entry)
        self.pending = kept
        done.waiting = len(kept)
        return done

    @staticmethod
    def _try(entry: Pending, alerts: AlertChannels, log: Any, done: Delivery) -> None:
        left = []
        for name in entry.channels:
            try:
                alerts.send(name, entry.alert, log)
            except Exception as exc:  # any failure of a channel: kept for a later tick
                error = f"{type(exc).__name__}: {exc}"[:300]
                entry.errors[name] = error
                done.failed[name] = error
                left.append(name)
                log.error(
                    f"alert {entry.alert.key} could not be sent to {name} (try "
                    f"{entry.attempts + 1}): {error}"
                )
            else:
                done.delivered += 1
                entry.errors.pop(name, None)
                log.info(f"alert {entry.alert.key} ({entry.alert.subject}) sent to {name}")
        if left:
            entry.attempts += 1
            entry.skip = ticks_to_skip(entry.attempts)
        entry.channels = left
