"""The capacity benchmark's model (``bench/_capacity.py``): costs per delivery of one
worker process at full speed, the share of the machine it kept busy, and what they
predict for more processes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from _capacity import Model, lag_for


def _run(rate: float, sender: float, pg: float, receiver: float) -> dict[str, float]:
    return {"processes": 1, "rate": rate, "sender_us": sender, "pg_us": pg,
            "receiver_us": receiver, "relay": 0.0, "lag": 0.0}


def test_one_process_predicts_the_rate_it_was_made_from() -> None:
    model = Model([_run(3900, 190, 145, 70), _run(4000, 192, 140, 70)], cores=2)
    assert not model.process_bound  # its core was 76 % busy
    assert model.predict(1) == pytest.approx(3950, rel=1e-3)


def test_a_machine_bound_run_leaves_no_room_for_a_second_process() -> None:
    # One process kept 80 % of two cores busy: the machine, not the process, was the
    # limit, so a second process brings no more deliveries.
    model = Model([_run(4000, 200, 150, 50)], cores=2)
    assert model.util == pytest.approx(0.8)
    assert model.predict(2) == pytest.approx(4000)
    assert model.predict(2) == pytest.approx(model.predict(1))


def test_a_process_bound_run_leaves_the_machine_to_more_processes() -> None:
    # A worker core at full use (1e6 / 250 us = 4,000/s) was the limit of one process;
    # on 4 cores a second process doubles the deliveries, a fourth meets the machine.
    model = Model([_run(4000, 250, 20, 10)], cores=4)
    assert model.process_bound and model.util == 1.0
    assert model.predict(2) == pytest.approx(8000)
    assert model.predict(3) == pytest.approx(12_000)
    assert model.predict(4) == pytest.approx(4e6 / 280)


def test_postgresql_and_the_receiver_on_one_core_bound_every_count_of_processes() -> None:
    model = Model([_run(2000, 100, 300, 200)], cores=8)
    assert model.predict(1) == pytest.approx(2000)  # its core: 1e6 / 500 us
    assert model.predict(6) == pytest.approx(2000)


def test_the_lag_halves_the_rate_with_the_slots_busy() -> None:
    assert lag_for(4000) == 50
    assert lag_for(1000, slots=10) == 20
