"""Fixtures: a local receiver, a sender on SQLite or a real PostgreSQL server."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hookseal_sender import BackgroundWorker, Sender, SenderConfig, generate_master_key
from hookseal_sender.config import RetryPolicy
from hookseal_sender.secretbox import SecretBox
from hookseal_sender.storage import open_store

from ._pg import PostgresServer
from ._receiver import Receiver

_counter = itertools.count()

#: Names the fake resolver knows; everything else fails to resolve.
FAKE_DNS: dict[str, list[str]] = {
    "hooks.example.com": ["93.184.216.34"],
    "public.example.net": ["8.8.8.8", "2001:4860:4860::8888"],
}


async def fake_resolve(host: str, port: int) -> Sequence[str]:
    if host in FAKE_DNS:
        return FAKE_DNS[host]
    raise OSError(f"fake DNS: unknown name {host}")


def wait_for(pred: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    reason = PostgresServer.missing()
    if reason:
        pytest.skip(f"PostgreSQL tests need a local server: {reason}")
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sender.db'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.create_db(f"t{next(_counter)}_{int(time.time() * 1000) % 10**8}")


@pytest.fixture
def master_key() -> str:
    return generate_master_key()


@pytest.fixture
def config(db_url: str, master_key: str) -> SenderConfig:
    return SenderConfig(
        database=db_url, master_key=master_key, allow_local=True, poll_interval=0.02,
        visibility_timeout=30.0, retry=RetryPolicy(schedule=(0.2, 0.2, 0.2), jitter=0.0,
                                                   retry_after_cap=1.0),
    )


@pytest.fixture
def sender(config: SenderConfig) -> Iterator[Sender]:
    s = Sender(config, resolve=fake_resolve)
    yield s
    s.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def worker(sender: Sender) -> Iterator[Callable[..., BackgroundWorker]]:
    started: list[BackgroundWorker] = []

    def start(**kw: Any) -> BackgroundWorker:
        w = BackgroundWorker(sender, **kw).start()
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


def reopen(config: SenderConfig) -> Any:
    return open_store(config.database, SecretBox(config.master_key or ""))
