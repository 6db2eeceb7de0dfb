"""Which way of running the model costs the edge box least: wall time and CPU time per 720p frame.

    python -m bench.backends [--weights W] [--frames 12] [--repeats 5] [--gap-ms 50]

Side by side in one run, interleaved, medians over repeats, on the real street stills:

- ultralytics' own ONNX backend, one frame per call (what `YOLO(w).predict` does);
- frontage's direct ONNX Runtime path (`detector/onnx_model.py`), one frame per call;
- the same, two frames per call run side by side (what `frontage run` does when several cameras are due);
- OpenVINO on the same ONNX file, when the `openvino` package is installed (`pip install 'frontage[openvino]'`).

CPU time counts the whole process over the run, with an idle gap after every call as a live service has: a
backend whose worker threads spin between calls pays for it here. Pre- and post-processing are included
for ultralytics and frontage; OpenVINO gets frontage's pre- and post-processing around its inference.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import psutil

from detector.onnx_model import OnnxYolo, decode, letterbox, to_blob
from frontage.assets import default_weights


def stills(n: int) -> list[np.ndarray]:
    from frontage.scenarios.sprites import media_dir

    paths = sorted((media_dir() / "muenster-webcam").glob("*.jpg"))
    imgs = [cv2.resize(cv2.imread(str(p)), (1280, 720)) for p in paths]
    return [imgs[i % len(imgs)] for i in range(n)]


def variants(weights: str) -> dict[str, tuple[int, Callable[[list[np.ndarray]], object]]]:
    """name -> (frames per call, run one call)."""
    from ultralytics import YOLO

    ultra = YOLO(weights, task="detect")
    ours = OnnxYolo(weights)
    out: dict[str, tuple[int, Callable[[list[np.ndarray]], object]]] = {
        "ultralytics ONNX backend, 1 frame/call": (1, lambda f: ultra.predict(f[0], imgsz=ours.imgsz, verbose=False)),
        "frontage ONNX Runtime, 1 frame/call": (1, lambda f: ours.predict(f, 0.25, 0.5)),
        "frontage ONNX Runtime, 2 frames/call": (2, lambda f: ours.predict(f, 0.25, 0.5)),
    }
    if importlib.util.find_spec("openvino") is not None:
        import openvino as ov

        compiled = ov.Core().compile_model(weights, "CPU")
        request = compiled.create_infer_request()

        def openvino_one(frames: list[np.ndarray]) -> object:
            img, box = letterbox(frames[0], ours.imgsz)
            raw = request.infer({0: to_blob([img])})[compiled.output(0)]
            return decode(raw[0], box, frames[0].shape[:2], 0.25, 0.5)

        out["OpenVINO, 1 frame/call"] = (1, openvino_one)
    return out


def measure(call: Callable[[list[np.ndarray]], object], per_call: int, frames: list[np.ndarray],
            gap_s: float) -> tuple[float, float]:  # fmt: skip
    """(wall ms, CPU ms) per frame over `frames`, with `gap_s` idle after each call."""
    me = psutil.Process()
    walls = []
    c0 = sum(me.cpu_times()[:2])
    for i in range(0, len(frames), per_call):
        t = time.perf_counter()
        call(frames[i : i + per_call])
        walls.append((time.perf_counter() - t) / per_call)
        time.sleep(gap_s)
    cpu = sum(me.cpu_times()[:2]) - c0
    return statistics.median(walls) * 1000, cpu / len(frames) * 1000


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", default=None)
    p.add_argument("--frames", type=int, default=12)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--gap-ms", type=float, default=50)
    a = p.parse_args()
    weights = a.weights or default_weights("yolov8n.pt")
    if Path(weights).suffix != ".onnx":
        print(f"this benchmark compares ONNX runtimes: give an .onnx file, not {weights}", file=sys.stderr)
        return 2
    frames = stills(a.frames)
    runs = variants(weights)
    for _, (k, call) in runs.items():  # warm up: first calls allocate
        call(frames[:k])
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for _ in range(a.repeats):
        for name, (k, call) in runs.items():
            results[name].append(measure(call, k, frames, a.gap_ms / 1000))
    print(f"{Path(weights).name}, 1280x720 frames, {a.frames} frames x {a.repeats} repeats, {a.gap_ms:g} ms idle "
          "after each call; medians")  # fmt: skip
    print(f"{'backend':<40} {'wall ms/frame':>14} {'CPU ms/frame':>13}")
    for name, rows in results.items():
        wall = statistics.median(r[0] for r in rows)
        cpu = statistics.median(r[1] for r in rows)
        print(f"{name:<40} {wall:>14.0f} {cpu:>13.0f}")
    if "OpenVINO, 1 frame/call" not in runs:
        print("(OpenVINO not installed: pip install 'frontage[openvino]' to compare it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
