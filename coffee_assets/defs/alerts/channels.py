"""Where alerts go: a JSON webhook, e-mail over SMTP, Slack. Each channel is a resource.

`AlertChannels` holds the enabled ones (unset channels are None) and sends an alert to one of
them; with none enabled the alert goes to the log, so the sensors are useful from the first start.
The sensors deliver through an outbox that retries a channel that fails (outbox.py).
"""

from __future__ import annotations

import smtplib
import ssl
import urllib.request
from email.message import EmailMessage
from typing import Any

import dagster as dg
from dagster_slack import SlackResource
from slack_sdk import WebClient

from coffee_assets.core.alert import Alert
from coffee_assets.settings import TLS_MODES, AlertSettings

LOG = "log"  # the channel of a code location with none configured: the sensor's log


class WebhookChannel(dg.ConfigurableResource):
    """POSTs the alert as a JSON object (see Alert.to_json) to a URL."""

    url: str
    timeout_seconds: float = 10.0

    def send(self, alert: Alert) -> None:
        request = urllib.request.Request(
            self.url,
            data=alert.to_json().encode(),
            headers={"Content-Type": "application/json", "User-Agent": "coffee-assets-alerts"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
            response.read()


class SmtpChannel(dg.ConfigurableResource):
    """Sends the alert as a plain-text e-mail. `recipients`: comma-separated addresses."""

    host: str
    port: int = AlertSettings.default_of("COFFEE_SMTP_PORT")
    sender: str
    recipients: str
    user: str | None = None
    password: str | None = None
    tls: str = AlertSettings.default_of("COFFEE_SMTP_TLS")  # starttls, ssl (SMTPS: port 465), none
    timeout_seconds: float = 30.0

    def message(self, alert: Alert) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = alert.subject
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipient_list())
        message.set_content(alert.text())
        return message

    def recipient_list(self) -> list[str]:
        return [r.strip() for r in self.recipients.split(",") if r.strip()]

    def send(self, alert: Alert) -> None:
        if self.tls not in TLS_MODES:
            raise ValueError(f"COFFEE_SMTP_TLS={self.tls!r}: expected one of {TLS_MODES}")
        if self.tls == "ssl":
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host,
                self.port,
                timeout=self.timeout_seconds,
                context=ssl.create_default_context(),
            )
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds)
        with server:
            if self.tls == "starttls":
                server.starttls(context=ssl.create_default_context())
            if self.user:
                server.login(self.user, self.password or "")
            server.send_message(self.message(alert))


class SlackChannel(SlackResource):
    """dagster-slack's SlackResource (the token) plus the channel to post to. `base_url` is
    the Slack Web API's; only tests point it elsewhere (a local stand-in of the API)."""

    channel: str
    base_url: str = WebClient.BASE_URL

    def get_client(self) -> WebClient:
        return WebClient(token=self.token, base_url=self.base_url)

    def send(self, alert: Alert) -> None:
        # chat.postMessage answers ok=false as a SlackApiError: the sensor logs it.
        self.get_client().chat_postMessage(
            channel=self.channel, text=alert.slack_text(), mrkdwn=True, unfurl_links=False
        )


class AlertChannels(dg.ConfigurableResource):
    """The enabled alert channels and the UI's base URL for run links."""

    webhook: WebhookChannel | None = None
    email: SmtpChannel | None = None
    slack: SlackChannel | None = None
    dagster_url: str = AlertSettings.default_of("COFFEE_DAGSTER_URL")

    def enabled(self) -> dict[str, Any]:
        channels = {"webhook": self.webhook, "email": self.email, "slack": self.slack}
        return {name: channel for name, channel in channels.items() if channel is not None}

    def run_url(self, run_id: str | None) -> str | None:
        return f"{self.dagster_url.rstrip('/')}/runs/{run_id}" if run_id else None

    def names(self) -> list[str]:
        """The channels an alert goes to: the enabled ones, or the sensor's log without any."""
        return sorted(self.enabled()) or [LOG]

    def send(self, name: str, alert: Alert, log: Any) -> None:
        """Send to one channel (raises what the channel raises: the outbox tries again)."""
        if name == LOG:
            log.warning(f"ALERT (no alert channel configured)\n{alert.text()}")
            return
        channel = self.enabled().get(name)
        if channel is None:  # disabled since the alert was queued: nothing to send it to
            log.warning(f"alert {alert.key}: channel {name} is no longer configured; dropped")
            return
        channel.send(alert)
