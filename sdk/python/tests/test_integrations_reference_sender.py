"""A real delivery from the reference sender (hookseal_sender) to a Flask receiver over HTTP.

The sender signs with its own worker path, retries a 500, and replays; the receiver uses
``hookseal.integrations.flask.verify_webhook`` with a SQLite ``ProcessOnce``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from receiving_fixtures import wait_for

flask = pytest.importorskip("flask", reason="needs hookseal[flask]")
sender_pkg = pytest.importorskip("hookseal_sender", reason="needs the hookseal-sender package")

import hookseal  # noqa: E402
from hookseal.idempotency import ProcessOnce, SQLiteIdempotencyStore  # noqa: E402
from hookseal.integrations.flask import verify_webhook  # noqa: E402
from hookseal_sender import BackgroundWorker, Sender, SenderConfig  # noqa: E402
from hookseal_sender.config import RetryPolicy  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402


class FlaskReceiver:
    """A Flask app served over loopback in a thread; the first call of each event fails."""

    def __init__(self, tmp: Path) -> None:
        self.secret: str | None = None
        self.runs: list[str] = []
        self.once = ProcessOnce(SQLiteIdempotencyStore(tmp / "receiver.db"))
        self.app = flask.Flask(__name__)
        self.app.add_url_rule("/webhooks", "webhooks", self._view, methods=["POST"])
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/webhooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _view(self) -> Any:
        assert self.secret is not None

        @verify_webhook(hookseal.Webhook(self.secret), once=self.once)
        def handle(event: dict[str, Any]) -> Any:
            self.runs.append(event["id"])
            if self.runs.count(event["id"]) == 1:
                return {"error": "database busy"}, 500  # the sender must retry
            return {"ok": True}

        return handle()

    def __enter__(self) -> FlaskReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)


@pytest.fixture
def sender(tmp_path: Path) -> Iterator[Sender]:
    config = SenderConfig(
        database=f"sqlite:///{tmp_path / 'sender.db'}",
        master_key=sender_pkg.generate_master_key(), allow_local=True, poll_interval=0.02,
        retry=RetryPolicy(schedule=(0.1, 0.1, 0.1), jitter=0.0, retry_after_cap=1.0),
    )
    s = Sender(config)
    yield s
    s.close()


def test_reference_sender_delivery_is_verified_retried_and_processed_once(
    sender: Sender, tmp_path: Path
) -> None:
    with FlaskReceiver(tmp_path) as receiver:
        endpoint = sender.create_endpoint("t1", receiver.url, allow_local=True)
        receiver.secret = endpoint.secret
        worker = BackgroundWorker(sender).start()
        try:
            data = sender_pkg.catalog._catalog().example("invoice.paid")
            result = sender.send("t1", "invoice.paid", data)
            delivery_id = result.deliveries[0][0]

            def finished() -> Any:
                d = sender.get_delivery("t1", delivery_id)
                return d if d.status not in ("pending", "delivering") else None

            wait_for(finished, timeout=20)
            delivery = sender.get_delivery("t1", delivery_id)
            assert delivery.status == "delivered"
            assert [a.status_code for a in delivery.attempts] == [500, 200]
            assert receiver.runs == [delivery.event_id, delivery.event_id]

            # A replay of a processed event is answered 2xx without running the handler.
            sender.replay("t1", delivery_id)
            wait_for(lambda: len(sender.get_delivery("t1", delivery_id).attempts) == 3, timeout=20)
            wait_for(finished, timeout=20)
            replayed = sender.get_delivery("t1", delivery_id)
            assert replayed.status == "delivered"
            assert replayed.attempts[-1].status_code == 200
            assert '"duplicate"' in replayed.attempts[-1].response_body
        finally:
            worker.stop()
    assert receiver.runs == [delivery.event_id, delivery.event_id]
