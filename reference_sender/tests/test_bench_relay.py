"""The capacity benchmark's counting relay (``bench/_relay.py``): bytes each way, and a
round trip per client burst answered, however many messages a burst carries."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from _relay import Relay


@pytest.fixture
def server() -> Iterator[int]:
    """A line server: each line of ``;``-separated messages is answered with one
    ``ok\n`` per message, in one write; after answering ``push`` it waits, then sends
    ``note\n`` unasked."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, conn.makefile("rb") as lines:
            for line in lines:
                text = line.decode().strip()
                conn.sendall(b"ok\n" * len(text.split(";")))
                if text == "push":
                    stop.wait(0.3)  # a separate burst, nobody asked for it
                    conn.sendall(b"note\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    stop.set()
    listener.close()


def _read(f: object, lines: int) -> list[bytes]:
    return [f.readline() for _ in range(lines)]  # type: ignore[attr-defined]


def test_it_counts_bytes_and_one_round_trip_per_answered_burst(server: int) -> None:
    relay = Relay([server])
    try:
        with socket.create_connection(("127.0.0.1", relay.ports[0])) as client, \
                client.makefile("rb") as f:
            client.sendall(b"a;b;c\n")  # three messages in one burst (a pipeline)
            assert _read(f, 3) == [b"ok\n"] * 3
            client.sendall(b"d\n")
            assert _read(f, 1) == [b"ok\n"]
            client.sendall(b"push\n")
            assert _read(f, 2) == [b"ok\n", b"note\n"]
            (counts,) = relay.counts()
        assert counts.up == len(b"a;b;c\nd\npush\n")
        assert counts.down == len(b"ok\n" * 5 + b"note\n")
        # The pipeline is one, "d" one, "push" one; the unasked note after it is none.
        assert counts.trips == 3
        assert counts.connections == 1
    finally:
        relay.close()
    assert relay.proc.returncode == 0
