"""`frontage run`: live cameras -> detector -> zones -> cases, with reminders and escalation beside them.

Detection runs in the main loop; the dispatch side (due reminders and escalations, outbox delivery, polling
the city) runs in its own thread, so a slow or dead dispatch platform never stalls the cameras. Everything
that must survive a crash is in the store: on start, open violations are handed back to the dwell trackers,
and due times fire at their original times.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from detector.feed import DetectionsFeed
from detector.gate import ChangeGate
from detector.live import LatestFrame, StreamReader
from detector.types import FrameDetections
from dispatch.cases import CaseRecorder
from dispatch.db import CaseRow, make_engine
from dispatch.loop import DispatchLoop
from dispatch.workflow import Workflow
from frontage.clock import Clock, SystemClock
from frontage.config import Config, RuleKind
from zones.engine import ZoneEngine

log = logging.getLogger(__name__)


def restore_open_violations(engine: Engine, zones: ZoneEngine, cfg: Config, start: dt.datetime) -> int:
    """Give the dwell trackers back every violation still on the ground (not yet seen cleared), as of `start`.

    Whatever the case's state: a case the city closed or an operator dismissed while the object still stands
    must not open again just because the process restarted. The object counts as last seen at the restart,
    so a camera that was dark never makes a case look cleared."""
    cams = {c.id for c in cfg.cameras}
    with Session(engine) as s:
        rows = s.scalars(select(CaseRow).where(CaseRow.cleared_at.is_(None))).all()
    n = 0
    for row in rows:
        if row.camera_id not in cams:
            continue
        n += zones.restore(
            row.camera_id,
            RuleKind(row.kind),
            key=row.violation_key,
            shop_id=row.shop_id,
            box=tuple(row.box),
            object_class=row.object_class,
            first_seen_t=(row.first_seen_at - start).total_seconds(),
            opened_t=(row.opened_at - start).total_seconds(),
            t=0.0,
        )
    return n


# What a camera row in /cameras and /metrics counts besides its reader's own fields.
CAMERA_STATS = ("frames_handled", "frames_inferred", "frames_gated", "frames_deferred", "model_ms", "batch", "lag_s",
                "model_age_s")  # fmt: skip
ROUND_SHARE = 0.6  # of the sample period, the most one round spends in the model


class InferenceBudget:
    """How many frames one round may send to the model so that the round stays within `round_s`.

    Every camera's frame must be handled once per sample period, or lag grows without bound. When more frames
    are due than the model can take in time (cameras started together, re-checks falling due together, a busy
    street everywhere), the rest carry their last detections forward and go to the model in a later round,
    ordered by `GateDecision.priority`. The per-frame model time is a moving average of what it measured."""

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


@dataclass
class Stopper:
    """Set by SIGTERM/SIGINT or by a duration; both loops watch it."""

    event: threading.Event

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.event.set())


def run_service(
    cfg: Config,
    *,
    weights: str,
    db_url: str,
    snapshot_dir: Path,
    duration_s: float | None = None,
    clock: Clock | None = None,
    feed_epoch: dt.datetime | None = None,
    api_port: int | None = None,
) -> int:
    """Watch every camera until stopped; returns the number of cases this process opened.

    Cameras whose source is a `.jsonl` detections file are fed on the clock, their t=0 at `feed_epoch`
    (default: the start of this process), as recorded (no tracker: the rules re-associate parked objects).
    The operator API serves on cfg.api.host and `api_port` (default cfg.api.port; 0 picks a free port; -1 off)."""
    clock = clock or SystemClock()
    engine = make_engine(db_url)
    workflow = Workflow(engine, cfg, clock)
    zones = ZoneEngine(cfg, key_prefix=uuid.uuid4().hex[:12])
    start = clock.now()
    epoch = feed_epoch or start
    restored = restore_open_violations(engine, zones, cfg, start)
    if restored:
        log.info("restored %d open violation(s) from the store", restored)
    polygons = {(z.shop_id, z.camera_id): z.points for z in zones.zones}
    recorder = CaseRecorder(engine, snapshot_dir, polygons, workflow=workflow)

    skip = max(0.0, (start - epoch).total_seconds())
    feeds = {c.id: DetectionsFeed(c.source, c.id, skip) for c in cfg.cameras if c.source.endswith(".jsonl")}
    video = [c for c in cfg.cameras if c.source and c.id not in feeds]
    readers = {c.id: StreamReader(c.id, c.source, cfg.detector.sample_fps) for c in video}
    detector = trackers = None
    if video:  # the model and tracker load only when a camera has pixels
        from detector.tracking import Tracker
        from detector.yolo import YoloDetector

        detector = YoloDetector(cfg.detector, weights, cfg.rule_classes())
        trackers = {c.id: Tracker(cfg.detector.tracker, cfg.detector.sample_fps) for c in video}

    gate = ChangeGate(cfg.detector.gate_min_change, cfg.detector.gate_recheck_s)
    for cam in video:
        gate.set_region(cam.id, [pts for (_, cid), pts in polygons.items() if cid == cam.id], (cam.width, cam.height))
    stats = {c.id: dict.fromkeys(CAMERA_STATS, 0) for c in video}
    last_dets: dict[str, list] = {}
    workflow.camera_dark = lambda cam_id: cam_id in readers and readers[cam_id].state().state != "online"

    def camera_status() -> list[dict]:
        out = [{"id": cid, **r.state().as_dict(), **stats[cid], "source": r.source} for cid, r in readers.items()]
        return out + [
            {"id": cid, "state": f.state, "reconnects": 0, "source": "detections feed"} for cid, f in feeds.items()
        ]

    api = None
    port = cfg.api.port if api_port is None else api_port
    if port >= 0:
        from api.app import create_app
        from dispatch.open311_server import BackgroundServer

        app = create_app(cfg, engine, workflow, snapshot_dir=snapshot_dir, upload_dir=snapshot_dir.parent / "uploads",
                         camera_status=camera_status)  # fmt: skip
        api = BackgroundServer(app, cfg.api.host, port).start()
        log.warning("operator API and review page on %s/", api.url)

    stop = Stopper(threading.Event())
    stop.install()
    loop = DispatchLoop(engine, cfg, clock, workflow)  # built here: a bad sender setup fails the start, loudly
    dispatcher = threading.Thread(target=_dispatch_forever, args=(loop, stop.event), name="dispatch", daemon=True)
    dispatcher.start()
    for r in readers.values():
        r.start()

    def record(fd: FrameDetections, when: dt.datetime, image) -> None:
        for ev in zones.process(fd, when):
            try:
                recorder.handle(ev, start, image)
            except Exception:  # a store hiccup loses this event, not the service and its other cameras
                log.exception("could not record %s of %s", ev.type.value, ev.key)
                continue
            log.info("%s %s %s shop=%s", ev.type.value, ev.kind.value, ev.object_class, ev.shop_id)

    last_seq: dict[str, int] = {}
    stale_since: dict[str, float] = {}  # camera -> when the oldest changed picture the model has not seen came in
    last_model: dict[str, float] = {}  # camera -> when the model last saw one of its frames
    pending: dict[str, tuple] = {}  # camera -> (camera, frame, gate decision) due for the model, newest only

    def handled(cam_id: str, frame: LatestFrame, *, fresh: bool) -> None:
        """Lag is how far the rules run behind the camera: since the frame came in, or, while a changed picture
        waits for the model, since that picture came in (its detections carry forward meanwhile)."""
        since = frame.received
        if fresh:
            stale_since.pop(cam_id, None)
        else:
            since = stale_since.setdefault(cam_id, frame.received)
        now_mono = time.monotonic()
        stats[cam_id]["lag_s"] = round(now_mono - since, 3)
        # How old the detections the rules use are; the gate's re-check bounds it, load stretches it.
        stats[cam_id]["model_age_s"] = round(now_mono - last_model.get(cam_id, now_mono), 3)

    period = 1.0 / cfg.detector.sample_fps
    budget = InferenceBudget(ROUND_SHARE * period)
    wall0 = time.monotonic()
    try:
        while not stop.event.is_set() and (duration_s is None or time.monotonic() - wall0 < duration_s):
            tick = time.monotonic()
            now = clock.now()
            for feed in feeds.values():
                for fd in feed.due((now - epoch).total_seconds()):
                    when = epoch + dt.timedelta(seconds=fd.t)
                    fd.t = (when - start).total_seconds()
                    record(fd, when, None)
            t_run = (now - start).total_seconds()
            arrived: set[str] = set()  # cameras with a new frame this round: each new frame is handled once
            for cam in video:
                frame = readers[cam.id].latest()
                if frame is None or frame.seq == last_seq.get(cam.id):
                    continue
                last_seq[cam.id] = frame.seq
                stats[cam.id]["frames_handled"] += 1  # below: to the model, gated or held back, in this round
                decision = gate.decide(cam.id, frame.image, t_run, commit=False)
                if decision.infer:  # the newest frame due replaces one still waiting from an earlier round
                    pending[cam.id] = (cam, frame, decision)
                    arrived.add(cam.id)
                else:  # unchanged picture: the last detections carry forward, the dwell keeps counting
                    pending.pop(cam.id, None)
                    stats[cam.id]["frames_gated"] += 1
                    handled(cam.id, frame, fresh=True)
                    record(FrameDetections(cam.id, t_run, last_dets.get(cam.id, []), frame.image), now, frame.image)
            # To the model in priority order until this round's time for it is spent. Frames held back stay
            # pending: later rounds, between the cameras' frames, keep the model busy with them.
            queue = sorted(pending.values(), key=lambda d: d[2].priority)
            t_round, spent = time.perf_counter(), 0.0
            while queue:
                k = budget.frames(spent)
                if not k:
                    break
                chunk, queue = queue[:k], queue[k:]
                t_model = time.perf_counter()
                batch = detector.detect([f.image for _, f, _ in chunk])  # one call for every camera in the chunk
                per_frame_s = (time.perf_counter() - t_model) / len(chunk)
                budget.observe(per_frame_s)
                for (cam, frame, decision), raw in zip(chunk, batch, strict=True):
                    del pending[cam.id]
                    gate.sent(cam.id, decision)
                    dets = trackers[cam.id].update(raw, frame.image.shape[:2])
                    last_dets[cam.id] = dets
                    stats[cam.id]["frames_inferred"] += 1
                    stats[cam.id]["model_ms"] = round(per_frame_s * 1000, 1)
                    stats[cam.id]["batch"] = len(chunk)
                    last_model[cam.id] = time.monotonic()
                    handled(cam.id, frame, fresh=True)
                    record(FrameDetections(cam.id, t_run, dets, frame.image), now, frame.image)
                spent = time.perf_counter() - t_round
            for cam, frame, decision in queue:  # held back: carry forward now, stay pending for the next round
                if cam.id not in arrived:
                    continue  # handled when it came in; it only waits for the model
                stats[cam.id]["frames_deferred"] += 1
                handled(cam.id, frame, fresh=decision.reason == "recheck")  # a re-check: the picture is as inferred
                record(FrameDetections(cam.id, t_run, last_dets.get(cam.id, []), frame.image), now, frame.image)
            stop.event.wait(max(0.0, min(period, 0.2) - (time.monotonic() - tick)))
    finally:
        stop.event.set()
        for r in readers.values():
            r.stop()
        dispatcher.join(timeout=10)
        if api is not None:
            api.stop()
    return len(recorder.case_ids)


def _dispatch_forever(loop: DispatchLoop, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            loop.step()
        except Exception:  # keep the box alive; the outbox and due times make the next step retry
            log.exception("dispatch step failed")
        stop.wait(0.2)
