"""The alert channels' variables (Slack, a webhook, e-mail) and the UI's address for run links."""

from __future__ import annotations

import re
from typing import Any

from pydantic import SecretStr, field_validator, model_validator

from coffee_assets.settings.base import EnvSettings, check_url, env_field, one_of, whole_number

TLS_MODES = ("starttls", "ssl", "none")
_EMAIL = re.compile(r"[^@\s,]+@[^@\s,]+")
# A channel is on when all its variables are set, off when none is; anything between is an error.
SLACK = ("COFFEE_SLACK_TOKEN", "COFFEE_SLACK_CHANNEL")
EMAIL = ("COFFEE_SMTP_HOST", "COFFEE_ALERT_EMAIL_FROM", "COFFEE_ALERT_EMAIL_TO")
EMAIL_OPTIONS = ("COFFEE_SMTP_PORT", "COFFEE_SMTP_USER", "COFFEE_SMTP_PASSWORD", "COFFEE_SMTP_TLS")
SMTP_LOGIN = ("COFFEE_SMTP_USER", "COFFEE_SMTP_PASSWORD")


class AlertSettings(EnvSettings):
    """The alert channels the environment enables, each checked whole: a half-configured or
    malformed channel is an error when the settings are read, not when the first alert fails.
    The channels take the secrets (tokens, passwords, addresses) as `dg.EnvVar`s, so the UI
    shows the variables' names (defs/alerts/resources.py)."""

    slack_token: SecretStr | None = env_field(
        "COFFEE_SLACK_TOKEN", None, "Slack: a bot token (xoxb-...)"
    )
    slack_channel: str | None = env_field("COFFEE_SLACK_CHANNEL", None, "Slack: the channel")
    webhook_url: str | None = env_field(
        "COFFEE_ALERT_WEBHOOK_URL", None, "a URL each alert is POSTed to as JSON"
    )
    smtp_host: str | None = env_field("COFFEE_SMTP_HOST", None, "e-mail: the SMTP server")
    smtp_port: int = env_field("COFFEE_SMTP_PORT", 587, "e-mail: the SMTP server's port")
    smtp_user: str | None = env_field("COFFEE_SMTP_USER", None, "e-mail: the SMTP login")
    smtp_password: SecretStr | None = env_field(
        "COFFEE_SMTP_PASSWORD", None, "e-mail: the SMTP password"
    )
    smtp_tls: str = env_field(
        "COFFEE_SMTP_TLS", "starttls", "e-mail: starttls, ssl (SMTPS, usually port 465) or none"
    )
    email_from: str | None = env_field("COFFEE_ALERT_EMAIL_FROM", None, "e-mail: the sender")
    email_to: str | None = env_field(
        "COFFEE_ALERT_EMAIL_TO", None, "e-mail: the recipients, comma-separated"
    )
    dagster_url: str = env_field(
        "COFFEE_DAGSTER_URL", "http://localhost:3000", "the UI's address, for run links in alerts"
    )
    interval_seconds: int = env_field(
        "COFFEE_ALERT_INTERVAL_SECONDS",
        60,
        "how often the daemon looks for new failures and retries channels (the alert sensors' "
        "minimum interval: 5 to 3600 s)",
    )

    def _all_or_none(self, channel: str, variables: tuple[str, ...]) -> None:
        present = self.is_set(*variables)
        if present and len(present) < len(variables):
            missing = [v for v in variables if v not in present]
            raise ValueError(
                f"{channel} alerts: {', '.join(present)} set but {', '.join(missing)} not"
            )

    def is_set(self, *variables: str) -> list[str]:
        """Those of these variables that were set."""
        names = self.env_names()
        return [v for v in variables if names[v] in self.model_fields_set]

    @property
    def slack(self) -> bool:
        return bool(self.is_set(*SLACK))

    @property
    def webhook(self) -> bool:
        return self.webhook_url is not None

    @property
    def email(self) -> bool:
        return bool(self.is_set(*EMAIL))

    @property
    def smtp_login(self) -> bool:
        return bool(self.is_set(*SMTP_LOGIN))

    @field_validator("smtp_port", mode="before")
    @classmethod
    def _port(cls, value: Any) -> int:
        return whole_number("COFFEE_SMTP_PORT", value, 1, 65535, "a port (1 to 65535)")

    @field_validator("interval_seconds", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> int:
        return whole_number(
            "COFFEE_ALERT_INTERVAL_SECONDS", value, 5, 3600, "a number of seconds from 5 to 3600"
        )

    @field_validator("smtp_tls", mode="before")
    @classmethod
    def _tls(cls, value: Any) -> str:
        return one_of("COFFEE_SMTP_TLS", value, TLS_MODES)

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        return value and check_url("COFFEE_ALERT_WEBHOOK_URL", value, "a URL")

    @field_validator("dagster_url")
    @classmethod
    def _dagster_url(cls, value: str) -> str:
        return check_url("COFFEE_DAGSTER_URL", value, "the URL of the Dagster UI")

    @model_validator(mode="after")
    def _channels_whole(self) -> AlertSettings:
        for channel, variables in (("Slack", SLACK), ("E-mail", EMAIL)):
            self._all_or_none(channel, variables)
        token = self.slack_token.get_secret_value() if self.slack_token else ""
        if self.slack and not token.startswith("xox"):
            raise ValueError(
                "COFFEE_SLACK_TOKEN is not a Slack token (a bot token starts with xoxb-)"
            )
        options = self.is_set(*EMAIL_OPTIONS)
        if options and not self.email:
            raise ValueError(
                f"{', '.join(options)} set but e-mail alerts are off (they need {', '.join(EMAIL)})"
            )
        for variable, value in (
            ("COFFEE_ALERT_EMAIL_FROM", self.email_from),
            ("COFFEE_ALERT_EMAIL_TO", self.email_to),
        ):
            addresses = [a.strip() for a in (value or "").split(",") if a.strip()]
            bad = [a for a in addresses if not _EMAIL.fullmatch(a)]
            if self.email and (bad or not addresses):
                raise ValueError(
                    f"{variable}={value!r}: {bad[0] if bad else 'nothing'} is not an e-mail "
                    "address (name@example.com; several: comma-separated)"
                )
        self._all_or_none("E-mail", SMTP_LOGIN)
        return self
