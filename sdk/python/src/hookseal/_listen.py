"""``hookseal listen``: a local receiver that verifies and pretty-prints every delivery.

Like ``stripe listen``: run it, point a sender (or ``hookseal trigger``) at
``http://127.0.0.1:PORT/``, and watch each delivery verified and printed; with
``--forward-to`` every verified request is passed on, byte for byte, to your own handler
and its answer is returned to the sender. Rejected deliveries are answered 400/401 with a
problem+json body and shown in red. Stops cleanly on Ctrl-C (SIGINT) or SIGTERM.

Needs ``rich`` (``pip install 'hookseal[cli]'``); the ``hookseal`` CLI registers this
subcommand through :func:`add_parser`.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import signal
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

from ._cliargs import add_profile_arguments
from .errors import InvalidPayloadError, WebhookVerificationError
from .integrations._common import DEFAULT_MAX_BODY, Reply, problem
from .keys import generate_secret
from .timestamps import DEFAULT_TOLERANCE
from .webhook import Webhook

__all__ = ["DEFAULT_PORT", "add_parser", "run"]

DEFAULT_PORT = 4242
"""The port ``hookseal listen`` binds on 127.0.0.1 unless ``--port`` says otherwise."""

# Hop-by-hop and recomputed headers are not forwarded (RFC 9110, section 7.6.1).
_NOT_FORWARDED = {"host", "content-length", "connection", "keep-alive", "transfer-encoding",
                  "te", "trailer", "upgrade", "proxy-connection"}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``listen`` on the ``hookseal`` CLI's subparsers; returns its parser."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "listen",
        help="run a local receiver that verifies and prints every delivery",
        description="Receive webhooks on 127.0.0.1, verify each one, pretty-print it, and "
        "optionally forward verified requests to your own handler.",
    )
    p.add_argument("--secret", "-s", action="append",
                   help="secret or whpk_ key (repeat for several); default: generate one")
    p.add_argument("--port", "-p", type=int, default=DEFAULT_PORT,
                   help="port on 127.0.0.1 (default: %(default)s; 0 picks a free one)")
    p.add_argument("--forward-to", "-f", metavar="URL",
                   help="forward verified requests to this URL and relay its answer")
    add_profile_arguments(p)
    p.add_argument("--tolerance", type=int, default=DEFAULT_TOLERANCE,
                   help="timestamp tolerance in seconds (default: %(default)s)")
    p.set_defaults(func=run)
    return p


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    webhook: Webhook
    forward_to: Optional[str]
    console: Any
    seen_ids: set[str]
    seen_lock: threading.Lock

    def first_sight(self, event_id: str) -> bool:
        """Return True the first time ``event_id`` is verified by this listener."""
        with self.seen_lock:
            if event_id in self.seen_ids:
                return False
            self.seen_ids.add(event_id)
            return True


def _now() -> str:
    return _dt.datetime.now().strftime("%H:%M:%S")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "hookseal-listen"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default access log: every request is printed by ``_show`` instead."""

    def _send(self, status: int, body: bytes, content_type: str,
              headers: Optional[dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_reply(self, reply: Reply) -> None:
        self._send(reply.status, reply.body(), reply.content_type, reply.headers)

    def do_POST(self) -> None:
        """Verify one delivery, print it, then answer (or forward) it."""
        length_text = self.headers.get("Content-Length", "0") or "0"
        if not length_text.isdigit():
            self._send_reply(problem("malformed_header", "bad Content-Length"))
            return
        length = int(length_text)
        if length > DEFAULT_MAX_BODY:
            reply = problem("payload_too_large", "body too large")
            self._send_reply(reply)
            self._show_rejection(reply.status, "payload_too_large", "body too large")
            return
        body = self.rfile.read(length)
        headers = list(self.headers.items())
        try:
            events = self.server.webhook.construct_events(body, headers)
        except (WebhookVerificationError, InvalidPayloadError) as err:
            reply = problem(err.code, str(err))
            self._send_reply(reply)
            self._show_rejection(reply.status, err.code, str(err))
            return
        if body.lstrip()[:1] == b"[":  # a batch (contract 4.4): a JSON array of envelopes
            self._show_batch(events)
        else:
            self._show(events[0])
        if self.server.forward_to:
            self._forward(body)
        else:
            self._send(200, b'{"received":true}', "application/json")

    def _show_rejection(self, status: int, code: str, detail: str) -> None:
        from rich.text import Text

        self.server.console.print(Text.assemble(
            ("✘ ", "bold red"), (f"{_now()}  ", "dim"), (f"rejected  {status} {code}", "bold red"),
            (f"  {self.path}\n  ", "dim"), (detail, "red"),
        ))

    def _show(self, event: dict[str, Any], position: str = "") -> None:
        from rich.json import JSON
        from rich.text import Text

        console = self.server.console
        event_id = str(event.get("id", ""))
        again = "" if self.server.first_sight(event_id) else "  (seen before: a retry or replay)"
        if position:
            title = Text.assemble((f"  {position}  ", "dim"), (str(event.get("type", "?")), "bold cyan"),
                                  ("  ", ""), (event_id, "magenta"), (again, "yellow"))
        else:
            title = Text.assemble(
                ("✔ ", "bold green"), (f"{_now()}  ", "dim"), ("verified  ", "bold green"),
                (str(event.get("type", "?")), "bold cyan"), ("  ", ""),
                (event_id, "magenta"), (f"  {self.path}", "dim"), (again, "yellow"),
            )
        console.print(title)
        console.print(JSON(json.dumps(event), indent=2))

    def _show_batch(self, events: list[dict[str, Any]]) -> None:
        from rich.text import Text

        wanted = ("webhook-id", f"{self.server.webhook.header_prefix}-webhook-id".lower())
        batch_id = next((v for k, v in self.headers.items() if k.lower() in wanted), "")
        self.server.console.print(Text.assemble(
            ("✔ ", "bold green"), (f"{_now()}  ", "dim"), ("verified  ", "bold green"),
            ("batch", "bold cyan"), ("  ", ""), (batch_id, "magenta"),
            (f"  {len(events)} event{'' if len(events) == 1 else 's'}", "bold"), (f"  {self.path}", "dim"),
        ))
        for index, event in enumerate(events, 1):
            self._show(event, f"{index}/{len(events)}")

    def _forward(self, body: bytes) -> None:
        target = self.server.forward_to
        assert target is not None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED}
        request = urllib.request.Request(target, data=body, headers=headers, method="POST")  # noqa: S310
        console = self.server.console
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status, answer = response.status, response.read()
                content_type = response.headers.get("Content-Type", "application/octet-stream")
        except urllib.error.HTTPError as err:
            status, answer = err.code, err.read()
            content_type = err.headers.get("Content-Type", "application/octet-stream")
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            console.print(f"  [red]→ forward to {target} failed: {reason}[/red]", highlight=False)
            self._send_reply(problem("forward_failed", f"could not reach {target}: {reason}"))
            return
        colour = "green" if 200 <= status < 300 else "yellow"
        console.print(f"  [{colour}]→ forwarded to {target}: {status}[/{colour}]", highlight=False)
        self._send(status, answer, content_type)


def run(args: argparse.Namespace) -> int:
    """Run ``hookseal listen`` with parsed arguments until SIGINT/SIGTERM; return the exit code."""
    try:
        from rich.console import Console
    except ImportError:
        print("hookseal listen needs rich: pip install 'hookseal[cli]'", file=sys.stderr)
        return 1
    generated = not args.secret
    secrets = args.secret or [generate_secret()]
    webhook = Webhook(secrets, profile=args.profile, tolerance=args.tolerance,
                      header_prefix=args.prefix)
    console = Console(highlight=False, soft_wrap=True)
    server = _Server(("127.0.0.1", args.port), _Handler)
    server.webhook = webhook
    server.forward_to = args.forward_to
    server.console = console
    server.seen_ids = set()
    server.seen_lock = threading.Lock()
    port = server.server_address[1]
    url = f"http://127.0.0.1:{port}/webhooks"

    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        # serve_forever runs in this (main) thread: shut it down from another one.
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if generated:
            console.print(f"Your webhook signing secret is [bold]{secrets[0]}[/bold] "
                          "(generated; pass --secret to choose one)")
        console.print(f"[bold green]Ready![/bold green] Listening on {url} "
                      f"({args.profile}); press Ctrl-C to stop.")
        if args.forward_to:
            console.print(f"Forwarding verified deliveries to {args.forward_to}")
        console.print(f"Try: hookseal trigger test.ping --to {url} --secret {secrets[0]}",
                      highlight=False, markup=False)
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print("Stopped.")
    return 0
