"""CPU seconds per thread group of this process, read from /proc: where an edge box's cores actually go.

A sampling profiler counts a thread waiting in native code as busy; the kernel's per-thread counters do not.
Threads are grouped by their Python name's first word (`reader-cam01` -> `reader`, `onnx_0` -> `onnx`,
`MainThread` -> `main`); threads Python did not start (ONNX Runtime's and OpenCV's workers) are `native`.
Linux only: elsewhere the result is empty.
"""

from __future__ import annotations

import os
import re
import threading
from collections import defaultdict
from pathlib import Path

TASKS = Path("/proc/self/task")


def group(name: str) -> str:
    if name == "MainThread":
        return "main"
    return re.split(r"[-_ ]", name, maxsplit=1)[0].lower() or "unnamed"


def thread_cpu_seconds() -> dict[str, float]:
    """User plus system CPU seconds so far, summed per thread group, for the threads alive now."""
    if not TASKS.is_dir():
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    names = {t.native_id: group(t.name) for t in threading.enumerate() if t.native_id is not None}
    out: dict[str, float] = defaultdict(float)
    for task in TASKS.iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended between listing and reading
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is field 3, utime 14, stime 15
        out[names.get(int(task.name), "native")] += (int(fields[11]) + int(fields[12])) / tick
    return dict(out)
