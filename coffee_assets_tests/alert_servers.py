"""Real servers on 127.0.0.1 that alerts are sent to in the tests: an HTTP server recording
POSTs (the webhook, and a stand-in of the Slack Web API answering like chat.postMessage), and
an aiosmtpd SMTP server recording messages."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller

from .processes import free_port


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}
        return json.loads(self.body)


class RecordingHttpServer:
    """Records every POST it accepts; answers 200 with `{"ok": true, ...}` (what Slack's API
    answers). While `failing` is set it accepts nothing: it answers 500 (Slack's
    `{"ok": false, "error": "internal_error"}`) and counts the refusal in `refused`."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.refused = 0
        self.failing = False
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", 0))
                payload = self.rfile.read(length)
                if recorder.failing:
                    recorder.refused += 1
                    body = json.dumps({"ok": False, "error": "internal_error"}).encode()
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                recorder.requests.append(Request(self.path, dict(self.headers.items()), payload))
                body = json.dumps({"ok": True, "channel": "C0ALERTS", "ts": "1.000100"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class _Recorder:
    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ARG002 (aiosmtpd's)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1, recording every message it accepts (no TLS, no auth). `stop` and
    `start` take it down and bring it back on the same port (a mail server restarting)."""

    def __init__(self) -> None:
        self.recorder = _Recorder()
        self.port = free_port()
        self.controller: Controller | None = None
        self.start()

    def start(self) -> None:
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self.controller.start()  # returns once the server answers

    @property
    def messages(self) -> list[Message]:
        return self.recorder.messages

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()  # returns once the port is closed
            self.controller = None


@dataclass
class AlertServers:
    webhook: RecordingHttpServer
    slack: RecordingHttpServer
    smtp: SmtpServer

    def clear(self) -> None:
        self.webhook.failing = self.slack.failing = False
        self.webhook.refused = self.slack.refused = 0
        if self.smtp.controller is None:
            self.smtp.start()
        self.webhook.requests.clear()
        self.slack.requests.clear()
        self.smtp.recorder.messages.clear()
        self.smtp.recorder.envelopes.clear()

    def counts(self) -> tuple[int, int, int]:
        return len(self.webhook.requests), len(self.slack.requests), len(self.smtp.messages)

    def stop(self) -> None:
        self.webhook.stop()
        self.slack.stop()
        self.smtp.stop()


def start_alert_servers() -> AlertServers:
    return AlertServers(RecordingHttpServer(), RecordingHttpServer(), SmtpServer())
