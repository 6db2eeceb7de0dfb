"""`frontage run`: live cameras -> detector -> zones -> cases, on the system clock."""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path

from detector.live import CameraReader
from detector.tracking import Tracker
from detector.types import FrameDetections
from detector.yolo import YoloDetector
from dispatch.cases import CaseRecorder
from dispatch.db import make_engine
from dispatch.workflow import Workflow
from frontage.clock import Clock, SystemClock
from frontage.config import Config
from frontage.replay import rule_classes
from zones.engine import ZoneEngine

log = logging.getLogger(__name__)


def run_service(
    cfg: Config,
    *,
    weights: str,
    db_url: str,
    snapshot_dir: Path,
    duration_s: float | None = None,
    clock: Clock | None = None,
) -> int:
    """Sample every camera's newest frame at `sample_fps` until stopped; returns the number of cases opened."""
    clock = clock or SystemClock()
    detector = YoloDetector(cfg.detector, weights, rule_classes(cfg))
    zones = ZoneEngine(cfg, key_prefix=uuid.uuid4().hex[:12])
    polygons = {(z.shop_id, z.camera_id): z.points for z in zones.zones}
    engine = make_engine(db_url)
    workflow = Workflow(engine, cfg, clock)
    recorder = CaseRecorder(engine, snapshot_dir, polygons, workflow=workflow)
    cams = [c for c in cfg.cameras if c.source]
    readers = {c.id: CameraReader(c.id, c.source) for c in cams}
    trackers = {c.id: Tracker(cfg.detector.tracker, cfg.detector.sample_fps) for c in cams}
    last_seq: dict[str, int] = {}
    start = clock.now()
    period = 1.0 / cfg.detector.sample_fps
    for r in readers.values():
        r.start()
    try:
        while duration_s is None or (clock.now() - start).total_seconds() < duration_s:
            tick = time.monotonic()
            for cam in cams:
                frame = readers[cam.id].latest()
                if frame is None or frame.seq == last_seq.get(cam.id):
                    continue
                last_seq[cam.id] = frame.seq
                now = clock.now()
                t = (now - start).total_seconds()
                dets = trackers[cam.id].update(detector.detect([frame.image])[0], frame.image.shape[:2])
                for ev in zones.process(FrameDetections(cam.id, t, dets, frame.image), now):
                    recorder.handle(ev, start, frame.image)
                    log.info("%s %s %s shop=%s", ev.type.value, ev.kind.value, ev.object_class, ev.shop_id)
            workflow.tick()
            if all(r.state == "ended" for r in readers.values()):
                break
            time.sleep(max(0.0, period - (time.monotonic() - tick)))
    finally:
        for r in readers.values():
            r.stop()
    return len(recorder.case_ids)
