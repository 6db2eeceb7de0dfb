"""Live readers: one thread per camera that keeps only the newest frame.

Files play at their own speed (a fake live camera); rtsp:// URLs open with open/read timeouts and reconnect
with exponential backoff. A slow model never builds a queue: it always gets the latest frame.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger(__name__)

# Faster RTSP start-up and no 30 s hangs (see docs/operations.md).
os.environ.setdefault(
    "OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp|analyzeduration;100000|probesize;32768|timeout;3000000"
)


@dataclass
class LatestFrame:
    image: np.ndarray
    seq: int


class CameraReader(threading.Thread):
    """Read one camera until stopped; `latest()` returns the newest frame or None."""

    def __init__(self, camera_id: str, source: str, open_timeout_s: float = 3.0, read_timeout_s: float = 2.0):
        super().__init__(name=f"reader-{camera_id}", daemon=True)
        self.camera_id, self.source = camera_id, source
        self.open_timeout_s, self.read_timeout_s = open_timeout_s, read_timeout_s
        self.state = "starting"
        self.reconnects = 0
        self._latest: LatestFrame | None = None
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._is_file = "://" not in source

    def latest(self) -> LatestFrame | None:
        with self._lock:
            return self._latest

    def stop(self) -> None:
        self._halt.set()

    def _open(self) -> cv2.VideoCapture:
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(self.open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(self.read_timeout_s * 1000),
        ]
        return cv2.VideoCapture(self.source, cv2.CAP_FFMPEG, params)

    def run(self) -> None:
        backoff = 0.5
        seq = 0
        while not self._halt.is_set():
            cap = self._open()
            if not cap.isOpened():
                self.state = "reconnecting"
                self.reconnects += 1
                log.warning("camera %s: cannot open %s; retrying in %.1fs", self.camera_id, self.source, backoff)
                self._halt.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            self.state, backoff = "online", 0.5
            fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
            t0 = time.monotonic()
            n = 0
            while not self._halt.is_set():
                ok, img = cap.read()
                if not ok:
                    break
                n += 1
                seq += 1
                with self._lock:
                    self._latest = LatestFrame(img, seq)
                if self._is_file:  # play a file at its own speed
                    delay = t0 + n / fps - time.monotonic()
                    if delay > 0:
                        self._halt.wait(delay)
            cap.release()
            if self._is_file and not self._halt.is_set():
                self.state = "ended"
                return
            self.state = "reconnecting"
            self.reconnects += 1
        self.state = "stopped"
