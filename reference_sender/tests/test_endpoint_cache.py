"""Tests of _endpoint_cache.py: how long a prepared endpoint is used before it is read again."""

from __future__ import annotations

import time

from hookseal_sender import Sender
from hookseal_sender._endpoint_cache import CACHE_SECONDS, prepare


def test_a_prepared_endpoint_is_read_again_within_the_cache_age_or_at_a_key_expiry(
        sender: Sender) -> None:
    created = sender.create_endpoint("t1", "http://127.0.0.1:9/hook", allow_local=True)
    ep_id = created.endpoint.id
    now = time.time()
    policy = sender.config.retry

    def valid_until() -> float:
        ep = sender.store.get_endpoint("t1", ep_id)
        assert ep is not None
        return prepare(ep, sender.store.keys(ep_id, now=now), policy, now).valid_until

    assert valid_until() == now + CACHE_SECONDS  # no key expires
    # The old secret signs for an hour more: still read again after CACHE_SECONDS.
    sender.rotate_secret("t1", ep_id, overlap=3600)
    assert valid_until() == now + CACHE_SECONDS
    # A key that stops signing sooner makes the entry stale when it does.
    sender.rotate_secret("t1", ep_id, overlap=5)
    assert now < valid_until() <= now + 5 + 1
