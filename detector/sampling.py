"""Which frames go to the model: a fixed rate on the stream's own timestamps, not on frame counts."""

from __future__ import annotations


class Sampler:
    """Say yes to the first frame at or after each multiple of 1/sample_fps.

    Timestamp-based, so a stream with dropped or irregular frames is sampled at the same rate in seconds.
    """

    def __init__(self, sample_fps: float):
        if sample_fps <= 0:
            raise ValueError("sample_fps must be positive")
        self.period = 1.0 / sample_fps
        self._next: float | None = None

    def due(self, t: float) -> bool:
        if self._next is None:
            self._next = t + self.period
            return True
        if t + 1e-9 < self._next:
            return False
        # Skip whole periods that passed without frames instead of bursting to catch up.
        missed = int((t - self._next) // self.period)
        self._next += (missed + 1) * self.period
        return True
