"""Where a running `frontage run` spends its time, by pipeline stage: py-spy samples, summed.

    python -m bench.profile summarize stacks.txt [--thread main]

`record(pid, seconds, out)` samples a live process with py-spy (no restart, no instrumentation), per thread.
`summarize` buckets each sampled stack by the first pipeline frame on it, from the root: the reader's
demuxing, decoding and colour conversion, the change gate, inference, tracking, the zone rules, the case
store, the dispatch loop, the API.

py-spy counts a thread waiting in native code (for the GIL, say) as busy, so sample shares across threads
overstate the readers. The exact CPU per thread group comes from the kernel (`frontage/threadcpu.py`, served
as `frontage_thread_cpu_seconds` in /metrics); these samples split one thread's time, the main loop's above
all, into its stages.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from frontage.threadcpu import group

# (stage, marker in a frame "function (path:line)"); the first marker found walking from the root wins, so a
# stage that calls into another library (tracking into ultralytics) keeps its own name.
STAGES: tuple[tuple[str, str], ...] = (
    ("tracking", "detector/tracking.py"),
    ("inference", "detector/yolo.py"),
    ("inference", "detector/onnx_model.py"),
    ("gate", "detector/gate.py"),
    ("rules", "zones/"),
    ("cases", "dispatch/cases.py"),
    ("dispatch loop", "dispatch/"),
    ("api", "api/"),
    ("api", "uvicorn"),
)
# Inside a reader thread, by the frame that does the work.
READER = (
    ("decode: colour conversion", "to_ndarray"),
    ("decode: colour conversion", "reformat"),
    ("decode: decode", "feed (detector/readers.py"),
    ("decode: demux", "demux"),
    ("decode: open/reconnect", "_open (detector/readers.py"),
)


def stage_of(frames: list[str]) -> str:
    for frame in frames:
        for stage, marker in STAGES:
            if marker in frame:
                return stage
    if any("detector/readers.py" in f for f in frames):
        for stage, marker in READER:
            if any(marker in f for f in frames):
                return stage
        return "decode: reader bookkeeping"
    return "other"


def summarize(stacks: Path, thread: str | None = None) -> Counter[str]:
    """Samples per stage from py-spy's raw (collapsed) output, `frame;frame;... count` per line, its first
    frame `thread (tid): name` when recorded per thread; `thread` keeps one thread group (`main`, `reader`)."""
    out: Counter[str] = Counter()
    for line in stacks.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        name = None
        if frames[0].startswith("thread ("):
            name = group(frames[0].split(": ", 1)[1]) if ": " in frames[0] else "native"
            frames = frames[1:]
        if thread is not None and name != thread:
            continue
        out[stage_of(frames)] += int(count)
    return out


def report(counts: Counter[str]) -> str:
    total = sum(counts.values()) or 1
    rows = [f"{stage:<28} {n / total:6.1%}" for stage, n in counts.most_common()]
    return "\n".join([f"{'stage':<28} {'share':>6}  ({total} samples)", *rows])


def record(pid: int, seconds: float, out: Path, rate: int = 50) -> subprocess.Popen[bytes]:
    """Start py-spy on `pid` for `seconds`; the caller waits on the returned process."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    cmd = [exe, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", str(rate), "--format", "raw",
           "--threads", "--nonblocking", "--output", str(out)]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["summarize"])
    p.add_argument("stacks", type=Path)
    p.add_argument("--thread", help="one thread group: main, reader, onnx, dispatch, api")
    a = p.parse_args()
    print(report(summarize(a.stacks, a.thread)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
