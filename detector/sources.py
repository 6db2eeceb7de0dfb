"""Frame sources: a video file decoded with PyAV, and a JSONL file of recorded detections.

Both yield timestamps in seconds from the start of the recording; those timestamps are the replay's clock.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from detector.sampling import Sampler
from detector.types import Detection, Evidence, Frame, FrameDetections

log = logging.getLogger(__name__)


class SourceError(RuntimeError):
    """A source that cannot be read at all (missing file, not a video, malformed detections file)."""


@dataclass
class SourceStats:
    frames_read: int = 0
    frames_sampled: int = 0
    frames_corrupt: int = 0
    width: int = 0
    height: int = 0
    fps: float = 0.0
    duration_s: float | None = None


class VideoFileSource:
    """Decode a video file as fast as possible and yield the frames due at `sample_fps`.

    Every packet is decoded (H.264 needs its references) but only sampled frames are converted to arrays,
    which is where most of the per-frame cost lies. Undecodable packets are counted and skipped.
    """

    def __init__(self, path: str | Path, camera_id: str, sample_fps: float):
        self.path = Path(path)
        self.camera_id = camera_id
        self.sample_fps = sample_fps
        self.stats = SourceStats()
        if not self.path.is_file():
            raise SourceError(f"{self.path}: no such video file")

    def __iter__(self) -> Iterator[Frame]:
        try:
            container = av.open(str(self.path))
        except av.error.FFmpegError as exc:
            raise SourceError(f"{self.path}: cannot open as video: {exc}") from None
        with container:
            if not container.streams.video:
                raise SourceError(f"{self.path}: has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            self.stats.width, self.stats.height = stream.codec_context.width, stream.codec_context.height
            self.stats.fps = float(stream.average_rate or 0) or 25.0
            if stream.duration is not None and stream.time_base is not None:
                self.stats.duration_s = float(stream.duration * stream.time_base)
            sampler = Sampler(self.sample_fps)
            t0: float | None = None
            index = -1
            for frame in self._decode(container, stream):
                index += 1
                self.stats.frames_read += 1
                t_abs = frame.time if frame.time is not None else index / self.stats.fps
                if t0 is None:
                    t0 = t_abs
                t = round(t_abs - t0, 6)
                if not sampler.due(t):
                    continue
                self.stats.frames_sampled += 1
                yield Frame(self.camera_id, t, index, frame.to_ndarray(format="bgr24"))

    def _decode(self, container, stream) -> Iterator[av.VideoFrame]:
        for packet in container.demux(stream):
            try:
                yield from packet.decode()
            except av.error.InvalidDataError as exc:
                self.stats.frames_corrupt += 1
                log.warning("%s: skipping corrupt packet at pts %s: %s", self.path, packet.pts, exc)


def parse_detection_line(raw: str, where: str) -> FrameDetections:
    """Parse one JSONL line; raise SourceError naming the place and the reason."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{where}: not valid JSON: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise SourceError(f"{where}: expected an object with t, camera_id, detections")
    t, cam, dets = obj.get("t"), obj.get("camera_id"), obj.get("detections", [])
    if not isinstance(t, int | float) or isinstance(t, bool) or not math.isfinite(t) or t < 0:
        raise SourceError(f"{where}: 't' must be a non-negative number of seconds, got {t!r}")
    if not isinstance(cam, str) or not cam:
        raise SourceError(f"{where}: 'camera_id' must be a non-empty string, got {cam!r}")
    if not isinstance(dets, list):
        raise SourceError(f"{where}: 'detections' must be a list")
    out = []
    for i, d in enumerate(dets):
        try:
            x1, y1, x2, y2 = (float(v) for v in d["xyxy"])
            cls, conf = d["cls"], float(d.get("conf", 1.0))
            tid = d.get("track_id")
            tid = int(tid) if tid is not None else None
            static_s = float(d.get("static_s", 0.0))
        except (KeyError, TypeError, ValueError):
            raise SourceError(
                f"{where}: detections[{i}] needs 'cls' and 'xyxy': [x1, y1, x2, y2] numbers, got {d!r}"
            ) from None
        if not isinstance(cls, str) or not (x2 > x1 and y2 > y1) or not (0 <= conf <= 1):
            raise SourceError(f"{where}: detections[{i}] has an empty box, a bad class or conf: {d!r}")
        if not (math.isfinite(static_s) and static_s >= 0):
            raise SourceError(f"{where}: detections[{i}] 'static_s' must be a non-negative number: {d!r}")
        out.append(Detection(cls, conf, (x1, y1, x2, y2), tid, static_s))
    try:
        evidence = Evidence(obj.get("evidence", "seen"))
    except ValueError:
        raise SourceError(f"{where}: 'evidence' must be one of {[e.value for e in Evidence]}") from None
    return FrameDetections(cam, float(t), out, evidence=evidence)


class JsonlDetectionsSource:
    """Recorded detections, one sampled frame per line; lets rules be tuned without running the model."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.stats = SourceStats()
        if not self.path.is_file():
            raise SourceError(f"{self.path}: no such detections file")

    def __iter__(self) -> Iterator[FrameDetections]:
        last_t: dict[str, float] = {}
        with self.path.open(encoding="utf-8", errors="strict") as fh:
            for lineno, raw in enumerate(_lines(fh, self.path), 1):
                if not raw.strip():
                    continue
                fd = parse_detection_line(raw, f"{self.path}:{lineno}")
                if fd.t < last_t.get(fd.camera_id, -math.inf):
                    raise SourceError(
                        f"{self.path}:{lineno}: t={fd.t} goes back in time for camera {fd.camera_id!r}"
                        f" (previous {last_t[fd.camera_id]})"
                    )
                last_t[fd.camera_id] = fd.t
                self.stats.frames_read += 1
                self.stats.frames_sampled += 1
                yield fd


def _lines(fh, path: Path) -> Iterator[str]:
    try:
        yield from fh
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None


def write_detections_line(fd: FrameDetections) -> str:
    """One JSONL line; `evidence` only where the frame is not one the model saw (a suspended camera's frames)."""
    out = {"t": round(fd.t, 6), "camera_id": fd.camera_id, "detections": [d.to_json() for d in fd.detections]}
    if fd.evidence is not Evidence.seen:
        out["evidence"] = fd.evidence.value
    return json.dumps(out, ensure_ascii=False)


def blank_image(width: int, height: int) -> np.ndarray:
    """A neutral canvas for evidence when a replay has detections but no pixels."""
    return np.full((height, width, 3), 96, dtype=np.uint8)


def frame_at(path: str | Path, t: float) -> tuple[np.ndarray, float]:
    """The frame shown `t` seconds into a recording (BGR) and its own time: the zone editor draws on it when a
    camera's live frame is not there. Seeks to the keyframe before `t`, then decodes forward, so a long file
    costs one GOP, not everything before `t`. ValueError: `t` is past the end; SourceError: the file is not a
    readable video."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such video file")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise SourceError(f"{path}: cannot open as video: {exc}") from None
    with container:
        if not container.streams.video:
            raise SourceError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        base = stream.time_base
        start = float(stream.start_time * base) if stream.start_time is not None and base else 0.0
        duration = float(stream.duration * base) if stream.duration is not None and base else None
        if duration is not None and t > duration:
            raise ValueError(f"t={t:g} s is past the end of {path.name} ({duration:.1f} s)")
        if base and t > 0:
            container.seek(int((start + t) / base), stream=stream, backward=True, any_frame=False)
        last = None
        try:
            for frame in container.decode(stream):
                at = (frame.time if frame.time is not None else start) - start
                last = (frame, at)
                if at >= t - 1e-6:
                    break
        except av.error.FFmpegError as exc:
            raise SourceError(f"{path}: cannot decode a frame near t={t:g} s: {exc}") from None
        if last is None:
            raise SourceError(f"{path}: no frame at t={t:g} s")
        frame, at = last
        return frame.to_ndarray(format="bgr24"), round(max(0.0, at), 3)
