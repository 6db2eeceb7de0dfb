"""Which live frames go to the model each round: the budget's arithmetic, then whole rounds."""

import numpy as np
import pytest

from detector.gate import ChangeGate
from detector.readers import LatestFrame
from detector.scheduling import FrameScheduler, InferenceBudget
from detector.types import Detection, Evidence


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


# -- whole rounds: the real change gate, a model whose time the test controls ---------------------------------------


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class TimedModel:
    """Takes `cost` seconds of the test's clock per frame and finds one car, tagged with the frame's brightness."""

    def __init__(self, clock: Clock, cost: float):
        self.clock, self.cost, self.seen = clock, cost, []

    def detect(self, images):
        self.seen.append([int(img[0, 0, 0]) for img in images])
        self.clock.t += self.cost * len(images)
        return [[Detection("car", 0.9, (0, 0, 10, 10), track_id=int(img[0, 0, 0]))] for img in images]


class PassThrough:
    def update(self, detections, shape):
        return detections


def picture(level: int) -> np.ndarray:
    return np.full((72, 128, 3), level, np.uint8)


def make(cams, clock, cost=0.1, round_s=0.25, recheck_s=60, max_carry_s=2.0):
    model = TimedModel(clock, cost)
    sched = FrameScheduler(cams, ChangeGate(recheck_s=recheck_s), model, {c: PassThrough() for c in cams},
                           InferenceBudget(round_s, initial_frame_s=cost), timer=clock,
                           max_carry_s=max_carry_s)  # fmt: skip
    return sched, model


def frames(cams, level, seq, clock):
    return {c: LatestFrame(picture(level), seq, float(seq), clock.t) for c in cams}


def test_frames_beyond_the_rounds_budget_carry_forward_once_and_reach_the_model_in_later_rounds():
    cams = [f"c{i}" for i in range(5)]
    clock = Clock()
    sched, model = make(cams, clock)
    records = []
    sched.step(frames(cams, 50, 1, clock), 0.0, lambda c, d, img, ev: records.append((c, len(d))))
    assert model.seen == [[50, 50]]  # 0.25 s of a 0.1 s-per-frame model: two frames this round
    assert sorted(records) == sorted([(c, 0) for c in cams[2:]] + [(c, 1) for c in cams[:2]])
    for _ in range(3):  # no new frames: the pending ones keep the model busy
        sched.step({c: None for c in cams}, 0.2, lambda c, d, img, ev: records.append((c, len(d))))
    assert sum(len(call) for call in model.seen) == 5 and not sched.pending
    assert all(s["frames_handled"] == 1 and s["frames_inferred"] == 1 for s in sched.stats.values())
    assert sum(s["frames_deferred"] for s in sched.stats.values()) == 3


def test_the_newest_due_frame_replaces_one_still_waiting():
    clock = Clock()
    sched, model = make(["a", "b"], clock, cost=0.3, round_s=0.25)
    sched.step(frames(["a", "b"], 50, 1, clock), 0.0, lambda *_: None)  # one frame fits: b waits
    assert model.seen == [[50]] and list(sched.pending) == ["b"]
    sched.step({"a": None, "b": LatestFrame(picture(200), 2, 2.0, clock.t)}, 1.0, lambda *_: None)
    assert model.seen[-1] == [200]  # b's newer picture went, not the stale one


def test_lag_counts_a_changed_picture_waiting_for_the_model():
    clock = Clock()
    sched, _ = make(["a", "b"], clock, cost=1.0, round_s=0.5)
    sched.step(frames(["a", "b"], 50, 1, clock), 0.0, lambda *_: None)  # a to the model, b held back
    assert sched.stats["b"]["lag_s"] == 1.0  # came in at 100.0, handled at 101.0
    clock.t += 2.0
    sched.step({"a": None, "b": None}, 1.0, lambda *_: None)  # b's waiting picture goes now
    assert sched.stats["b"]["lag_s"] == 4.0 and not sched.pending  # in at 100.0, the model done at 104.0
    assert sched.stats["b"]["model_age_s"] == 0.0


def test_an_unchanged_picture_skips_the_model_and_clears_what_waited():
    clock = Clock()
    sched, model = make(["a"], clock)
    sched.step(frames(["a"], 50, 1, clock), 0.0, lambda *_: None)
    got = []
    sched.step(frames(["a"], 50, 2, clock), 1.0, lambda c, d, img, ev: got.append(d))
    assert model.seen == [[50]] and got == [[Detection("car", 0.9, (0, 0, 10, 10), track_id=50)]]
    assert sched.stats["a"]["frames_gated"] == 1 and sched.stats["a"]["frames_handled"] == 2
    sched.step(frames(["a"], 50, 2, clock), 2.0, lambda *_: None)  # the same frame again: not handled twice
    assert sched.stats["a"]["frames_handled"] == 2


# -- what each frame's detections are worth -------------------------------------------------------------------


def test_each_frame_says_whether_the_model_saw_it_or_what_stands_in_for_it():
    clock = Clock()
    sched, model = make(["a", "b"], clock, cost=1.0, round_s=0.5, max_carry_s=2.5)
    got = []

    def record(cam, dets, img, evidence):
        got.append((cam, evidence))

    sched.step(frames(["a", "b"], 50, 1, clock), 0.0, record)  # a goes to the model; b's first frame waits
    assert got == [("a", Evidence.seen), ("b", Evidence.carried)]
    got.clear()
    sched.step(frames(["a"], 50, 2, clock) | {"b": LatestFrame(picture(60), 2, 2.0, clock.t)}, 1.0, record)
    # a's picture is unchanged: no model, its detections hold. b's waiting picture went to the model this round.
    assert got == [("a", Evidence.unchanged), ("b", Evidence.seen)]


def test_carried_detections_turn_unknown_once_older_than_the_allowance():
    # Four busy cameras whose pictures change every round, a model with time for one frame a round (1 s each):
    # each camera is seen every fourth round. Between, its detections are carried while younger than 2 s.
    clock = Clock()
    cams = ["c0", "c1", "c2", "c3"]
    sched, model = make(cams, clock, cost=1.0, round_s=0.5, max_carry_s=2.0)
    got = []
    for i in range(12):
        fr = {c: LatestFrame(picture(20 + 15 * i + k), i + 1, float(i), clock.t) for k, c in enumerate(cams)}
        sched.step(fr, float(i), lambda cam, d, img, ev: got.append((cam, ev)))
    c0 = [ev for cam, ev in got if cam == "c0"][4:]  # after the first four rounds
    assert c0 == [Evidence.seen, Evidence.carried, Evidence.carried, Evidence.unknown] * 2
    assert all(s["frames_unknown"] >= 2 for s in sched.stats.values())
    assert all(s["check_period_s"] == pytest.approx(4.0) for s in sched.stats.values())


def test_a_recheck_held_back_is_still_the_picture_the_model_saw():
    clock = Clock()
    sched, model = make(["a", "b"], clock, cost=1.0, round_s=0.5, recheck_s=5)
    sched.step(frames(["a", "b"], 50, 1, clock), 0.0, lambda *a: None)
    sched.step({"a": None, "b": None}, 0.5, lambda *a: None)  # b's first frame goes now
    got = []
    clock.t += 10  # both due for a re-check; only one fits the round
    sched.step(frames(["a", "b"], 50, 2, clock), 10.0, lambda cam, d, img, ev: got.append((cam, ev)))
    assert sorted(got) == [("a", Evidence.seen), ("b", Evidence.unchanged)]


def test_a_requested_look_sends_an_unchanged_picture_to_the_model_and_slow_looks_show():
    clock = Clock()
    sched, model = make(["a"], clock, cost=0.1)
    sched.step(frames(["a"], 50, 1, clock), 0.0, lambda *a: None)
    got = []
    sched.step(frames(["a"], 50, 2, clock), 0.5, lambda cam, d, img, ev: got.append(ev))
    assert got == [Evidence.unchanged]
    sched.request_look("a")  # a case waits for a frame the model sees
    clock.t += 4.0
    sched.step(frames(["a"], 50, 3, clock), 1.0, lambda cam, d, img, ev: got.append(ev))
    assert got[-1] is Evidence.seen and len(model.seen) == 2
    assert sched.stats["a"]["check_period_s"] == pytest.approx(4.1)  # the model's looks, 4.1 s apart


def test_a_seen_frame_reaches_the_rules_with_the_very_picture_the_model_saw():
    # The rules open a case only on a `seen` frame and take its image for the evidence snapshot.
    clock = Clock()
    sched, model = make(["a", "b"], clock, cost=1.0, round_s=0.5)
    shown = []
    model_in = []
    detect = model.detect
    model.detect = lambda images: (model_in.extend(id(i) for i in images), detect(images))[1]
    for seq in (1, 2, 3):
        fr = {c: LatestFrame(picture(30 * seq + k), seq, float(seq), clock.t) for k, c in enumerate("ab")}
        sched.step(fr, float(seq), lambda cam, d, img, ev: shown.append((id(img), ev)))
    seen = [img for img, ev in shown if ev is Evidence.seen]
    assert seen and seen == model_in  # every seen frame is one the model got, in order; none other is `seen`
