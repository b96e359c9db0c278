"""Real local receivers for notification tests: an HTTP server on 127.0.0.1 that checks the webhook
signature, and an SMTP server (aiosmtpd) that keeps the mail it receives."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool | None  # None when the receiver has no secret to check against

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each POST with the next status of ``statuses`` (the last one repeats)."""

    url: str
    statuses: list[int]
    secret: str | None = None
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def accepted(self) -> list[Received]:
        return [r for r, status in zip(self.requests, self._answers, strict=False) if 200 <= status < 300]

    _answers: list[int] = field(default_factory=list)


@contextmanager
def http_receiver(statuses: list[int] | None = None, secret: str | None = None) -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1; a request whose signature does not verify is answered 401."""
    receiver = Receiver("", list(statuses or [200]), secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ok = None
            if receiver.secret is not None:
                expected = "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                ok = hmac.compare_digest(expected, self.headers.get("X-Patchgap-Signature", ""))
            with receiver.lock:
                index = len(receiver.requests)
                status = receiver.statuses[min(index, len(receiver.statuses) - 1)]
                if ok is False:
                    status = 401
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body, ok))
                receiver._answers.append(status)
            answer = b'{"ok": true}' if status < 300 else b"receiver says no"
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Mailbox:
    host: str
    port: int
    mails: list[tuple[Envelope, EmailMessage]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        mail = message_from_bytes(content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mailbox.mails.append((envelope, mail))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(*, credentials: tuple[str, str] | None = None) -> Iterator[Mailbox]:
    """An SMTP server on 127.0.0.1 (no TLS); with ``credentials`` it requires that login (AUTH)."""
    mailbox = Mailbox("127.0.0.1", _free_port())

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = (auth_data.login.decode(), auth_data.password.decode())
            mailbox.logins.append(login)
            return AuthResult(success=login == credentials)
        return AuthResult(success=False)

    options: dict[str, Any] = {}
    if credentials is not None:
        options = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": False}
    controller = Controller(_Handler(mailbox), hostname=mailbox.host, port=mailbox.port, **options)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()
