"""Which live frames go to the model, round by round, so that many cameras on two cores never fall behind.

Each round takes every camera's new frame once. The change gate sends an unchanged picture straight to the
rules with its last detections. The frames it lets through go to the model in priority order, in one call per
chunk, for as long as the round's share of the sample period lasts. What does not fit carries its last
detections forward now and stays pending (the newest frame per camera). Later rounds, between the cameras'
frames, keep the model busy with them. Lag is measured as the rules see it: a changed picture still waiting
for the model counts from when it came in.

Each frame goes to the rules labelled with what its detections are worth (`Evidence`): seen by the model,
unchanged since the model saw it (the gate says so), or carried forward onto a changed picture the model has
not seen, which stays watched time only for `max_carry_s` and is unknown after that. Overload thus makes the
cameras checked less often (`check_period_s`, `frames_unknown`) and the rules wait; it never makes them guess.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from detector.gate import ChangeGate, GateDecision
from detector.readers import LatestFrame
from detector.types import Detection, Evidence

# What a camera row in /cameras and /metrics counts besides its reader's own fields.
CAMERA_STATS = ("frames_handled", "frames_inferred", "frames_gated", "frames_deferred", "frames_unknown", "model_ms",
                "batch", "lag_s", "model_age_s", "check_period_s")  # fmt: skip
ROUND_SHARE = 0.6  # of the sample period, the most one round spends in the model


class InferenceBudget:
    """How many frames one round may send to the model so that the round stays within `round_s`.

    The per-frame model time is a moving average of what was measured."""

    def __init__(self, round_s: float, initial_frame_s: float = 0.2):
        self.round_s = round_s
        self.frame_s = initial_frame_s

    def frames(self, spent_s: float = 0.0) -> int:
        """Frames for the next model call: as many as fit what is left of the round after `spent_s`, and at
        least one when the round has spent nothing (the model always makes progress)."""
        fit = int((self.round_s - spent_s) / self.frame_s + 1e-9)
        return max(fit, 1 if spent_s <= 0 else 0)

    def observe(self, frame_s: float) -> None:
        self.frame_s = 0.7 * self.frame_s + 0.3 * max(frame_s, 1e-4)


class Detector(Protocol):
    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]: ...


class Tracks(Protocol):
    def update(self, detections: list[Detection], shape: tuple[int, int]) -> list[Detection]: ...


class Watch(Protocol):
    """What looks at every frame beside the model (static objects, the view guard)."""

    def look(self, image: np.ndarray, t: float) -> bool: ...  # True: the model should see this frame now

    def augment(self, detections: list[Detection], t: float) -> list[Detection]: ...


# (camera id, detections, image, what the detections are worth for this image): the rules take it from here.
Record = Callable[[str, list[Detection], np.ndarray, Evidence], None]
UNCHANGED_REASONS = ("recheck", "requested")  # frames due although the picture did not change


@dataclass
class _Due:
    camera_id: str
    frame: LatestFrame
    decision: GateDecision


class FrameScheduler:
    """Per-camera state across rounds: the last frame seen, the detections carried forward, the frame pending
    for the model, and the counters `/cameras` shows. `timer` is injected so tests control the model's time."""

    def __init__(self, camera_ids: Sequence[str], gate: ChangeGate, detector: Detector, trackers: dict[str, Tracks],
                 budget: InferenceBudget, timer: Callable[[], float] = time.monotonic,
                 max_carry_s: float = 2.0, watches: dict[str, Watch] | None = None):  # fmt: skip
        self.gate, self.detector, self.trackers, self.budget, self.timer = gate, detector, trackers, budget, timer
        self.watches = watches or {}
        self.max_carry_s = max_carry_s
        self.stats: dict[str, dict[str, float]] = {c: dict.fromkeys(CAMERA_STATS, 0) for c in camera_ids}
        self.last_dets: dict[str, list[Detection]] = {}
        self.pending: dict[str, _Due] = {}
        self._last_seq: dict[str, int] = {}
        self._stale_since: dict[str, float] = {}  # when the oldest changed picture the model has not seen came in
        self._last_model: dict[str, float] = {}

    def step(self, frames: dict[str, LatestFrame | None], t: float, record: Record) -> None:
        """One round: `frames` holds each camera's newest frame, `t` is the rules' time for this round."""
        arrived: set[str] = set()
        for cam, frame in frames.items():
            if frame is None or frame.seq == self._last_seq.get(cam):
                continue
            self._last_seq[cam] = frame.seq
            self.stats[cam]["frames_handled"] += 1
            watch = self.watches.get(cam)
            if watch is not None and watch.look(frame.image, t):
                self.gate.request(cam)  # the view changed, or something new settled: the model looks now
            decision = self.gate.decide(cam, frame.image, t, commit=False)
            if decision.infer:  # the newest frame due replaces one still waiting from an earlier round
                self.pending[cam] = _Due(cam, frame, decision)
                arrived.add(cam)
            else:  # unchanged picture: the last detections carry forward, the dwell keeps counting
                self.pending.pop(cam, None)
                self.stats[cam]["frames_gated"] += 1
                self._handled(cam, frame, fresh=True)
                record(cam, self.last_dets.get(cam, []), frame.image, Evidence.unchanged)
        queue = sorted(self.pending.values(), key=lambda d: d.decision.priority)
        t_round, spent = self.timer(), 0.0
        while queue:
            k = self.budget.frames(spent)
            if not k:
                break
            chunk, queue = queue[:k], queue[k:]
            self._infer(chunk, record, t)
            spent = self.timer() - t_round
        for due in queue:  # held back: carry forward now (once per frame), stay pending for the next round
            cam = due.camera_id
            if cam in arrived:
                self.stats[cam]["frames_deferred"] += 1
                unchanged = due.decision.reason in UNCHANGED_REASONS
                waited = self._handled(cam, due.frame, fresh=unchanged)
                if unchanged:
                    evidence = Evidence.unchanged
                elif waited <= self.max_carry_s:
                    evidence = Evidence.carried
                else:
                    evidence = Evidence.unknown
                    self.stats[cam]["frames_unknown"] += 1
                record(cam, self.last_dets.get(cam, []), due.frame.image, evidence)

    def request_look(self, camera_id: str) -> None:
        """The rules wait for a frame the model sees (a case is due): send this camera's next frame to the model
        as urgently as a change."""
        self.gate.request(camera_id)

    def _infer(self, chunk: list[_Due], record: Record, t: float) -> None:
        t0 = self.timer()
        batch = self.detector.detect([d.frame.image for d in chunk])  # one call for every camera in the chunk
        done = self.timer()
        per_frame_s = (done - t0) / len(chunk)
        self.budget.observe(per_frame_s)
        for due, raw in zip(chunk, batch, strict=True):
            cam = due.camera_id
            if (watch := self.watches.get(cam)) is not None:
                raw = watch.augment(raw, t)
            del self.pending[cam]
            self.gate.sent(cam, due.decision)
            dets = self.trackers[cam].update(raw, due.frame.image.shape[:2])
            self.last_dets[cam] = dets
            s = self.stats[cam]
            s["frames_inferred"] += 1
            s["model_ms"] = round(per_frame_s * 1000, 1)
            s["batch"] = len(chunk)
            if cam in self._last_model:  # how often the model looks at this camera: load stretches it
                period = done - self._last_model[cam]
                s["check_period_s"] = round(period if not s["check_period_s"] else
                                            0.8 * s["check_period_s"] + 0.2 * period, 3)  # fmt: skip
            self._last_model[cam] = done
            self._handled(cam, due.frame, fresh=True)
            record(cam, dets, due.frame.image, Evidence.seen)

    def _handled(self, cam: str, frame: LatestFrame, *, fresh: bool) -> float:
        """Lag is how far the rules run behind the camera: since the frame came in, or, while a changed picture
        waits for the model, since that picture came in (its detections carry forward meanwhile). A re-check
        held back is fresh: the picture is the one the model saw. Returns the lag."""
        since = frame.received
        if fresh:
            self._stale_since.pop(cam, None)
        else:
            since = self._stale_since.setdefault(cam, frame.received)
        now = self.timer()
        self.stats[cam]["lag_s"] = round(now - since, 3)
        # How old the detections the rules use are: the gate's re-check bounds it, load stretches it.
        self.stats[cam]["model_age_s"] = round(now - self._last_model.get(cam, now), 3)
        return now - since
