"""Tests of models.py: ids."""

from __future__ import annotations

import threading

import pytest
from hookseal_sender import models
from hookseal_sender.models import id_at, new_id


def test_ids_made_in_one_process_sort_in_the_order_made() -> None:
    # Thousands fall in each millisecond: random tails alone sorted them at random.
    ids = [new_id("rev") for _ in range(20_000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert len({i[4:16] for i in ids}) < len(ids)  # many shared a millisecond
    assert all(len(i) == 4 + 28 for i in ids)


def test_ids_from_threads_are_unique_and_ordered_per_thread() -> None:
    made: list[list[str]] = [[] for _ in range(4)]

    def make(out: list[str]) -> None:
        out.extend(new_id("dlv") for _ in range(5_000))

    threads = [threading.Thread(target=make, args=(out,)) for out in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(out == sorted(out) for out in made)
    assert len({i for out in made for i in out}) == 20_000


def test_a_used_up_millisecond_or_a_clock_step_back_keeps_the_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    now = 1_800_000_000.0
    monkeypatch.setattr(models.time, "time", lambda: now)
    monkeypatch.setattr(models, "_last", [int(now * 1000), (1 << 64) - 2])
    first, second = new_id("evt"), new_id("evt")
    assert first < second
    assert second.startswith(id_at("evt", now + 0.001))  # the next millisecond, borrowed
    now -= 5.0  # the clock stepped back
    assert new_id("evt") > second
    assert new_id("evt") >= id_at("evt", now)
