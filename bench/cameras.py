"""Many live RTSP cameras on one box: frontage's service against the loops a user would write from the docs.

    python -m bench.cameras [--cameras 8,16,24,32] [--busy 0,50,100] [--cameras-at 100=4,8,12]
                            [--seconds 45] [--warmup 20] [--naive 2] [--naive-fps 1,2] [--no-naive-stride]
                            [--weights W] [--threads T] [--work DIR] [--profile] [--watch on] [--repeat 1]

A real GStreamer RTSP server serves N 720p 25 fps street streams (H.264, GOP 25, MP4s as long as the run,
sent as they are; `bench/streams.py` prepares them and their truth). A share of the cameras (`--busy`, in
percent, each share swept over N) are busy streets, the rest static scenes:

- static cameras, one shop (shop-a) each, as before: half show `park` (a van arrives, parks in shop-a's
  frontage, leaves: a case every 60 s loop; the cameras start at three points of that minute, as real streets
  do not change all at once), half `camera_loop` (a van parked in shop-a's frontage the whole time);
- busy cameras, with all three demo shops (traffic drives through all three frontages) and played at real speed
  from the 5 fps traffic clips: in turn `double_park` (steady traffic, and a van that double-parks in shop-b's
  frontage for 3 minutes: one case, arriving at a different moment of the run on every camera) and
  `traffic_lane` (ten minutes of steady traffic through all three frontages, each camera from its own point of
  it: no case).

Every camera keeps the same rules: sample_fps 1, parking dwell 15 s, grace 6 s. A dwell that short on busy
streets is the harder test for false cases: traffic that stops for 15 s would open one.

For each busy share and N, `frontage run` watches all of them and the benchmark reports, over a measured
window after a warm-up:

- CPU-seconds per camera-second (the service process, from /proc via psutil);
- whether every camera kept its sample rate (new frames handled per second >= 0.9 x sample_fps) with lag
  < 2 s, lag being how far the rules ran behind the camera, a changed picture still waiting for the model
  included (polled twice a second); the largest such N per busy share is the box's capacity;
- model calls and frames held back per second, and the longest any camera's detections went without the model
  (the re-check period, stretched by load);
- peak RSS;
- false cases, over the whole run (warm-up included) and at every N, overloaded ones included: every case in
  the run's database is placed on its camera's stream (from the frames its reader had received, polled twice
  a second) and must match a vehicle that stood at that shop at least the dwell, opened within 3 s of when
  the dwell was reached, or later while it still stood (plus the camera's worst lag: a loaded service opens
  late). The rest are false, and their snapshots are printed; a second case for the same stand is a duplicate;
- case recall: of the cases due in the measured window (the dwell reached in it, 5 s before its end at the
  latest), the share that opened (any time before the run stopped, 5 s after the window); misses are printed.

Every case of a run, with its verdict, stream time and snapshot, goes to `cases-<busy>-<N>.json` in the work
dir, and each stream's truth beside its MP4 (`bench/streams.py`). The exit code is 1 when any case was false.

Side by side, `--naive K` busy cameras are watched the way the ultralytics docs suggest:
`YOLO(w).track(source=url, stream=True)` per camera, each in its own process, with the same zone rules applied
to its tracks: the naive loop that reads every frame, and (`--naive-stride`, on by default) the one a careful
user writes, with `vid_stride` set so the model sees the sample rate (25 at 1 frame/s) and, with
`--naive-fps 1,2`, at 2 frames/s too. Their CPU per camera-second, frame rate and case recall are reported, and
the ratios to frontage, the fair one (vid_stride at the sample rate) first. `--profile` samples the service
with py-spy over each window and prints where its CPU went, by pipeline stage (`bench/profile.py`). The RTSP
server's own CPU is reported too: it shares the two cores.

What looks at every sampled frame beside the model is swept with `--watch` (default `on`, the shipped config):
`on` runs the static-object detector on out_of_store_trading (its classes unchanged) and the view guard
(`detector.view`); `off` runs neither, as the service did before they came. `--watch off,on` runs both for every
busy share and N, one after the other (`--repeat R`: R times each, alternating which goes first), and prints
their CPU per camera-second (medians over the repeats), its ratio on/off, whether each kept its sample rate, its
false cases, model calls and main-thread cores (where the watches run: when the box is short of CPU they take
the model's time rather than add CPU, so the ratio alone says little then). The run files then carry the mode
(`cases-<busy>-<N>-<mode>.json`, `-r<k>` when repeated).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import yaml

from bench import profile as profiler
from bench.servicelog import api_url, start_service
from bench.streams import (
    STREAM_FPS,
    CameraStream,
    Opened,
    Stand,
    Verdict,
    camera_stream,
    due_in,
    judge,
    position,
    scenario_stands,
    sessions,
)
from frontage.assets import default_weights
from frontage.scenarios.catalog import SCENARIOS
from tests.rtsp.harness import RtspServer, require_gstreamer

TOKEN = "bench-operator-token-0001"
SAMPLE_FPS = 1.0
DWELL_S = 15.0
GRACE_S = 6.0
TOLERANCE_S = 3.0  # a case may open this far either side of when the truth says the dwell was reached
RECALL_MARGIN_S = 5.0  # a case due this close to the window's end is not yet counted as due
NAIVE_LATE_S = 10.0  # how late the naive loop may open a case (its lag is not measured)
# The van arrives 7 s into `park`'s minute and stays 31 s (dwell 15 s); the cameras show it arriving 7, 14 and
# 21 s after they start, so each case opens inside a run of any length, after the start-up rush.
PARK_DELAYS_S = (0, 7, 14)
STATIC_SHOPS = ("shop-a",)
BUSY_SHOPS = ("shop-a", "shop-b", "shop-c")  # traffic drives through all three frontages
BUSY_SCENES = ("double_park", "traffic_lane")  # alternating over the busy cameras
GOLDEN = (math.sqrt(5) - 1) / 2  # spreads k = 0, 1, 2, ... evenly over an interval, each new one in the widest gap
WATCH_MODES = ("off", "on")  # static objects and the view guard: neither, or both (the shipped config)
CPU_LIMIT = 1.15  # the most CPU per camera the watches may add: on / off


@dataclass(frozen=True)
class Camera:
    stream: CameraStream
    shops: tuple[str, ...]
    busy: bool


@dataclass
class Streams:
    """The camera streams of one benchmark run, prepared once and shared by every N and busy share."""

    work: Path
    length_s: float
    warmup_s: float
    seconds: float
    static: list[CameraStream] = field(default_factory=list)
    busy: list[CameraStream] = field(default_factory=list)

    def prepare_static(self) -> None:
        """camera_loop and park, each from three points of park's minute, keyframes at six points of a second."""
        for k, delay in enumerate(PARK_DELAYS_S):
            self.static.append(camera_stream("camera_loop", self.work, self.length_s, 0.0, phase=8 * k + 4))
            self.static.append(camera_stream("park", self.work, self.length_s, -delay, phase=8 * k))

    def busy_stream(self, j: int) -> CameraStream:
        """The j-th busy camera's stream, encoded on first use (a sweep to 32 busy cameras needs 32)."""
        while len(self.busy) <= j:
            k = len(self.busy)
            name, offset = busy_offset(k, self.warmup_s, self.seconds)
            self.busy.append(camera_stream(name, self.work, self.length_s, offset, phase=(7 * k + 2) % STREAM_FPS))
            print(f"  busy stream {k}: {name} from {offset % SCENARIOS[name].duration_s:.1f} s into the clip",
                  flush=True)  # fmt: skip
        return self.busy[j]

    def cameras(self, n: int, share: float) -> list[Camera]:
        """N cameras, `share` percent of them busy, spread evenly among the static ones."""
        out, s, b = [], 0, 0
        for i in range(n):
            if is_busy(i, share):
                out.append(Camera(self.busy_stream(b), BUSY_SHOPS, True))
                b += 1
            else:
                out.append(Camera(self.static[s % len(self.static)], STATIC_SHOPS, False))
                s += 1
        return out


def is_busy(i: int, share: float) -> bool:
    """Whether camera i is busy when `share` percent are: every camera whose index crosses the next whole count,
    so busy cameras are spread evenly (50%: every other one)."""
    return math.floor((i + 1) * share / 100 + 1e-9) > math.floor(i * share / 100 + 1e-9)


def busy_offset(k: int, warmup_s: float, seconds: float) -> tuple[str, float]:
    """Scene and clip offset of the k-th busy camera: every other one `double_park`, with its van stopping at a
    different moment so its case falls due inside the measured window, the rest `traffic_lane` from points
    spread over its ten minutes. No two show the same moment of their clip."""
    name = BUSY_SCENES[k % 2]
    clip_s = SCENARIOS[name].duration_s
    spread = (k // 2 * GOLDEN) % 1.0
    if name != "double_park":
        return name, spread * clip_s
    stops = [s.start_s for s in scenario_stands(name)]
    lo = max(3.0, warmup_s - DWELL_S + 2)  # its case due just after the warm-up...
    hi = max(lo, warmup_s + seconds - DWELL_S - RECALL_MARGIN_S - 3)  # ...to just before the window's end
    return name, stops[0] - (lo + spread * (hi - lo))


def watch_config(cfg: dict, mode: str) -> dict:
    """`cfg` with the static-object detector (out_of_store_trading, its classes unchanged) and the view guard
    both on (`on`, the shipped config) or both off (`off`, the service before they came)."""
    if mode not in WATCH_MODES:
        raise ValueError(f"--watch: {mode!r} is not one of {', '.join(WATCH_MODES)}")
    on = mode == "on"
    trading = cfg.setdefault("rules", {}).setdefault("out_of_store_trading", {})
    trading["static_objects"] = {**trading.get("static_objects", {}), "enabled": on}
    detector = cfg.setdefault("detector", {})
    detector["view"] = {**detector.get("view", {}), "enabled": on}
    return cfg


def watch_modes(spec: str) -> list[str]:
    """`--watch off,on` -> ["off", "on"], each checked."""
    modes = [m.strip() for m in spec.split(",") if m.strip()]
    bad = [m for m in modes if m not in WATCH_MODES]
    if bad or not modes or len(set(modes)) != len(modes):
        raise argparse.ArgumentTypeError(f"--watch takes {' and/or '.join(WATCH_MODES)}, each once: {spec!r}")
    return modes


def config(tmp: Path, cams: Sequence[tuple[str, tuple[str, ...]]], threads: int = 0, tag: str = "",
           watch: str = "on") -> Path:  # fmt: skip
    """The benchmark's config: the demo shops, each camera with its own copy of the shops it watches (`shop-a-07`
    on cam07), sample_fps 1, parking dwell 15 s and grace 6 s, no repeat window; static objects and the view
    guard as `watch` says (`watch_config`)."""
    cfg = yaml.safe_load(yaml.safe_dump(SCENARIOS["camera_loop"].config))
    shops = {s["id"]: s for s in cfg["shops"]}
    cfg["cameras"] = [{"id": f"cam{i:02d}", "source": url} for i, (url, _) in enumerate(cams)]
    cfg["shops"] = [
        {**shops[sid], "id": f"{sid}-{i:02d}", "frontages": [{**shops[sid]["frontages"][0], "camera_id": cid}]}
        for i, (_, ids) in enumerate(cams)
        for cid in [f"cam{i:02d}"]
        for sid in ids
    ]
    cfg["detector"]["sample_fps"] = SAMPLE_FPS
    cfg["detector"]["threads"] = threads
    cfg["rules"]["illegal_parking"].update(dwell_s=DWELL_S, exit_grace_s=GRACE_S, repeat_window_s=0)
    cfg["api"] = {"tokens": [{"name": "bench", "role": "operator", "token": TOKEN}]}
    watch_config(cfg, watch)
    path = tmp / f"cams-{tag or len(cams)}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def shop_of(shop_id: str) -> str:
    """The demo shop a camera's copy stands for: `shop-b-07` -> `shop-b`."""
    return shop_id.rsplit("-", 1)[0]


@dataclass
class Truth:
    """Opened cases judged against the truth of every camera of one run."""

    false: list[str] = field(default_factory=list)  # one line per false case, snapshot path included
    duplicates: list[str] = field(default_factory=list)
    opened: int = 0
    due: int = 0
    cases: int = 0
    missed: list[str] = field(default_factory=list)  # cases due in the window that never opened
    delays: list[float] = field(default_factory=list)  # opened minus due, in seconds, of every matched case
    rows: list[dict] = field(default_factory=list)  # every case with its verdict, for cases-<run>.json

    def add(self, cam_id: str, cam: Camera, verdict: Verdict, window: tuple[float, float], snaps: Path | None,
            due: Sequence[Stand]) -> None:  # fmt: skip
        """Count the case recall over `window` (stream seconds) and keep every case and every miss to print."""
        st = cam.stream
        idx = due_in(due, DWELL_S, window, RECALL_MARGIN_S)
        self.opened += sum(1 for i in idx if i in verdict.matched)
        self.due += len(idx)
        for s in (due[i] for i in idx if i not in verdict.matched):
            at = s.start_s + DWELL_S
            self.missed.append(f"{cam_id} ({st.scenario}, {st.path.name}): {s.kind} at {s.shop_id}, due at {at:.1f} s "
                               f"of the stream (clip time {st.clip_time(at):.1f} s)")  # fmt: skip
        judged = [(c, "matched") for c in verdict.matched.values()] + [(c, "duplicate") for c in verdict.duplicates]
        for c, what in [*judged, *((c, f"false: {why}") for c, why in verdict.false)]:
            self.rows.append({"camera": cam_id, "scenario": st.scenario, "stream": str(st.path), "shop": c.shop_id,
                              "kind": c.kind, "stream_s": round(c.at_s, 2), "clip_s": round(st.clip_time(c.at_s), 2),
                              "verdict": what, "snapshot": _snap(c.snapshot, snaps)})  # fmt: skip
        self.delays += [c.at_s - (due[i].start_s + DWELL_S) for i, c in verdict.matched.items() if i < len(due)]
        for c, why in verdict.false:
            self.false.append(f"{cam_id} ({st.scenario}, clip time {st.clip_time(c.at_s):.1f} s, {st.path.name}): "
                              f"{c.kind} at {c.shop_id}, dwell reached at {c.at_s:.1f} s of the stream ({why}); "
                              f"snapshot {_snap(c.snapshot, snaps)}")  # fmt: skip
        for c in verdict.duplicates:
            self.duplicates.append(f"{cam_id} ({st.scenario}, clip time {st.clip_time(c.at_s):.1f} s): {c.kind} at "
                                   f"{c.shop_id}, {c.at_s:.1f} s; snapshot {_snap(c.snapshot, snaps)}")  # fmt: skip
        self.cases += len(verdict.matched) + len(verdict.duplicates) + len(verdict.false)

    @property
    def recall(self) -> float | None:
        return self.opened / self.due if self.due else None


def _snap(snapshot: str, snaps: Path | None) -> str:
    if not snapshot:
        return "(none)"
    p = Path(snapshot)
    return str(p if p.is_absolute() or snaps is None else snaps / p)


def run_ours(cams: list[Camera], weights: str, seconds: float, warmup: float, tmp: Path, tag: str,
             profile: bool = False, threads: int = 0, watch: str = "on") -> dict:  # fmt: skip
    n = len(cams)
    mounts = {f"/c{i:02d}": cam.stream.path for i, cam in enumerate(cams)}
    snaps = tmp / f"snaps-{tag}"
    with RtspServer(mounts) as server:
        urls = [(server.url(m), cam.shops) for m, cam in zip(mounts, cams, strict=True)]
        cfg = config(tmp, urls, threads, tag, watch)
        db = tmp / f"ours-{tag}.db"
        log_path = tmp / f"ours-{tag}.log"
        log = log_path.open("w")
        proc = start_service(cfg, f"sqlite:///{db}", snaps, log, weights)
        ps = psutil.Process(proc.pid)
        polls: dict[str, list[tuple[float, int, int]]] = {}  # camera -> (wall, frames received, reconnects)
        worst: dict[str, float] = {}  # camera -> its worst lag over the whole run

        def poll() -> dict[str, dict]:
            cams_now, wall = _cams(api), time.time()
            for cid, c in cams_now.items():
                polls.setdefault(cid, []).append((wall, c.get("frames_received", 0), c.get("reconnects", 0)))
                worst[cid] = max(worst.get(cid, 0.0), c.get("lag_s") or 0.0, c.get("last_frame_age_s") or 0.0)
            return cams_now

        try:
            api = api_url(log_path, timeout=120)
            end = time.monotonic() + warmup
            while time.monotonic() < end:  # the readers' progress is polled from the start: it places the cases
                poll()
                time.sleep(0.5)
            srv = psutil.Process(server.proc.pid)
            c0, s0, t0, v0, h0, w0 = _cpu(ps), poll(), time.monotonic(), _cpu(srv), _threads(api), time.time()
            spy = profiler.record(proc.pid, seconds - 2, tmp / f"profile-{tag}.txt") if profile else None
            lags: dict[str, float] = {}
            model_age = 0.0
            rss = 0
            while time.monotonic() - t0 < seconds:
                time.sleep(0.5)  # lag grows while a changed picture waits for the model: look often
                rss = max(rss, ps.memory_info().rss)
                for cid, c in poll().items():
                    lags[cid] = max(lags.get(cid, 0.0), c.get("lag_s", 0.0), c.get("last_frame_age_s", 0.0))
                    model_age = max(model_age, c.get("model_age_s", 0.0))
            c1, s1, t1, v1, h1, w1 = _cpu(ps), poll(), time.monotonic(), _cpu(srv), _threads(api), time.time()
            if spy is not None and spy.wait(timeout=60) != 0:
                print(f"py-spy failed: {spy.stderr.read().decode()[-500:] if spy.stderr else ''}", file=sys.stderr)
            end = time.monotonic() + 5  # a case due at the window's end may open a moment later: keep placing
            while time.monotonic() < end:
                time.sleep(0.5)
                poll()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            log.close()
    window = t1 - t0

    rates = {cid: (s1[cid]["frames_handled"] - s0[cid]["frames_handled"]) / window for cid in s1}
    inferred = sum(s1[c]["frames_inferred"] - s0[c]["frames_inferred"] for c in s1) / window
    deferred = sum(s1[c]["frames_deferred"] - s0[c]["frames_deferred"] for c in s1) / window
    published = {c: (s1[c]["frames_sampled"] - s0[c]["frames_sampled"]) / window for c in s1}
    by_cam: dict[str, list[Opened]] = {}
    for cid, shop, kind, opened_at, snapshot in _cases(db):
        at = position(sessions(polls[cid]), opened_at.timestamp()) if cid in polls else float("nan")
        by_cam.setdefault(cid, []).append(Opened(cid, shop_of(shop), kind, at, snapshot or ""))
    truth = Truth()
    for i, cam in enumerate(cams):
        cid = f"cam{i:02d}"
        due = [s for s in cam.stream.cases(DWELL_S) if s.shop_id in cam.shops]
        verdict = judge(by_cam.get(cid, []), due, DWELL_S, TOLERANCE_S, late_s=worst.get(cid, 0.0))
        series = sessions(polls.get(cid, [(w0, 0, 0)]))
        truth.add(cid, cam, verdict, (position(series, w0), position(series, w1)), snaps, due)
    (tmp / f"cases-{tag}.json").write_text(json.dumps(truth.rows, indent=1) + "\n")
    return {
        "n": n,
        "watch": watch,
        "busy": sum(c.busy for c in cams),
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
        "truth": truth,
        "reconnects": sum(s1[c].get("reconnects", 0) for c in s1),
        "profile": tmp / f"profile-{tag}.txt" if profile else None,
        "log": log_path,
    }


NAIVE = textwrap.dedent(
    """
    import json, sys, datetime as dt
    from ultralytics import YOLO
    from frontage.config import load_config
    from detector.types import Detection, FrameDetections
    from zones.engine import ZoneEngine
    url, weights, cfg_path, cam, stride = sys.argv[1:6]
    cfg = load_config(cfg_path)
    zones = ZoneEngine(cfg)
    t0 = dt.datetime.now(dt.UTC)
    n = 0
    for r in YOLO(weights, task="detect").track(source=url, stream=True, imgsz=640, verbose=False, persist=True,
                                                 vid_stride=int(stride)):
        n += 1
        now = dt.datetime.now(dt.UTC)
        if n == 1:
            print(json.dumps({"first": now.timestamp()}), flush=True)
        names = r.names
        dets = [Detection(cfg.detector.class_map.get(names[int(k)], names[int(k)]), float(c), tuple(map(float, b)))
                for b, c, k in zip(r.boxes.xyxy.tolist(), r.boxes.conf.tolist(), r.boxes.cls.tolist())]
        for ev in zones.process(FrameDetections(cam, (now - t0).total_seconds(), dets), now):
            at = t0.timestamp() + (ev.opened_t if ev.opened_t is not None else ev.t)
            print(json.dumps({"type": ev.type.value, "shop": ev.shop_id, "kind": ev.kind.value, "at": at}), flush=True)
        if n % 10 == 0:
            print(json.dumps({"frames": n}), flush=True)
    """
)


def run_naive(cams: list[Camera], stride: int, weights: str, seconds: float, warmup: float, tmp: Path) -> dict:
    """K cameras watched by the docs' loop, one process each, reading every `stride`-th frame."""
    k = len(cams)
    mounts = {f"/n{i:02d}": cam.stream.path for i, cam in enumerate(cams)}
    with RtspServer(mounts) as server:
        urls = [server.url(m) for m in mounts]
        # The docs' loop has no static-object detector and no view guard: only the model and the zone rules.
        cfg = config(tmp, [(u, cam.shops) for u, cam in zip(urls, cams, strict=True)], tag=f"naive-{stride}",
                     watch="off")  # fmt: skip
        logs = [tmp / f"naive-{stride}-{i}.log" for i in range(k)]
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", NAIVE, u, weights, str(cfg), f"cam{i:02d}", str(stride)],
                stdout=logs[i].open("w"),
                stderr=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": str(Path.cwd())},
            )  # fmt: skip
            for i, u in enumerate(urls)
        ]
        ps = [psutil.Process(p.pid) for p in procs]
        try:
            time.sleep(warmup)
            c0, f0, t0, w0 = sum(_cpu(p) for p in ps), [_frames(lg) for lg in logs], time.monotonic(), time.time()
            rss = 0
            while time.monotonic() - t0 < seconds:
                time.sleep(2)
                rss = max(rss, max(p.memory_info().rss for p in ps))
            c1, f1, t1, w1 = sum(_cpu(p) for p in ps), [_frames(lg) for lg in logs], time.monotonic(), time.time()
            time.sleep(5)  # a case due at the window's end may open a moment later
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait(timeout=30)
    window = t1 - t0
    truth = Truth()
    for i, (cam, lg) in enumerate(zip(cams, logs, strict=True)):
        events = _events(lg)
        # Its stream starts about when its first frame came out (the loader reads it before the loop starts); one
        # that never saw a frame opened nothing, and its window is placed from the warm-up.
        first = next((e["first"] for e in events if "first" in e), w0 - warmup)
        opened = [Opened(f"cam{i:02d}", shop_of(e["shop"]), e["kind"], e["at"] - first, "")
                  for e in events if e.get("type") == "opened"]  # fmt: skip
        due = [s for s in cam.stream.cases(DWELL_S) if s.shop_id in cam.shops]
        verdict = judge(opened, due, DWELL_S, TOLERANCE_S, late_s=NAIVE_LATE_S)
        truth.add(f"naive cam{i:02d}", cam, verdict, (w0 - first, w1 - first), None, due)
    return {
        "k": k,
        "stride": stride,
        "cpu_per_cam_s": (c1 - c0) / window / k,
        "fps": statistics.mean((b - a) / window for a, b in zip(f0, f1, strict=True)),
        "rss_mb": rss / 2**20,
        "truth": truth,
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


def _cases(db: Path) -> list[tuple[str, str, str, dt.datetime, str | None]]:
    """(camera, shop, kind, opened at, snapshot) of every case in the run's database."""
    from sqlalchemy import create_engine, select

    from dispatch.db import CaseRow

    with create_engine(f"sqlite:///{db}").connect() as c:
        q = select(CaseRow.camera_id, CaseRow.shop_id, CaseRow.kind, CaseRow.opened_at, CaseRow.snapshot)
        return [tuple(r) for r in c.execute(q)]


def _fmt_recall(t: Truth) -> str:
    return "n/a (none due)" if t.recall is None else f"{t.recall:.2f} ({t.opened}/{t.due})"


def _fmt_delays(t: Truth) -> str:
    if not t.delays:
        return "no case matched"
    return f"opened {min(t.delays):+.1f} to {max(t.delays):+.1f} s from due (median {statistics.median(t.delays):+.1f})"


def report_row(r: dict, share: int) -> None:
    t: Truth = r["truth"]
    print(
        f"frontage  N={r['n']:>3}, {share:>3}% busy ({r['busy']} busy), watch {r['watch']}: "
        f"{r['cpu_per_cam_s']:.3f} CPU-s per camera-s, "
        f"min rate {r['min_rate']:.2f}/s, max lag {r['max_lag_s']:.2f} s, kept up: {r['kept_up']}, "
        f"model calls {r['inferences_per_s']:.1f}/s, held back {r['deferred_per_s']:.1f}/s, "
        f"longest without the model {r['max_model_age_s']:.1f} s, slowest reader {r['min_reader_rate']:.2f}/s, "
        f"RSS {r['rss_mb']:.0f} MB, cases {t.cases}, false {len(t.false)}, duplicates {len(t.duplicates)}, "
        f"case recall {_fmt_recall(t)}, {_fmt_delays(t)}, reconnects {r['reconnects']}; "
        f"the RTSP server on the same box used {r['server_cores']:.2f} cores",
        flush=True,
    )
    print(textwrap.indent(thread_report(r["thread_cores"], r["cpu_per_cam_s"] * r["n"]), "    "), flush=True)
    if r["profile"] is not None and r["profile"].exists():
        main_split = profiler.report(profiler.summarize(r["profile"], "main"))
        print(textwrap.indent(f"main thread by stage (py-spy samples):\n{main_split}", "    "), flush=True)
    for line in t.false:
        print(f"    FALSE CASE {line}", flush=True)
    for line in t.duplicates:
        print(f"    duplicate case {line}", flush=True)
    for line in t.missed:
        print(f"    missed case {line}", flush=True)
    if t.false or t.duplicates:
        print(f"    service log: {r['log']}", flush=True)


def report_naive(nv: dict) -> None:
    t: Truth = nv["truth"]
    what = "every frame" if nv["stride"] == 1 else f"vid_stride {nv['stride']}"
    print(f"naive     K={nv['k']:>3} busy, {what}: {nv['cpu_per_cam_s']:.3f} CPU-s per camera-s at {nv['fps']:.1f} "
          f"frames/s per camera, RSS {nv['rss_mb']:.0f} MB per process, cases {t.cases}, false {len(t.false)}, "
          f"case recall {_fmt_recall(t)}, {_fmt_delays(t)}", flush=True)  # fmt: skip
    for line in t.false:
        print(f"    naive false case {line}", flush=True)
    for line in t.missed:
        print(f"    naive missed case {line}", flush=True)


def summary(rows: dict[int, list[dict]], naive: list[dict]) -> None:
    """The tables for the README: every row, the capacity per busy share, the overloaded rows, the naive peers
    and the CPU ratios, the fair one first."""
    print("\n| busy cameras | N | CPU-s per camera-s | slowest camera | max lag | kept up | false cases | duplicates "
          "| case recall | RSS |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")  # fmt: skip
    for share, rs in rows.items():
        for r in rs:
            t = r["truth"]
            print(f"| {share}% | {r['n']} | {r['cpu_per_cam_s']:.3f} | {r['min_rate']:.2f} frames/s | "
                  f"{r['max_lag_s']:.2f} s | {'yes' if r['kept_up'] else 'no'} | {len(t.false)} | "
                  f"{len(t.duplicates)} | {_fmt_recall(t)} | {r['rss_mb']:.0f} MB |")  # fmt: skip
    best: dict[int, dict | None] = {}
    print()
    for share, rs in rows.items():
        kept = [r for r in rs if r["kept_up"]]
        best[share] = max(kept, key=lambda r: r["n"]) if kept else None
        cap = best[share]["n"] if best[share] else 0
        over = [r for r in rs if r["n"] > cap]
        print(f"{share:>3}% busy: largest N that kept sample rate with lag < 2 s: {cap}"
              f"{' (none of ' + ','.join(str(r['n']) for r in rs) + ')' if not kept else ''}; "
              f"false cases over all N: {sum(len(r['truth'].false) for r in rs)}")  # fmt: skip
        for r in over:
            print(f"     overloaded N={r['n']}: max lag {r['max_lag_s']:.2f} s, slowest camera {r['min_rate']:.2f}/s, "
                  f"false cases {len(r['truth'].false)}, case recall {_fmt_recall(r['truth'])}")  # fmt: skip
    if not naive:
        return
    print("\n| naive peer (busy streams) | cameras | CPU-s per camera-s | frames/s per camera | RSS per process "
          "| false cases | case recall |\n| --- | --- | --- | --- | --- | --- | --- |")  # fmt: skip
    for nv in naive:
        what = "every frame" if nv["stride"] == 1 else f"`vid_stride={nv['stride']}`"
        print(f"| {what} | {nv['k']} | {nv['cpu_per_cam_s']:.3f} | {nv['fps']:.1f} | {nv['rss_mb']:.0f} MB | "
              f"{len(nv['truth'].false)} | {_fmt_recall(nv['truth'])} |")  # fmt: skip
    # Fair first: the peer that sees the sample rate, then the others by their stride, every frame last.
    order = sorted(naive, key=lambda nv: (nv["stride"] != round(STREAM_FPS / SAMPLE_FPS), -nv["stride"]))
    shares = [s for s in rows if best[s] is not None]
    print("\nCPU per camera, naive / frontage (frontage at its largest N that kept up; the naive peers watch busy "
          "streets):")  # fmt: skip
    print("| naive peer | " + " | ".join(f"frontage {s}% busy (N={best[s]['n']})" for s in shares) + " |")
    print("| --- | " + " | ".join("---" for _ in shares) + " |")
    for nv in order:
        fps = STREAM_FPS / nv["stride"]
        fair = ", the sample rate: fair" if fps == SAMPLE_FPS else ""
        what = "every frame" if nv["stride"] == 1 else f"`vid_stride={nv['stride']}` ({fps:.2g} frames/s{fair})"
        ratios = " | ".join(f"{nv['cpu_per_cam_s'] / best[s]['cpu_per_cam_s']:.1f}x" for s in shares)
        print(f"| {what} | {ratios} |")


def runs(modes: Sequence[str], repeat: int) -> list[tuple[int, str]]:
    """(repeat, mode) in the order they run: every mode once per repeat, which goes first alternating, so a drift
    of the box (another job, heat) falls on both."""
    return [(k, mode) for k in range(repeat) for mode in (modes if k % 2 == 0 else list(reversed(modes)))]


def watch_summary(rows: dict[str, dict[int, list[dict]]], base: str = "off", other: str = "on") -> list[dict]:
    """The CPU the watches add, per busy share and N: medians over the repeats of each mode, and their ratio."""
    out = []
    shares = [s for s in rows[base] if s in rows[other]]
    for share in shares:
        for n in sorted({r["n"] for r in rows[base][share]} & {r["n"] for r in rows[other][share]}):
            row: dict = {"share": share, "n": n}
            for mode in (base, other):
                rs = [r for r in rows[mode][share] if r["n"] == n]
                row[mode] = {
                    "cpu": statistics.median(r["cpu_per_cam_s"] for r in rs),
                    "cpus": [r["cpu_per_cam_s"] for r in rs],
                    "kept_up": all(r["kept_up"] for r in rs),
                    "min_rate": min(r["min_rate"] for r in rs),
                    "max_lag_s": max(r["max_lag_s"] for r in rs),
                    "false": sum(len(r["truth"].false) for r in rs),
                    "model": statistics.median(r["inferences_per_s"] for r in rs),
                    "main": statistics.median(r["thread_cores"].get("main", 0.0) for r in rs),
                }
            row["ratio"] = row[other]["cpu"] / row[base]["cpu"] if row[base]["cpu"] > 0 else float("inf")
            out.append(row)
    print(f"\nCPU per camera-second, watch {other} / {base} (static objects and view guard; medians over the "
          f"repeats; the limit is {CPU_LIMIT:.2f}):")  # fmt: skip
    print(f"| busy cameras | N | {base}: CPU-s per camera-s | {other}: CPU-s per camera-s | {other} / {base} "
          f"| kept up {base} / {other} | slowest camera {base} / {other} | max lag {base} / {other} "
          f"| false cases {base} / {other} | model calls/s {base} / {other} | main thread cores {base} / {other} |\n"
          f"| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")  # fmt: skip
    yes = {True: "yes", False: "no"}
    for w in out:
        b, o = w[base], w[other]
        print(f"| {w['share']}% | {w['n']} | {_fmt_cpus(b['cpus'])} | {_fmt_cpus(o['cpus'])} | {w['ratio']:.3f} | "
              f"{yes[b['kept_up']]} / {yes[o['kept_up']]} | {b['min_rate']:.2f} / {o['min_rate']:.2f} frames/s | "
              f"{b['max_lag_s']:.2f} / {o['max_lag_s']:.2f} s | {b['false']} / {o['false']} | "
              f"{b['model']:.1f} / {o['model']:.1f} | {b['main']:.2f} / {o['main']:.2f} |")  # fmt: skip
    over = [w for w in out if w["ratio"] > CPU_LIMIT]
    for w in over:
        print(f"{w['share']}% busy, N={w['n']}: watch {other} uses {w['ratio'] - 1:+.1%} CPU per camera, over the "
              f"{CPU_LIMIT - 1:.0%} limit", flush=True)  # fmt: skip
    short = [w for w in out if not (w[base]["kept_up"] and w[other]["kept_up"])]
    for w in short:
        print(f"{w['share']}% busy, N={w['n']}: not kept up, so the service was short of CPU: its CPU per camera is "
              f"what the box gave it, not what the watches cost (they take model calls instead); compare the model "
              f"calls and the main thread, or an N that keeps up", flush=True)  # fmt: skip
    if out and not over:
        print(f"every busy share and N within the {CPU_LIMIT - 1:.0%} limit"
              f"{' (see the CPU-short rows above)' if short else ''}", flush=True)  # fmt: skip
    return out


def _fmt_cpus(cpus: list[float]) -> str:
    med = f"{statistics.median(cpus):.3f}"
    return med if len(cpus) == 1 else f"{med} ({', '.join(f'{c:.3f}' for c in cpus)})"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cameras", default="8,16,24,32", help="camera counts to sweep for every busy share")
    p.add_argument("--cameras-at", action="append", default=[], metavar="SHARE=N,N",
                   help="other camera counts for one busy share, e.g. 100=4,8,12 (repeatable)")  # fmt: skip
    p.add_argument("--busy", default="0,50,100", help="percentages of busy-street cameras to sweep")
    p.add_argument("--seconds", type=float, default=45)
    p.add_argument("--warmup", type=float, default=20)
    p.add_argument("--naive", type=int, default=2, help="busy cameras for each naive peer (0: none)")
    p.add_argument("--naive-stride", action=argparse.BooleanOptionalAction, default=True,
                   help="also run the naive loop with vid_stride at --naive-fps (default on)")  # fmt: skip
    p.add_argument("--naive-fps", default="1,2", help="frames a second the vid_stride peers see")
    p.add_argument("--weights", default=None)
    p.add_argument("--threads", type=int, default=0, help="detector.threads for frontage (0: every core)")
    p.add_argument("--work", type=Path, default=None, help="folder for clips and streams, reused between runs")
    p.add_argument("--profile", action="store_true", help="sample the service with py-spy; print where CPU goes")
    p.add_argument("--watch", type=watch_modes, default=["on"], metavar="off,on",
                   help="static objects and view guard: on (the shipped config), off (neither), or off,on to "
                   "compare them at every busy share and N")  # fmt: skip
    p.add_argument("--repeat", type=int, default=1, help="runs of each --watch mode per busy share and N")
    a = p.parse_args()
    if a.repeat < 1:
        p.error("--repeat must be at least 1")
    require_gstreamer()
    weights = a.weights or default_weights("yolov8n.pt")
    tmp = Path(tempfile.mkdtemp(prefix="bench-cameras-"))
    work = a.work or tmp
    work.mkdir(parents=True, exist_ok=True)
    counts = {int(s): [int(x) for x in a.cameras.split(",")] for s in a.busy.split(",")}
    for spec in a.cameras_at:
        share, _, ns = spec.partition("=")
        counts[int(share)] = [int(x) for x in ns.split(",")]
    streams = Streams(work, a.warmup + a.seconds + 60, a.warmup, a.seconds)  # a stream must not end during a run
    print(f"preparing streams in {work} (720p, 25 fps, GOP 25, {streams.length_s:.0f} s); sample_fps {SAMPLE_FPS}, "
          f"dwell {DWELL_S:.0f} s, grace {GRACE_S:.0f} s; work dir {tmp}", flush=True)  # fmt: skip
    streams.prepare_static()
    strides = [1] + ([int(STREAM_FPS // float(f)) for f in a.naive_fps.split(",")] if a.naive_stride else [])
    naive = []
    for stride in strides if a.naive else []:
        cams = [Camera(streams.busy_stream(j), BUSY_SHOPS, True) for j in range(a.naive)]
        naive.append(run_naive(cams, stride, weights, a.seconds, a.warmup, tmp))
        report_naive(naive[-1])
    rows: dict[str, dict[int, list[dict]]] = {mode: {} for mode in a.watch}
    for share, ns in counts.items():
        for n in ns:
            for k, mode in runs(a.watch, a.repeat):
                tag = f"{share}-{n}" + (f"-{mode}" if len(a.watch) > 1 else "") + (f"-r{k}" if a.repeat > 1 else "")
                r = run_ours(streams.cameras(n, share), weights, a.seconds, a.warmup, tmp, tag, a.profile,
                             a.threads, mode)  # fmt: skip
                rows[mode].setdefault(share, []).append(r)
                report_row(r, share)
    for mode in a.watch:
        if len(a.watch) > 1:
            print(f"\n## watch {mode}", flush=True)
        summary(rows[mode], naive)
    if len(a.watch) > 1:
        watch_summary(rows)
    false = sum(len(r["truth"].false) for by_share in rows.values() for rs in by_share.values() for r in rs)
    if false:
        print(f"\n{false} FALSE CASE(S): see the FALSE CASE lines above", flush=True)
    return 1 if false else 0


if __name__ == "__main__":
    sys.exit(main())
