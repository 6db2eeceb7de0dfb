"""Live camera readers: the names the service imports. The readers themselves are in `detector.readers`.

One thread per camera keeps only the newest sampled frame; rtsp:// URLs open with timeouts, detect stalls and
reconnect with backoff; files play at their own speed (a fake live camera).
"""

from __future__ import annotations

from detector.readers import CameraState, LatestFrame, ReaderConfig, StreamReader

CameraReader = StreamReader  # the first version's name

__all__ = ["CameraReader", "CameraState", "LatestFrame", "ReaderConfig", "StreamReader"]
