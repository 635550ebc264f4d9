"""Which settings the code location is being built for."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from coffee_assets.settings.pipeline import Settings

_IN_USE: ContextVar[Settings | None] = ContextVar("coffee_settings", default=None)


@contextmanager
def settings_in_use(settings: Settings) -> Iterator[Settings]:
    """Build definitions for these settings: what `current_settings` returns meanwhile."""
    token = _IN_USE.set(settings)
    try:
        yield settings
    finally:
        _IN_USE.reset(token)


def current_settings() -> Settings:
    """The settings the code location is being built for: those `build_definitions` was given
    (tests build isolated locations that way), else the environment's. Each layer of defs/ asks
    for them when Dagster loads the defs folder."""
    return _IN_USE.get() or Settings.from_env()
