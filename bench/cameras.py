"""Many live RTSP cameras on one box: frontage's service against the loop a user would write from the docs.

    python -m bench.cameras [--cameras 4,8,16,32] [--seconds 45] [--warmup 20] [--naive 2] [--weights W]
                            [--threads T] [--profile]

A real GStreamer RTSP server serves N 720p 25 fps street scenario streams (H.264, GOP 25, looped into files
as long as the run and sent as they are): half show `park` (a van arrives, parks in shop-a's frontage, leaves:
a case every 60 s loop; the cameras start at three points of that minute, as real streets do not change all at
once), half `camera_loop` (a van parked in shop-a's frontage the whole time). For each N,
`frontage run` watches all of them at sample_fps 1 and the benchmark reports, over a measured window after a
warm-up:

- CPU-seconds per camera-second (the service process, from /proc via psutil);
- whether every camera kept its sample rate (new frames handled per second >= 0.9 x sample_fps) with lag
  < 2 s, lag being how far the rules ran behind the camera, a changed picture still waiting for the model
  included (polled twice a second); the largest such N is the box's capacity;
- model calls and frames held back per second, and the longest any camera's detections went without the model
  (the re-check period, stretched by load);
- peak RSS;
- case recall: cameras that opened the case their stream calls for.

Side by side in the same run, `--naive K` cameras are watched the way the ultralytics docs suggest:
`YOLO(w).track(source=url, stream=True)` per camera, every frame, each camera in its own process, with the
same zone rules applied to its tracks; its CPU per camera-second, frame rate and case recall are reported,
and the ratio. `--profile` samples the service with py-spy over each window and prints where its CPU went, by
pipeline stage (`bench/profile.py`). The RTSP server's own CPU is reported too: it shares the two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from fractions import Fraction
from pathlib import Path

import av
import httpx
import psutil
import yaml
from av.video.frame import PictureType

from bench import profile as profiler
from bench.servicelog import api_url
from frontage.assets import default_weights
from frontage.scenarios.catalog import SCENARIOS
from frontage.scenarios.render import render
from tests.rtsp.harness import RtspServer, require_gstreamer

TOKEN = "bench-operator-token-0001"
SAMPLE_FPS = 1.0
Streams = dict[tuple[str, int], Path]  # (scenario, delay in seconds) -> MP4 the RTSP server sends
# The van arrives 7 s into `park`'s minute and stays 31 s (dwell 15 s); the cameras show it arriving 7, 14 and
# 21 s after they start, so each case opens inside a run of any length, after the start-up rush.
PARK_DELAYS_S = (0, 7, 14)


def reencode(mp4: Path, out: Path, min_s: float, gop: int = 25, shift_s: float = 0.0, phase: int = 0) -> Path:
    """The clip looped to at least `min_s` seconds, starting `shift_s` into it, as MP4 with a camera-like GOP
    of one second whose keyframes fall `phase` frames into each second. Shifted copies keep cameras that show
    the same scene from all changing at the same moment, and phases keep their keyframes from all arriving
    in the same instant, as real streets and real cameras never do.

    MP4 (not a looping raw stream) lets the RTSP server send it as it is, with no per-frame work of its own:
    the benchmark's cameras cost the box next to nothing, so what is measured is frontage."""
    tb = Fraction(1, 25)
    with av.open(str(mp4)) as src:
        frames = [f.reformat(format="yuv420p") for f in src.decode(video=0)]
    shift = int(shift_s * 25) % len(frames)
    frames = frames[shift:] + frames[:shift]
    loops = max(1, int(-(-min_s * 25 // len(frames))))
    with av.open(str(out), "w") as dst:
        opts = {"preset": "veryfast", "bf": "0", "forced-idr": "1", "x264-params": "scenecut=0"}
        st = dst.add_stream("libx264", rate=25, options=opts)
        st.width, st.height, st.pix_fmt, st.gop_size, st.time_base = 1280, 720, "yuv420p", 10 * gop, tb
        for i in range(loops * len(frames)):
            frame = frames[i % len(frames)]
            frame.pts, frame.time_base = i, tb
            frame.pict_type = PictureType.I if i % gop == phase % gop else PictureType.NONE
            dst.mux(st.encode(frame))
        dst.mux(st.encode(None))
    return out


def config(tmp: Path, urls: list[str], threads: int = 0) -> Path:
    cfg = yaml.safe_load(yaml.safe_dump(SCENARIOS["camera_loop"].config))
    shop = cfg["shops"][0]
    cfg["cameras"] = [{"id": f"cam{i:02d}", "source": u} for i, u in enumerate(urls)]
    cfg["shops"] = [
        {**shop, "id": f"shop-a-{i:02d}", "frontages": [{**shop["frontages"][0], "camera_id": f"cam{i:02d}"}]}
        for i in range(len(urls))
    ]
    cfg["detector"]["sample_fps"] = SAMPLE_FPS
    cfg["detector"]["threads"] = threads
    cfg["rules"]["illegal_parking"].update(dwell_s=15, exit_grace_s=6, repeat_window_s=0)
    cfg["api"] = {"tokens": [{"name": "bench", "role": "operator", "token": TOKEN}]}
    path = tmp / f"cams-{len(urls)}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def run_ours(n: int, streams: Streams, weights: str, seconds: float, warmup: float, tmp: Path,
             profile: bool = False, threads: int = 0) -> dict:  # fmt: skip
    names = list(streams)
    mounts = {f"/c{i:02d}": streams[names[i % len(names)]] for i in range(n)}
    with RtspServer(mounts) as server:
        cfg = config(tmp, [server.url(m) for m in mounts], threads)
        db = tmp / f"ours-{n}.db"
        log = (tmp / f"ours-{n}.log").open("w")
        cmd = [sys.executable, "-m", "frontage", "-v", "run", "--config", str(cfg), "--db", f"sqlite:///{db}",
               "--weights", weights, "--snapshots", str(tmp / f"snaps-{n}"), "--api-port", "0"]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        ps = psutil.Process(proc.pid)
        try:
            api = api_url(tmp / f"ours-{n}.log", timeout=120)
            time.sleep(warmup)
            srv = psutil.Process(server.proc.pid)
            c0, s0, t0, v0, h0 = _cpu(ps), _cams(api), time.monotonic(), _cpu(srv), _threads(api)
            spy = profiler.record(proc.pid, seconds - 2, tmp / f"profile-{n}.txt") if profile else None
            lags: dict[str, float] = {}
            model_age = 0.0
            rss = 0
            while time.monotonic() - t0 < seconds:
                time.sleep(0.5)  # lag grows while a changed picture waits for the model: look often
                rss = max(rss, ps.memory_info().rss)
                for cid, c in _cams(api).items():
                    lags[cid] = max(lags.get(cid, 0.0), c.get("lag_s", 0.0), c.get("last_frame_age_s", 0.0))
                    model_age = max(model_age, c.get("model_age_s", 0.0))
            c1, s1, t1, v1, h1 = _cpu(ps), _cams(api), time.monotonic(), _cpu(srv), _threads(api)
            if spy is not None and spy.wait(timeout=60) != 0:
                print(f"py-spy failed: {spy.stderr.read().decode()[-500:] if spy.stderr else ''}", file=sys.stderr)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            log.close()
    window = t1 - t0

    rates = {cid: (s1[cid]["frames_handled"] - s0[cid]["frames_handled"]) / window for cid in s1}
    inferred = sum(s1[c]["frames_inferred"] - s0[c]["frames_inferred"] for c in s1) / window
    deferred = sum(s1[c]["frames_deferred"] - s0[c]["frames_deferred"] for c in s1) / window
    published = {c: (s1[c]["frames_sampled"] - s0[c]["frames_sampled"]) / window for c in s1}
    cases = _cases(db)
    expected = {f"cam{i:02d}" for i in range(n)}
    return {
        "n": n,
        "cpu_per_cam_s": (c1 - c0) / window / n,
        "server_cores": (v1 - v0) / window,
        "thread_cores": {g: (h1[g] - h0.get(g, 0.0)) / window for g in h1},
        "min_rate": min(rates.values()),
        "max_lag_s": max(lags.values()),
        "max_model_age_s": model_age,
        "kept_up": all(r >= 0.9 * SAMPLE_FPS for r in rates.values()) and max(lags.values()) < 2.0,
        "inferences_per_s": inferred,
        "deferred_per_s": deferred,
        "min_reader_rate": min(published.values()),
        "rss_mb": rss / 2**20,
        "recall": len(expected & {c for c, _ in cases}) / n,
        "spurious": sum(1 for c, shop in cases if shop != f"shop-a-{c[3:]}"),
        "profile": tmp / f"profile-{n}.txt" if profile else None,
    }


NAIVE = textwrap.dedent(
    """
    import json, sys, datetime as dt
    from ultralytics import YOLO
    from frontage.config import load_config
    from detector.types import Detection, FrameDetections
    from zones.engine import ZoneEngine
    url, weights, cfg_path, cam = sys.argv[1:5]
    cfg = load_config(cfg_path)
    zones = ZoneEngine(cfg)
    t0 = dt.datetime.now(dt.UTC)
    n = 0
    for r in YOLO(weights, task="detect").track(source=url, stream=True, imgsz=640, verbose=False, persist=True):
        n += 1
        now = dt.datetime.now(dt.UTC)
        names = r.names
        dets = [Detection(cfg.detector.class_map.get(names[int(k)], names[int(k)]), float(c), tuple(map(float, b)))
                for b, c, k in zip(r.boxes.xyxy.tolist(), r.boxes.conf.tolist(), r.boxes.cls.tolist())]
        for ev in zones.process(FrameDetections(cam, (now - t0).total_seconds(), dets), now):
            print(json.dumps({"type": ev.type.value, "shop": ev.shop_id}), flush=True)
        if n % 10 == 0:
            print(json.dumps({"frames": n}), flush=True)
    """
)


def run_naive(k: int, streams: Streams, weights: str, seconds: float, warmup: float, tmp: Path) -> dict:
    names = list(streams)
    mounts = {f"/n{i:02d}": streams[names[i % len(names)]] for i in range(k)}
    with RtspServer(mounts) as server:
        urls = [server.url(m) for m in mounts]
        cfg = config(tmp, urls)
        logs = [tmp / f"naive-{i}.log" for i in range(k)]
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", NAIVE, u, weights, str(cfg), f"cam{i:02d}"],
                stdout=logs[i].open("w"),
                stderr=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": str(Path.cwd())},
            )  # fmt: skip
            for i, u in enumerate(urls)
        ]
        ps = [psutil.Process(p.pid) for p in procs]
        try:
            time.sleep(warmup)
            c0, f0, t0 = sum(_cpu(p) for p in ps), [_frames(lg) for lg in logs], time.monotonic()
            rss = 0
            while time.monotonic() - t0 < seconds:
                time.sleep(2)
                rss = max(rss, max(p.memory_info().rss for p in ps))
            c1, f1, t1 = sum(_cpu(p) for p in ps), [_frames(lg) for lg in logs], time.monotonic()
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait(timeout=30)
    window = t1 - t0
    opened = [any(e.get("type") == "opened" for e in _events(lg)) for lg in logs]
    return {
        "k": k,
        "cpu_per_cam_s": (c1 - c0) / window / k,
        "fps": statistics.mean((b - a) / window for a, b in zip(f0, f1, strict=True)),
        "rss_mb": rss / 2**20,
        "recall": sum(opened) / k,
    }


def _cpu(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system + sum(c.cpu_times().user + c.cpu_times().system for c in p.children(recursive=True))


def _events(log: Path) -> list[dict]:
    """The naive loop's JSON lines (ultralytics prints its own lines to the same stream)."""
    out = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def _frames(log: Path) -> int:
    counts = [e["frames"] for e in _events(log) if "frames" in e]
    return counts[-1] if counts else 0


def _cams(api: str) -> dict[str, dict]:
    res = httpx.get(f"{api}/cameras", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).json()
    return {c["id"]: {"state": c["state"], **c["detail"]} for c in res}


def _threads(api: str) -> dict[str, float]:
    """The service's CPU seconds per thread group, from its /metrics (the kernel's per-thread counters)."""
    text = httpx.get(f"{api}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).text
    found = re.findall(r'^frontage_thread_cpu_seconds_total\{threads="([^"]+)"\} (\S+)$', text, re.M)
    return {name: float(value) for name, value in found}


# What each thread group of the service does, for the report.
THREAD_WORK = {
    "reader": "demux, decode, colour conversion",
    "onnx": "inference (pre- and post-processing, ONNX Runtime calls)",
    "native": "ONNX Runtime's own worker threads",
    "main": "gate, scheduling, tracking, zone rules, case store",
    "dispatch": "reminders, escalations, outbox",
    "api": "operator API (the benchmark polls it twice a second)",
}


def thread_report(cores: dict[str, float], total: float) -> str:
    rows = [f"{g:<10} {c:5.2f} cores {c / total:6.1%}  {THREAD_WORK.get(g, '')}" for g, c in
            sorted(cores.items(), key=lambda kv: -kv[1]) if c > 0.005]  # fmt: skip
    rest = total - sum(cores.values())
    if rest > 0.005:
        rows.append(f"{'ended':<10} {rest:5.2f} cores {rest / total:6.1%}  threads that ended in the window")
    return "\n".join(["CPU by thread group (kernel counters):", *rows])


def _cases(db: Path) -> list[tuple[str, str]]:
    from sqlalchemy import create_engine, text

    with create_engine(f"sqlite:///{db}").connect() as c:
        return [tuple(r) for r in c.execute(text("SELECT camera_id, shop_id FROM cases"))]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cameras", default="4,8,16,32")
    p.add_argument("--seconds", type=float, default=45)
    p.add_argument("--warmup", type=float, default=20)
    p.add_argument("--naive", type=int, default=2)
    p.add_argument("--weights", default=None)
    p.add_argument("--threads", type=int, default=0, help="detector.threads for frontage (0: every core)")
    p.add_argument("--profile", action="store_true", help="sample the service with py-spy; print where CPU goes")
    a = p.parse_args()
    require_gstreamer()
    weights = a.weights or default_weights("yolov8n.pt")
    tmp = Path(tempfile.mkdtemp(prefix="bench-cameras-"))
    streams: Streams = {}
    longest = a.warmup + a.seconds + 60  # start-up and slack: a stream must not end during a run
    loop = Path(render(SCENARIOS["camera_loop"], tmp).video)
    park = Path(render(SCENARIOS["park"], tmp).video)
    for k, delay in enumerate(PARK_DELAYS_S):  # every other camera shows `park`, from one of three points of its
        # minute; keyframes at six different points of each second
        streams["camera_loop", delay] = reencode(loop, tmp / f"loop-{k}-cam.mp4", longest, phase=8 * k + 4)
        streams["park", delay] = reencode(park, tmp / f"park-{delay}s-cam.mp4", longest, shift_s=-delay, phase=8 * k)
    print(f"streams: camera_loop, park delayed by {PARK_DELAYS_S} s (720p, 25 fps, GOP 25); sample_fps {SAMPLE_FPS}; "
          f"work dir {tmp}")  # fmt: skip
    naive = run_naive(a.naive, streams, weights, a.seconds, a.warmup, tmp) if a.naive else None
    rows = []
    for n in [int(x) for x in a.cameras.split(",")]:
        rows.append(run_ours(n, streams, weights, a.seconds, a.warmup, tmp, a.profile, a.threads))
        r = rows[-1]
        print(
            f"frontage  N={r['n']:>3}: {r['cpu_per_cam_s']:.3f} CPU-s per camera-s, min rate {r['min_rate']:.2f}/s, "
            f"max lag {r['max_lag_s']:.2f} s, kept up: {r['kept_up']}, model calls {r['inferences_per_s']:.1f}/s, "
            f"held back {r['deferred_per_s']:.1f}/s, longest without the model {r['max_model_age_s']:.1f} s, "
            f"slowest reader {r['min_reader_rate']:.2f}/s, "
            f"RSS {r['rss_mb']:.0f} MB, case recall {r['recall']:.2f}, spurious {r['spurious']}; "
            f"the RTSP server on the same box used {r['server_cores']:.2f} cores",
            flush=True,
        )
        print(textwrap.indent(thread_report(r["thread_cores"], r["cpu_per_cam_s"] * r["n"]), "    "), flush=True)
        if r["profile"] is not None and r["profile"].exists():
            main_split = profiler.report(profiler.summarize(r["profile"], "main"))
            print(textwrap.indent(f"main thread by stage (py-spy samples):\n{main_split}", "    "), flush=True)
    if naive:
        print(f"naive     K={naive['k']:>3}: {naive['cpu_per_cam_s']:.3f} CPU-s per camera-s at {naive['fps']:.1f} fps "
              f"per camera, RSS {naive['rss_mb']:.0f} MB per process, case recall {naive['recall']:.2f}")  # fmt: skip
    capacity = max((r["n"] for r in rows if r["kept_up"]), default=0)
    print(f"largest N that kept sample rate with lag < 2 s: {capacity}")
    if naive:
        kept = [r for r in rows if r["kept_up"]] or rows  # compare at a load frontage actually keeps up with
        best = max(kept, key=lambda r: r["n"])
        print(
            f"CPU per camera, naive / frontage (N={best['n']}): {naive['cpu_per_cam_s'] / best['cpu_per_cam_s']:.1f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
