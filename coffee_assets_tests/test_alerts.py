"""Alert messages and channels, each against a real server on 127.0.0.1: the JSON webhook
(http.server), e-mail (aiosmtpd), Slack (slack-sdk's WebClient against a local stand-in of the
Web API); and which channels the environment variables enable."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from coffee_assets.core.alert import CHECK_FAILED, RUN_FAILED, Alert
from coffee_assets.defs.alerts.channels import (
    AlertChannels,
    SlackChannel,
    SmtpChannel,
    WebhookChannel,
)
from coffee_assets.defs.alerts.outbox import RETRY_SECONDS, Outbox
from coffee_assets.defs.alerts.resources import alert_channels
from coffee_assets.settings import SettingsError

SAMPLE = "| OrderId | TotalAmount |\n| --- | --- |\n| 2025010300004 | 1405 |"
ALERT = Alert(
    key="check-execution-42",
    kind=CHECK_FAILED,
    severity="ERROR",
    summary="1 order(s) whose amounts do not reconcile on 2025-01-03",
    asset="coffee_shop/orders",
    partition="2025-01-03",
    check="amounts_reconcile",
    job="daily_refresh",
    run_id="0a1b2c3d",
    run_url="http://dagster.example:3000/runs/0a1b2c3d",
    blocking=True,
    details={"offending_rows": "1", "sample": SAMPLE},
)


@pytest.fixture
def clean(servers):
    servers.clear()
    return servers


def test_text_names_asset_partition_check_problem_and_run():
    text = ALERT.text()
    assert text.splitlines()[0] == (
        "[coffee-shop][ERROR] Check failed: amounts_reconcile on coffee_shop/orders (2025-01-03)"
    )
    for expected in [
        "What was wrong: 1 order(s) whose amounts do not reconcile on 2025-01-03",
        "Severity: ERROR, blocking",
        "Asset: coffee_shop/orders",
        "Partition: 2025-01-03",
        "Run: http://dagster.example:3000/runs/0a1b2c3d",
        "  offending_rows: 1",
        "    | 2025010300004 | 1405 |",
    ]:
        assert expected in text.splitlines(), expected


def test_slack_text_marks_the_severity_and_links_the_run():
    text = ALERT.slack_text()
    assert text.startswith(":red_circle: *[coffee-shop][ERROR]")
    assert "*Run:* <http://dagster.example:3000/runs/0a1b2c3d|0a1b2c3d>" in text
    assert f"*sample:*\n```{SAMPLE}```" in text
    warning = Alert(key="k", kind=RUN_FAILED, severity="WARN", summary="late", job="daily_refresh")
    assert warning.slack_text().startswith(
        ":warning: *[coffee-shop][WARN] Run failed: daily_refresh"
    )


def test_json_carries_every_field():
    payload = json.loads(ALERT.to_json())
    assert payload["kind"] == "check_failed" and payload["severity"] == "ERROR"
    assert payload["details"]["sample"] == SAMPLE
    assert payload["subject"] == ALERT.subject and payload["text"] == ALERT.text()
    assert payload["blocking"] is True


def test_webhook_posts_the_json(clean):
    WebhookChannel(url=clean.webhook.url + "hook").send(ALERT)
    [request] = clean.webhook.requests
    assert request.path == "/hook"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == json.loads(ALERT.to_json())


def test_smtp_sends_one_mail_to_every_recipient(clean):
    SmtpChannel(
        host="127.0.0.1",
        port=clean.smtp.port,
        sender="dagster@coffee.example",
        recipients="a@coffee.example, b@coffee.example",
        tls="none",
    ).send(ALERT)
    [mail] = clean.smtp.messages
    assert clean.smtp.recorder.envelopes == [
        ("dagster@coffee.example", ["a@coffee.example", "b@coffee.example"])
    ]
    assert mail["Subject"] == ALERT.subject
    assert mail.get_content().replace("\r\n", "\n").rstrip("\n") == ALERT.text()


def test_slack_posts_through_slack_sdk(clean):
    SlackChannel(token="xoxb-1", channel="#alerts", base_url=clean.slack.url).send(ALERT)
    [request] = clean.slack.requests
    assert request.path == "/chat.postMessage"
    assert request.headers["Authorization"] == "Bearer xoxb-1"
    body = request.json()
    assert body["channel"] == "#alerts" and body["text"] == ALERT.slack_text()


class Log:
    """A sensor's log: what it was told, line by line."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)

    error = warning = info


def every_channel(servers) -> AlertChannels:
    return AlertChannels(
        webhook=WebhookChannel(url=servers.webhook.url + "hooks/coffee", timeout_seconds=5),
        email=SmtpChannel(
            host="127.0.0.1",
            port=servers.smtp.port,
            sender="dagster@coffee.example",
            recipients="data-team@coffee.example",
            tls="none",
            timeout_seconds=5,
        ),
        slack=SlackChannel(token="xoxb-1", channel="#alerts", base_url=servers.slack.url),
    )


def test_one_broken_channel_does_not_silence_the_others_and_gets_the_alert_later(clean):
    channels = AlertChannels(
        webhook=WebhookChannel(url="http://127.0.0.1:9/nothing-listens", timeout_seconds=2),
        slack=SlackChannel(token="xoxb-1", channel="#alerts", base_url=clean.slack.url),
    )
    outbox, log = Outbox(), Log()
    outbox.add(ALERT, channels.names(), now=0)
    delivery = outbox.deliver(channels, log, now=0)
    assert delivery.delivered == 1 and list(delivery.failed) == ["webhook"]
    assert delivery.failed["webhook"].startswith("URLError")
    assert "1 alert(s) waiting for webhook (URLError" in delivery.summary()
    assert len(clean.slack.requests) == 1
    assert any("could not be sent to webhook (try 1)" in line for line in log.lines)
    # The webhook is fixed: the next tick sends it there, and Slack does not get it again.
    channels = channels.model_copy(update={"webhook": WebhookChannel(url=clean.webhook.url)})
    delivery = outbox.deliver(channels, log, now=60)
    assert (delivery.delivered, delivery.failed, delivery.waiting) == (1, {}, 0)
    assert len(clean.webhook.requests) == 1 and len(clean.slack.requests) == 1
    assert json.loads(clean.webhook.requests[0].body)["key"] == ALERT.key


def test_channels_that_fail_are_tried_again_with_backoff_until_each_took_the_alert_once(clean):
    """SMTP down, the webhook and Slack answering 500: each tick that tries says which channel
    failed and why; the tries space out (the next tick, then every other one); once the servers
    are back, each channel takes the alert exactly once. The outbox survives as its state (a
    daemon restart)."""
    channels, log = every_channel(clean), Log()
    clean.smtp.stop()
    clean.webhook.failing = clean.slack.failing = True
    outbox = Outbox()
    outbox.add(ALERT, channels.names(), now=0)
    said, summaries = [], []
    for tick in range(3):
        delivery = outbox.deliver(channels, log, now=60 * tick)
        said.append((sorted(delivery.failed), delivery.waiting))
        summaries.append(delivery.summary())
        outbox = Outbox.from_state(json.loads(json.dumps(outbox.state())))  # the cursor
    # Tried on ticks 1 and 2; tick 3 lets one pass (backoff).
    assert said == [(["email", "slack", "webhook"], 1)] * 2 + [([], 1)]
    assert (clean.webhook.refused, clean.slack.refused) == (2, 2)
    assert "1 alert(s) waiting for email (ConnectionRefusedError" in summaries[0]
    assert "slack (SlackApiError" in summaries[0]
    assert "webhook (HTTPError: HTTP Error 500: Internal Server Error)" in summaries[0]
    assert summaries[2] == "0 delivery(ies); 1 alert(s) waiting for their next try"
    clean.smtp.start()
    clean.webhook.failing = clean.slack.failing = False
    delivery = outbox.deliver(channels, log, now=240)
    assert (delivery.delivered, delivery.failed, delivery.waiting) == (3, {}, 0)
    for _ in range(3):  # nothing more, ever
        assert outbox.deliver(channels, log, now=300).delivered == 0
    assert clean.counts() == (1, 1, 1)
    assert clean.smtp.messages[0]["Subject"] == ALERT.subject


def test_an_alert_no_channel_takes_for_two_days_is_given_up_and_said():
    channels = AlertChannels(
        webhook=WebhookChannel(url="http://127.0.0.1:9/nothing-listens", timeout_seconds=1)
    )
    outbox, log = Outbox(), Log()
    outbox.add(ALERT, channels.names(), now=0)
    outbox.deliver(channels, log, now=0)
    delivery = outbox.deliver(channels, log, now=RETRY_SECONDS + 1)
    assert delivery.given_up == [f"{ALERT.key} on webhook"] and outbox.pending == []
    assert any("given up on webhook after 48 h" in line for line in log.lines)


def test_without_channels_the_alert_goes_to_the_log():
    log = Log()
    outbox = Outbox()
    outbox.add(ALERT, AlertChannels().names(), now=0)
    assert outbox.deliver(AlertChannels(), log, now=0).delivered == 1
    assert any(ALERT.text() in line for line in log.lines)


def test_environment_enables_channels():
    assert AlertChannels().enabled() == {}
    assert alert_channels({}).enabled() == {}
    channels = alert_channels(
        {
            "COFFEE_ALERT_WEBHOOK_URL": "https://hooks.example/x",
            "COFFEE_SLACK_TOKEN": "xoxb-1",
            "COFFEE_SLACK_CHANNEL": "#alerts",
            "COFFEE_SMTP_HOST": "smtp.example",
            "COFFEE_ALERT_EMAIL_FROM": "a@example.com",
            "COFFEE_ALERT_EMAIL_TO": "b@example.com",
            "COFFEE_SMTP_TLS": "SSL",
            "COFFEE_DAGSTER_URL": "https://dagster.example/",
        }
    )
    assert set(channels.enabled()) == {"webhook", "slack", "email"}
    assert channels.email.tls == "ssl"
    assert channels.run_url("r1") == "https://dagster.example/runs/r1"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"COFFEE_SLACK_TOKEN": "x"}, "COFFEE_SLACK_TOKEN set but COFFEE_SLACK_CHANNEL not"),
        ({"COFFEE_SMTP_HOST": "h"}, "COFFEE_ALERT_EMAIL_FROM, COFFEE_ALERT_EMAIL_TO not"),
        (
            {
                "COFFEE_SMTP_HOST": "h",
                "COFFEE_ALERT_EMAIL_FROM": "a@example.com",
                "COFFEE_ALERT_EMAIL_TO": "b@example.com",
                "COFFEE_SMTP_PORT": "smtp",
            },
            "COFFEE_SMTP_PORT='smtp'",
        ),
        (
            {
                "COFFEE_SMTP_HOST": "h",
                "COFFEE_ALERT_EMAIL_FROM": "a@example.com",
                "COFFEE_ALERT_EMAIL_TO": "b@example.com",
                "COFFEE_SMTP_TLS": "maybe",
            },
            "COFFEE_SMTP_TLS='maybe'",
        ),
    ],
)
def test_half_configured_channels_name_the_variable(env, message):
    with pytest.raises(SettingsError, match=message):
        alert_channels(env)


def test_secrets_stay_environment_variables(monkeypatch):
    """The resources hold EnvVars, so the UI shows the variable's name, never the token."""
    monkeypatch.setenv("COFFEE_SLACK_TOKEN", "xoxb-secret")
    monkeypatch.setenv("COFFEE_SLACK_CHANNEL", "#alerts")
    channels = alert_channels()
    assert isinstance(channels.slack.token, dg.EnvVar)
    assert channels.slack.token == "COFFEE_SLACK_TOKEN"  # the name; resolved only in a run
