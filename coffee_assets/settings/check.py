"""`coffee-settings`: the settings checked in one line, as the scripts do first."""

from __future__ import annotations

import sys

from coffee_assets.settings.base import SettingsError
from coffee_assets.settings.pipeline import Settings, yesterday


def main(argv: list[str] | None = None) -> int:
    """`coffee-settings`: check the settings as a run would, in one line, before anything runs.

    Prints what the scripts ask (--data-dir: the local target's data folder; --history: the
    history's first and last day) or the error, naming the variable and the fix, and exits 1 on
    an error: no stack trace."""
    args = sys.argv[1:] if argv is None else argv
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"Settings error: {exc}", file=sys.stderr)
        return 1
    if args == ["--data-dir"]:
        print(settings.data_dir)
    elif args == ["--history"]:
        print(settings.start_date, yesterday())
    else:
        print(f"Settings OK: target {settings.target}, history from {settings.start_date}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
