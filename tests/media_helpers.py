"""Small media the tests make themselves: a few seconds of real H.264 whose frames tell their own time."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

COLOURS = [(0, 0, 255), (0, 255, 0), (255, 0, 0)]  # BGR, one a second: red, green, blue


def recording(path: Path, fps: int = 10) -> Path:
    """Three seconds of H.264 at 320x180, one flat colour a second (the frame's time shows in its colour)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for i in range(3 * fps):
            img = np.full((180, 320, 3), COLOURS[i // fps], np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
