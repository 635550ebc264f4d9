"""Alerts on failed checks, failed runs and missed freshness.

Channels are enabled by their environment variables (read when the definitions load; secrets
stay `EnvVar`s, so the UI never shows them):

- Slack: COFFEE_SLACK_TOKEN, COFFEE_SLACK_CHANNEL
- JSON webhook: COFFEE_ALERT_WEBHOOK_URL
- e-mail: COFFEE_SMTP_HOST, COFFEE_ALERT_EMAIL_FROM, COFFEE_ALERT_EMAIL_TO (comma-separated);
  optional COFFEE_SMTP_PORT (587), COFFEE_SMTP_USER, COFFEE_SMTP_PASSWORD,
  COFFEE_SMTP_TLS (starttls, ssl or none; starttls)
- run links: COFFEE_DAGSTER_URL (http://localhost:3000)

With none set, alerts go to the sensors' log.
"""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg

from coffee_assets.alerts.channels import (
    TLS_MODES,
    AlertChannels,
    SlackChannel,
    SmtpChannel,
    WebhookChannel,
)
from coffee_assets.alerts.message import Alert
from coffee_assets.alerts.sensors import build_check_alert_sensor, build_run_failure_alert_sensor
from coffee_assets.settings import SettingsError

__all__ = [
    "Alert",
    "AlertChannels",
    "SlackChannel",
    "SmtpChannel",
    "WebhookChannel",
    "alert_channels",
    "alert_resources",
    "build_alert_sensors",
]

ALERTS_RESOURCE = "alerts"


def build_alert_sensors() -> list[dg.SensorDefinition]:
    return [build_check_alert_sensor(), build_run_failure_alert_sensor()]


def _all_or_none(env: Mapping[str, str], channel: str, names: list[str]) -> bool:
    present = [name for name in names if env.get(name)]
    if present and len(present) < len(names):
        missing = [name for name in names if name not in present]
        raise SettingsError(
            f"{channel} alerts: {', '.join(present)} set but {', '.join(missing)} not"
        )
    return bool(present)


def alert_channels(environ: Mapping[str, str] | None = None) -> AlertChannels:
    """The channels the environment enables (a half-configured channel is an error)."""
    env = os.environ if environ is None else environ
    slack = webhook = email = None
    if _all_or_none(env, "Slack", ["COFFEE_SLACK_TOKEN", "COFFEE_SLACK_CHANNEL"]):
        slack = SlackChannel(
            token=dg.EnvVar("COFFEE_SLACK_TOKEN"), channel=dg.EnvVar("COFFEE_SLACK_CHANNEL")
        )
    if env.get("COFFEE_ALERT_WEBHOOK_URL"):
        webhook = WebhookChannel(url=dg.EnvVar("COFFEE_ALERT_WEBHOOK_URL"))
    smtp = ["COFFEE_SMTP_HOST", "COFFEE_ALERT_EMAIL_FROM", "COFFEE_ALERT_EMAIL_TO"]
    if _all_or_none(env, "E-mail", smtp):
        optional: dict[str, Any] = {}
        if env.get("COFFEE_SMTP_PORT"):
            if not env["COFFEE_SMTP_PORT"].strip().isdigit():
                raise SettingsError(f"COFFEE_SMTP_PORT={env['COFFEE_SMTP_PORT']!r} is not a port")
            optional["port"] = dg.EnvVar.int("COFFEE_SMTP_PORT")
        if env.get("COFFEE_SMTP_USER"):
            optional["user"] = dg.EnvVar("COFFEE_SMTP_USER")
        if env.get("COFFEE_SMTP_PASSWORD"):
            optional["password"] = dg.EnvVar("COFFEE_SMTP_PASSWORD")
        if env.get("COFFEE_SMTP_TLS"):
            tls = env["COFFEE_SMTP_TLS"].strip().lower()
            if tls not in TLS_MODES:
                raise SettingsError(f"COFFEE_SMTP_TLS={tls!r}: expected one of {TLS_MODES}")
            optional["tls"] = tls
        email = SmtpChannel(
            host=dg.EnvVar("COFFEE_SMTP_HOST"),
            sender=dg.EnvVar("COFFEE_ALERT_EMAIL_FROM"),
            recipients=dg.EnvVar("COFFEE_ALERT_EMAIL_TO"),
            **optional,
        )
    return AlertChannels(
        webhook=webhook,
        email=email,
        slack=slack,
        dagster_url=env.get("COFFEE_DAGSTER_URL") or "http://localhost:3000",
    )


def alert_resources(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {ALERTS_RESOURCE: alert_channels(environ)}
