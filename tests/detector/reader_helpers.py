"""Helpers the reader tests share: wait for a condition, run readers for the length of a block, a frame's seq."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from detector.readers import StreamReader


def wait_for(pred: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


@contextlib.contextmanager
def running(*readers: StreamReader) -> Iterator[None]:
    for r in readers:
        r.start()
    try:
        yield
    finally:
        for r in readers:
            r.stop()
        for r in readers:
            assert r.stop(timeout=10), f"{r.camera_id} did not stop"


def seq(reader: StreamReader) -> int:
    frame = reader.latest()
    return frame.seq if frame else 0
