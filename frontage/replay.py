"""Replay a recording (video or detections JSONL) through detector -> zones -> cases, on the recording's clock.

This module wires the layers together, so it sits above all of them. It runs as fast as the machine allows;
the clock is the recording's own timestamps, so a case that opens ten minutes into a video opens at
start + 10 min however long the replay took.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import resource
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av
from sqlalchemy.engine import Engine

from detector.sources import (
    JsonlDetectionsSource,
    SourceError,
    VideoFileSource,
    blank_image,
    write_detections_line,
)
from detector.tracking import Tracker
from detector.types import Evidence, FrameDetections
from detector.yolo import YoloDetector
from dispatch.baselines import latest_baseline, record_camera_event
from dispatch.cases import CaseRecorder
from dispatch.db import make_engine
from dispatch.evidence import privacy_finder
from dispatch.loop import DispatchLoop
from dispatch.workflow import Workflow
from frontage.assets import default_weights
from frontage.clock import ManualClock
from frontage.config import Config, Fixture
from frontage.watch import CameraEvent, CameraWatch
from register.evidence_keys import evidence_key_source
from register.frontages import check, config_frontages, ensure
from register.shops import shop_lookup
from zones.engine import ZoneEngine

log = logging.getLogger(__name__)


@dataclass
class ReplayReport:
    input: str
    camera_ids: list[str]
    started_at: str
    weights: str | None
    cases: list[dict] = field(default_factory=list)
    frames_read: int = 0
    frames_inferred: int = 0
    frames_corrupt: int = 0
    duration_s: float = 0.0
    wall_s: float = 0.0
    realtime_factor: float | None = None
    zones_versions: dict[str, int] = field(default_factory=dict)  # the store's zone version each camera ran
    peak_rss_mb: float = 0.0
    camera_events: list[dict] = field(default_factory=list)  # the view guard's: re-registered, moved, restored

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)


def recording_start(path: Path) -> dt.datetime:
    """When the recording began: the container's creation_time tag, else the file's modification time."""
    if path.suffix.lower() != ".jsonl":
        try:
            with av.open(str(path)) as c:
                tag = c.metadata.get("creation_time") or c.streams.video[0].metadata.get("creation_time")
            if tag:
                return dt.datetime.fromisoformat(tag.replace("Z", "+00:00")).astimezone(dt.UTC)
        except (av.error.FFmpegError, IndexError, ValueError):
            pass
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(microsecond=0)


def recording_key(path: Path, camera_id: str | None) -> str:
    """The violation-key prefix of a replay: the recording's content (and the camera it stands for), so replaying
    the same recording into the same store finds its cases instead of opening copies of them."""
    digest = hashlib.sha256(f"{camera_id or ''}\0".encode())
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return "rec-" + digest.hexdigest()[:16]


def pick_camera(cfg: Config, video: Path, camera_id: str | None) -> str:
    """The camera a video file stands for: --camera, else the one whose source is this file, else the only one."""
    ids = [c.id for c in cfg.cameras]
    if camera_id:
        if camera_id not in ids:
            raise SourceError(f"--camera {camera_id!r} is not in the config (cameras: {ids})")
        return camera_id
    by_name = [c.id for c in cfg.cameras if c.source and Path(c.source).name == video.name]
    if len(by_name) == 1:
        return by_name[0]
    if len(ids) == 1:
        return ids[0]
    raise SourceError(f"{video}: cannot tell which camera this video is; pass --camera (one of {ids})")


class DetectionStream:
    """Sampled, detected and tracked frames from a video or a JSONL file, with the counters the report needs.

    For a video, each camera's watch (static objects, view guard) looks at every sampled frame; the frames of a
    camera whose view is suspended go to the rules as unknown time."""

    def __init__(self, cfg: Config, path: Path, weights: str | None, camera_id: str | None,
                 zones: ZoneEngine | None = None, start: dt.datetime | None = None,
                 on_event: CameraEvent | None = None):  # fmt: skip
        self.cfg, self.path = cfg, path
        self.start = start or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        self.watches: dict[str, CameraWatch] = {}
        self.is_jsonl = path.suffix.lower() == ".jsonl"
        self.frames_inferred = 0
        self._trackers: dict[str, Tracker] = {}
        if self.is_jsonl:
            self.source: JsonlDetectionsSource | VideoFileSource = JsonlDetectionsSource(path)
            self.detector = None
            self.camera_ids = [c.id for c in cfg.cameras]
        else:
            cam = pick_camera(cfg, path, camera_id)
            self.camera_ids = [cam]
            self.source = VideoFileSource(path, cam, cfg.detector.sample_fps)
            self.detector = YoloDetector(
                cfg.detector, weights or default_weights(cfg.detector.weights), cfg.rule_classes()
            )
            watch_zones = zones or ZoneEngine(cfg)  # `frontage detect` has no rules: the watch moves its own
            self.watches[cam] = CameraWatch(cfg, cfg.camera(cam), watch_zones, on_event)

    @property
    def weights(self) -> str | None:
        return self.detector.weights if self.detector else None

    def _track(self, fd: FrameDetections) -> FrameDetections:
        if any(d.track_id is not None for d in fd.detections):
            return fd  # the recording carries its own identities
        cam = self.cfg.camera(fd.camera_id)
        tracker = self._trackers.setdefault(
            fd.camera_id, Tracker(self.cfg.detector.tracker, self.cfg.detector.sample_fps)
        )
        fd.detections = tracker.update(fd.detections, (cam.height, cam.width))
        return fd

    def raw(self) -> Iterator[FrameDetections]:
        """Untracked detections per sampled frame (what `frontage detect` writes)."""
        if self.detector is None:
            known = set(self.camera_ids)
            for fd in self.source:  # type: ignore[union-attr]
                if fd.camera_id not in known:
                    raise SourceError(f"{self.path}: camera {fd.camera_id!r} is not in the config ({sorted(known)})")
                yield fd
            return
        for frame in self.source:  # type: ignore[union-attr]
            watch = self.watches[frame.camera_id]
            watch.look(frame.image, frame.t, self.start + dt.timedelta(seconds=frame.t))
            dets = watch.augment(self.detector.detect([frame.image])[0], frame.t)
            self.frames_inferred += 1
            evidence = Evidence.unknown if watch.suspended else Evidence.seen
            yield FrameDetections(frame.camera_id, frame.t, dets, frame.image, frame.index, evidence)

    def __iter__(self) -> Iterator[FrameDetections]:
        for fd in self.raw():
            yield self._track(fd)


def replay(
    cfg: Config,
    path: Path,
    *,
    weights: str | None = None,
    db_url: str,
    snapshot_dir: Path,
    camera_id: str | None = None,
    start: dt.datetime | None = None,
    deliver: bool = False,
) -> ReplayReport:
    """Replay `path`; with `deliver`, reminders and escalations also leave through the outbox (real senders)."""
    path = Path(path)
    wall0 = time.perf_counter()
    start = start or recording_start(path)
    clock = ManualClock(start)
    zones = ZoneEngine(cfg, key_prefix=recording_key(path, camera_id))
    engine = make_engine(db_url)
    events: list[dict] = []

    def camera_event(camera_id: str, kind: str, reason: str, data: dict) -> None:
        at = clock.now()
        events.append({"camera_id": camera_id, "kind": kind, "reason": reason, "at": at.isoformat(),
                       "at_s": round((at - start).total_seconds(), 3), **data})  # fmt: skip
        record_camera_event(engine, camera_id, kind, "system", reason, at, data)

    stream = DetectionStream(cfg, path, weights, camera_id, zones, start, camera_event)
    for cam in stream.camera_ids:  # the camera's latest baseline of permitted fixtures, if operators changed it
        if (latest := latest_baseline(engine, cam)) is not None:
            fixtures = [Fixture.model_validate(f) for f in latest[1]]
            if cam in stream.watches:
                stream.watches[cam].set_fixtures(fixtures, latest[0])
            else:
                zones.set_fixtures(cam, fixtures)
    zones_versions = {cam: _store_zones(engine, cfg, cam, clock.now(), stream, zones) for cam in stream.camera_ids}
    polygons = {(z.shop_id, z.camera_id): z.points for z in zones.zones}
    workflow = Workflow(engine, cfg, clock, shops=shop_lookup(engine),
                        evidence_key=evidence_key_source(engine, cfg, clock))  # fmt: skip
    workflow.camera_dark = lambda cam: cam in stream.watches and stream.watches[cam].suspended
    finder = privacy_finder(stream.detector, cfg) if stream.detector is not None else None
    recorder = CaseRecorder(engine, snapshot_dir, polygons, workflow=workflow, find_privacy=finder)
    step = DispatchLoop(engine, cfg, clock, workflow).step if deliver else workflow.tick
    last_t = 0.0
    for fd in stream:
        when = start + dt.timedelta(seconds=fd.t)
        clock.set(max(clock.now(), when))
        last_t = max(last_t, fd.t)
        for ev in zones.process(fd, when):
            image = fd.image
            if image is None:
                cam = cfg.camera(fd.camera_id)
                image = blank_image(cam.width, cam.height)
            recorder.handle(ev, start, image, fd.detections)
        step()  # reminders and escalations fall due on the recording's clock
    stats = stream.source.stats
    report = ReplayReport(
        input=str(path),
        camera_ids=stream.camera_ids,
        started_at=start.isoformat(),
        weights=stream.weights,
        frames_read=stats.frames_read,
        frames_inferred=stream.frames_inferred,
        frames_corrupt=stats.frames_corrupt,
        duration_s=round(max(last_t, stats.duration_s or 0.0), 3),
        camera_events=events,
        zones_versions=zones_versions,
    )
    for row in recorder.rows():
        report.cases.append(
            {
                "id": row.id,
                "camera_id": row.camera_id,
                "shop_id": row.shop_id,
                "kind": row.kind,
                "object_class": row.object_class,
                "state": row.state,
                "opened_at": row.opened_at.isoformat(),
                "opened_at_s": round((row.opened_at - start).total_seconds(), 3),
                "cleared_at_s": round((row.cleared_at - start).total_seconds(), 3) if row.cleared_at else None,
                "dwell_s": round(row.dwell_s, 2),
                "snapshot": row.snapshot,
            }
        )
    report.wall_s = round(time.perf_counter() - wall0, 3)
    report.realtime_factor = round(report.duration_s / report.wall_s, 2) if report.wall_s > 0 else None
    report.peak_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return report


def _store_zones(engine: Engine, cfg: Config, camera_id: str, at: dt.datetime, stream: DetectionStream,
                 zones: ZoneEngine) -> int:  # fmt: skip
    """The camera's frontages as operators run them: the store's latest zone version (version 1, the config's,
    put there when it has none), so a recording replays through the zones the live service uses. Returns the
    version; SourceError when it does not fit this config's camera (another frame size)."""
    zv = ensure(engine, cfg, camera_id, at)
    if zv.frontages == config_frontages(cfg, camera_id):
        return zv.version
    problems = check(cfg.camera(camera_id), zv.frontages, None)
    if problems:
        p = problems[0]
        raise SourceError(f"camera {camera_id}: the store's zones version {zv.version} does not fit this config's "
                          f"camera (shop {p.shop_id!r} {p.where}: {p.reason}); replay into another store or "
                          "fix the camera's size")  # fmt: skip
    reason = f"zones version {zv.version} by {zv.author} from the store"
    if camera_id in stream.watches:
        stream.watches[camera_id].redraw(zv.polygons(), 0.0, reason)
    else:
        zones.set_frontages(camera_id, zv.polygons(), 0.0, reason)
    log.info("camera %s: replaying through the store's zones version %d by %s", camera_id, zv.version, zv.author)
    return zv.version


def detect_to_jsonl(cfg: Config, video: Path, out: Path, *, weights: str | None, camera_id: str | None) -> int:
    """Write the model's raw (untracked) detections per sampled frame; returns the number of lines."""
    stream = DetectionStream(cfg, Path(video), weights, camera_id)
    if stream.is_jsonl:
        raise SourceError(f"{video}: detect needs a video file, not a detections file")
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    tmp = out.with_suffix(out.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for fd in stream.raw():
            fh.write(write_detections_line(fd) + "\n")
            n += 1
    tmp.replace(out)
    return n
