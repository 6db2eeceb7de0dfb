"""Replay every rendered scenario through the real model and report case recall/precision, speed and memory.

    python -m bench.replay_scenarios [--out bench-out] [--weights W] [NAME ...]

Each replay runs as its own `frontage replay` process, so its peak RSS is that of one replay alone.
The real-time factor is video seconds per wall second (720p; 25 fps at sample_fps 2, the busy streets 5 fps at 1).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from frontage.assets import default_weights
from frontage.scenarios.catalog import SCENARIOS
from frontage.scenarios.render import render
from frontage.scenarios.score import score


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", default=list(SCENARIOS))
    p.add_argument("--out", default="bench-out")
    p.add_argument("--weights", default=None)
    a = p.parse_args()
    out = Path(a.out)
    weights = a.weights or default_weights("yolov8n.pt")
    rows, tp, fn, fp, factors = [], 0, 0, 0, []
    for name in a.names:
        res = render(SCENARIOS[name], out)
        rep_path = out / f"{name}.report.json"
        cmd = [sys.executable, "-m", "frontage", "replay", str(res.video), "--config", str(res.config_path)]
        cmd += ["--weights", weights, "--report", str(rep_path), "--db", f"sqlite:///{out / (name + '.db')}"]
        cmd += ["--snapshots", str(out / f"{name}-snapshots")]
        subprocess.run(cmd, check=True, capture_output=True)
        rep = json.loads(rep_path.read_text())
        expected = json.loads(Path(res.truth_path).read_text())["cases"]
        s = score(expected, rep["cases"])
        tp, fn, fp = tp + len(s.matched), fn + len(s.missed), fp + len(s.spurious)
        factors.append(rep["realtime_factor"])
        rows.append(
            (name, len(expected), len(rep["cases"]), len(s.matched), rep["duration_s"], rep["wall_s"],
             rep["realtime_factor"], rep["peak_rss_mb"])
        )  # fmt: skip
    head = ("scenario", "expected", "opened", "matched", "video s", "wall s", "x rt", "RSS MB")
    print(f"{head[0]:<15}" + "".join(f"{h:>9}" for h in head[1:]))
    for r in rows:
        print(f"{r[0]:<15}{r[1]:>9}{r[2]:>9}{r[3]:>9}{r[4]:>9.1f}{r[5]:>9.1f}{r[6]:>9.2f}{r[7]:>9.0f}")
    recall = tp / (tp + fn) if tp + fn else 1.0
    precision = tp / (tp + fp) if tp + fp else 1.0
    print(f"cases: {tp} matched, {fn} missed, {fp} spurious -> recall {recall:.3f}, precision {precision:.3f}")
    print(f"real-time factor: median {statistics.median(factors):.2f} (min {min(factors):.2f}, max {max(factors):.2f})")
    print(f"peak RSS: max {max(r[7] for r in rows):.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
