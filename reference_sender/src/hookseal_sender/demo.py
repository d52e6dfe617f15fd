"""The end-to-end demo (``make demo``): a sender and SDK receivers on SQLite in a temp dir.

Shows catalog events delivered and verified, an endpoint failing with 503 then recovering,
one answering 400 (a permanent failure), a secret rotation whose two signatures verify
for receivers holding either secret, one event received by an endpoint pinned to
payment.failed v1 and one on v2 (each body valid for its version, same event id), and the
delivery log. Exits by itself.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Optional

import hookseal
from aiohttp import web
from hookseal.profiles import DEFAULT_HEADER_PREFIX
from rich.console import Console
from rich.table import Table

from ._cli_output import Col, fitted_table
from .catalog import event_catalog
from .config import RetryPolicy, SenderConfig
from .errors import SenderError
from .models import Delivery
from .secretbox import generate_master_key
from .sender import CreatedEndpoint, Sender
from .worker import BackgroundWorker

__all__ = ["TENANT", "DemoReceiver", "main", "run"]


console = Console()
TENANT = "acme-corp"
# The id header of the default profile and prefix, which the demo's endpoints use.
_ID_HEADER = f"{DEFAULT_HEADER_PREFIX}-Webhook-Id"


class DemoReceiver:
    """Customer receivers built with the ``hookseal`` SDK, on 127.0.0.1."""

    def __init__(self) -> None:
        self.secrets: dict[str, list[str]] = {}
        self.script: dict[str, list[int]] = {}
        self.log: list[str] = []
        self.bodies: dict[str, list[bytes]] = {}
        self.port = 0
        self._ready = threading.Event()
        self._stop: Optional[asyncio.Event] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {str(k): v for k, v in request.headers.items()}
        path = request.path
        verdicts = []
        for i, secret in enumerate(self.secrets.get(path, [])):
            try:
                event = hookseal.Webhook(secret).construct_event(body, headers)
                verdicts.append(f"receiver #{i + 1} holding {secret[:12]}… verified "
                                f"{event['type']} {event['id'][:16]}…")
            except hookseal.WebhookVerificationError as exc:
                verdicts.append(f"receiver #{i + 1} REJECTED: {exc.code}")
                return web.Response(status=400, text=exc.code)
        self.bodies.setdefault(path, []).append(body)
        script = self.script.get(path)
        status = script.pop(0) if script else 200
        self.log.append(f"{path} <- {headers.get(_ID_HEADER, '?')[:20]}… "
                        f"answered {status}; " + "; ".join(verdicts))
        return web.Response(status=status, text="ok" if status < 300 else "try later")

    async def _main(self) -> None:
        app = web.Application()
        app.router.add_post("/{name}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server: Any = site._server
        self.port = int(server.sockets[0].getsockname()[1])
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    def start(self) -> DemoReceiver:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)


def _wait(sender: Sender, ids: list[str], timeout: float = 15.0) -> list[Delivery]:
    deadline = time.monotonic() + timeout
    while True:
        ds = [sender.get_delivery(TENANT, d) for d in ids]
        if all(d.status not in ("pending", "delivering") for d in ds):
            return ds
        if time.monotonic() > deadline:
            return ds
        time.sleep(0.05)


def _log_table(sender: Sender) -> Table:
    # Ids whole (copyable into `deliveries show`); on a narrow terminal the least needed
    # columns are left out rather than squeezed (see _cli_output.fitted_table).
    eps = {e.id: e.description for e in sender.list_endpoints(TENANT)}
    rows = []
    for d in reversed(sender.list_deliveries(TENANT, limit=100)):
        full = sender.get_delivery(TENANT, d.id)
        t0 = full.attempts[0].at if full.attempts else 0.0
        tries = ", ".join(f"{a.status_code or a.error} @ +{a.at - t0:.1f}" for a in full.attempts)
        rows.append((d.id, eps.get(d.endpoint_id, d.endpoint_id), d.event_type, d.status,
                     tries))
    cols = (Col("delivery", True), Col("endpoint"), Col("event"), Col("status"),
            Col("attempts (status @ +s)"))
    t = fitted_table(cols, rows, ("delivery", "status", "endpoint", "event",
                                  "attempts (status @ +s)"))
    t.title = "Delivery log"
    return t


def _add(sender: Sender, receiver: DemoReceiver, name: str, description: str,
         **kw: Any) -> CreatedEndpoint:
    created = sender.create_endpoint(TENANT, f"http://127.0.0.1:{receiver.port}/{name}",
                                     description=description, allow_local=True, **kw)
    receiver.secrets[f"/{name}"] = [created.secret]
    console.print(f"  endpoint [bold]{description}[/] {created.endpoint.id} "
                  f"(secret {created.secret[:12]}…, shown once)")
    return created


def _send_examples(sender: Sender, receiver: DemoReceiver, catalog: Any) -> list[Delivery]:
    """Step 2: catalog examples enqueued (and invalid data refused); their deliveries."""
    ids = []
    for etype in ("invoice.paid", "customer.created", "payment.succeeded"):
        r = sender.send(TENANT, etype, catalog.example(etype))
        ids += [d for d, _ in r.deliveries]
        console.print(f"  {etype}: event {r.event_id} -> {len(r.deliveries)} deliveries")
    try:
        sender.send(TENANT, "invoice.paid", {"invoice": "not an object"})
    except SenderError as exc:
        console.print(f"  invalid data is refused before anything is stored: [red]{exc.code}[/]")
    ds = _wait(sender, ids)
    for line in receiver.log:
        console.print("  " + line, markup=False)
    return ds


def _show_failures(ds: list[Delivery], good_id: str) -> bool:
    """Step 3: the flaky endpoint retried to success, the strict one failed for good."""
    flaky = next(d for d in ds if d.endpoint_id != good_id and d.event_type == "invoice.paid")
    strict = next(d for d in ds if d.event_type == "customer.created"
                  and d.endpoint_id != good_id)
    console.rule("3. Retries and permanent failures")
    console.print(f"  flaky-app: attempts {[a.status_code for a in flaky.attempts]} -> "
                  f"[bold]{flaky.status}[/] (503 is retried on the schedule)")
    console.print(f"  strict-app: attempts {[a.status_code for a in strict.attempts]} -> "
                  f"[bold]{strict.status}[/] (4xx is permanent: never retried)")
    return (flaky.status == "delivered" and strict.status == "failed"
            and all(d.status == "delivered" for d in ds if d.endpoint_id == good_id))


def _rotate(sender: Sender, receiver: DemoReceiver, good: CreatedEndpoint, catalog: Any) -> bool:
    """Step 4: a rotation whose two signatures verify for either secret's holder."""
    console.rule("4. Secret rotation with overlap")
    rot = sender.rotate_secret(TENANT, good.endpoint.id, overlap=3600, actor="demo")
    console.print(f"  new secret {rot.secret[:12]}… signs now; the old one signs beside "
                  f"it until {time.strftime('%H:%M:%S', time.localtime(rot.overlap_ends_at))}")
    # Two receivers: one still holds the old secret, one already has the new one.
    receiver.secrets["/billing"] = [good.secret, rot.secret]
    before = len(receiver.log)
    r = sender.send(TENANT, "invoice.paid", catalog.example("invoice.paid"))
    d = _wait(sender, [x for x, e in r.deliveries if e == good.endpoint.id])[0]
    for line in receiver.log[before:]:
        if "/billing" in line:
            console.print("  " + line, markup=False)
    return d.status == "delivered"


def _pinned_versions(sender: Sender, receiver: DemoReceiver, catalog: Any) -> bool:
    """Step 5: one payment.failed event; one endpoint pinned to v1, one on v2 (current)."""
    console.rule("5. Event versions pinned per endpoint")
    _add(sender, receiver, "legacy", "legacy-app", event_types=["payment.failed"],
         versions={"payment.failed": 1})
    _add(sender, receiver, "modern", "modern-app", event_types=["payment.failed"])
    sunset = catalog.get("payment.failed", 1).sunset
    console.print(f"  legacy-app is pinned to payment.failed v1 (deprecated, served until "
                  f"{sunset}); modern-app gets the current version, v2")
    r = sender.send(TENANT, "payment.failed", catalog.example("payment.failed"))
    console.print(f"  the provider sends v2 data once: event {r.event_id[:20]}…")
    before = len(receiver.log)
    ds = _wait(sender, [d for d, _ in r.deliveries])
    ok = all(d.status == "delivered" for d in ds)
    for line in receiver.log[before:]:
        if "/legacy" in line or "/modern" in line:
            console.print("  " + line, markup=False)
    for path, want in (("/legacy", 1), ("/modern", 2)):
        # The receiver stored the body once its signature verified (see _handle).
        raw = receiver.bodies.get(path, [b"{}"])[-1]
        try:
            event = json.loads(raw)
            catalog.validate(event["type"], event["data"], event["version"])
            fields = ", ".join(sorted(event["data"]))
            console.print(f"  {path[1:]}-app got v{event['version']} of {event['id'][:20]}…, "
                          f"valid for payment.failed v{event['version']} (data: {fields})",
                          markup=False)
            ok &= event["version"] == want and event["id"] == r.event_id
        except Exception as exc:  # shown, and the demo ends red
            console.print(f"  [red]{path[1:]}-app: body not valid for v{want}: {exc}[/]")
            ok = False
    return ok


def run(directory: str) -> int:
    """Run the demo with its store in ``directory``.

    Args:
        directory: A scratch directory.

    Returns:
        0 if everything behaved as shown.
    """
    catalog: Any = event_catalog()
    config = SenderConfig(
        database=str(Path(directory) / "demo.db"), master_key=generate_master_key(),
        allow_local=True, poll_interval=0.05,
        retry=RetryPolicy(schedule=(0.5, 1.0, 2.0), jitter=0.1, retry_after_cap=2.0),
    )
    sender = Sender(config)
    receiver = DemoReceiver().start()
    worker = BackgroundWorker(sender).start()
    try:
        console.rule("[bold]Hookseal demo: a durable webhook sender and SDK receivers")
        console.print(f"Store: SQLite (WAL) at {config.database}; receivers on 127.0.0.1:"
                      f"{receiver.port}; retry schedule {list(config.retry.schedule)} s.")
        console.rule("1. Endpoints")
        good = _add(sender, receiver, "billing", "billing-app")
        _add(sender, receiver, "flaky", "flaky-app", event_types=["invoice.paid"])
        _add(sender, receiver, "strict", "strict-app", event_types=["customer.created"])
        receiver.script["/flaky"] = [503, 503, 200]
        receiver.script["/strict"] = [400]

        console.rule("2. Events from the catalog, validated and enqueued")
        ds = _send_examples(sender, receiver, catalog)
        ok = _show_failures(ds, good.endpoint.id)
        ok &= _rotate(sender, receiver, good, catalog)

        ok &= _pinned_versions(sender, receiver, catalog)

        console.rule("6. Delivery log")
        console.print(_log_table(sender))
        console.print("[bold green]Demo finished: all behaved as expected.[/]" if ok
                      else "[bold red]Demo finished with unexpected results.[/]")
        return 0 if ok else 1
    finally:
        worker.stop()
        receiver.stop()
        sender.close()


def main() -> int:
    """Run the demo in a temporary directory.

    Returns:
        The exit status.
    """
    with tempfile.TemporaryDirectory(prefix="hookseal-demo-") as tmp:
        return run(tmp)


if __name__ == "__main__":
    sys.exit(main())
