"""The service's round budget for the model: pure arithmetic over measured times."""

import pytest

from frontage.service import InferenceBudget


def test_a_round_takes_as_many_frames_as_fit_its_share_of_the_period():
    budget = InferenceBudget(round_s=0.6, initial_frame_s=0.1)
    assert budget.frames() == 6
    assert budget.frames(spent_s=0.35) == 2
    assert budget.frames(spent_s=0.6) == 0


def test_the_model_always_makes_progress_even_when_one_frame_overruns_the_round():
    budget = InferenceBudget(round_s=0.3, initial_frame_s=2.0)
    assert budget.frames() == 1  # a slow box still sends its most urgent frame each round
    assert budget.frames(spent_s=0.01) == 0


def test_the_estimate_follows_what_the_model_measured():
    budget = InferenceBudget(round_s=1.0, initial_frame_s=0.5)
    for _ in range(20):
        budget.observe(0.1)
    assert budget.frame_s == pytest.approx(0.1, rel=0.01)
    assert budget.frames() in (9, 10)
    budget.observe(0.0)  # a zero measurement never divides by zero
    assert budget.frames() >= 10
