"""Alerts on failed checks, failed runs and missed freshness.

Channels are enabled by their environment variables (read when the definitions load; secrets
stay `EnvVar`s, so the UI never shows them):

- Slack: COFFEE_SLACK_TOKEN, COFFEE_SLACK_CHANNEL
- JSON webhook: COFFEE_ALERT_WEBHOOK_URL
- e-mail: COFFEE_SMTP_HOST, COFFEE_ALERT_EMAIL_FROM, COFFEE_ALERT_EMAIL_TO (comma-separated);
  optional COFFEE_SMTP_PORT, COFFEE_SMTP_USER, COFFEE_SMTP_PASSWORD, COFFEE_SMTP_TLS
- run links: COFFEE_DAGSTER_URL

(their defaults and checks: AlertSettings in coffee_assets/settings/alerts.py)

With none set, alerts go to the sensors' log.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg

from coffee_assets.defs.alerts.channels import (
    AlertChannels,
    SlackChannel,
    SmtpChannel,
    WebhookChannel,
)
from coffee_assets.settings import AlertSettings

ALERTS_RESOURCE = "alerts"


def alert_channels(source: AlertSettings | Mapping[str, str] | None = None) -> AlertChannels:
    """The channels the settings enable (read from the environment unless given). The settings
    have checked every value; secrets stay `EnvVar`s, resolved only in a run."""
    alerts = source if isinstance(source, AlertSettings) else AlertSettings.from_env(source)
    slack = webhook = email = None
    if alerts.slack:
        slack = SlackChannel(
            token=dg.EnvVar("COFFEE_SLACK_TOKEN"), channel=dg.EnvVar("COFFEE_SLACK_CHANNEL")
        )
    if alerts.webhook:
        webhook = WebhookChannel(url=dg.EnvVar("COFFEE_ALERT_WEBHOOK_URL"))
    if alerts.email:
        optional: dict[str, Any] = {}
        if alerts.smtp_login:
            optional["user"] = dg.EnvVar("COFFEE_SMTP_USER")
            optional["password"] = dg.EnvVar("COFFEE_SMTP_PASSWORD")
        email = SmtpChannel(
            host=dg.EnvVar("COFFEE_SMTP_HOST"),
            port=dg.EnvVar.int("COFFEE_SMTP_PORT")
            if alerts.is_set("COFFEE_SMTP_PORT")
            else alerts.smtp_port,
            tls=alerts.smtp_tls,
            sender=dg.EnvVar("COFFEE_ALERT_EMAIL_FROM"),
            recipients=dg.EnvVar("COFFEE_ALERT_EMAIL_TO"),
            **optional,
        )
    return AlertChannels(webhook=webhook, email=email, slack=slack, dagster_url=alerts.dagster_url)
