"""`frontage run` on more busy RTSP cameras than two cores can serve: no false case, and the overload shows.

Twenty-four cameras of a real GStreamer RTSP server show the busy-street scenarios (a ten-minute traffic lane, a
stop-and-go queue, three buses at one stop, a van double-parked among traffic), each from another point of its
clip. Every picture changes every second, so the model would need about 4 cores for them; it gets far less.
The service must check the cameras less often and say so (`check_period_s`, `frames_unknown` in GET /cameras
and /metrics), and never open a case the streams do not call for: the carried detections of a car that has
gone are not a sighting, time the model did not look at adds no dwell, and moving traffic never accrues any.
"""

import datetime as dt
import json
import signal
import time
from pathlib import Path

import av
import httpx
import pytest
import yaml
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bench.servicelog import api_url, start_service
from dispatch.db import CaseRow
from frontage.scenarios.score import false_cases
from tests.rtsp.harness import RtspServer, require_gstreamer

pytestmark = pytest.mark.model
TOKEN = "live-traffic-operator-token"
RUN_S = 110.0  # long enough for the double-parked vans' cases (60 s of dwell), were the cores free
# (scenario, seconds into its clip the camera starts at); offsets fall on keyframes (every 10 s at 5 fps)
CAMERAS = [("double_park", s) for s in (0, 10, 20, 30)] + [("bus_stop", s) for s in (0, 10, 20, 30)]
CAMERAS += [("stop_and_go", s) for s in range(0, 240, 40)] + [("traffic_lane", s) for s in range(0, 600, 60)]


def cut(src: Path, dst: Path, start_s: float) -> Path:
    """The clip from its keyframe at `start_s` on, as a camera that was switched on there (no re-encoding)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        ist = inp.streams.video[0]
        ost = out.add_stream_from_template(ist)
        shift = None
        for pkt in inp.demux(ist):
            if pkt.dts is None or pkt.pts is None:
                continue
            if shift is None:
                if not pkt.is_keyframe or float(pkt.pts * ist.time_base) < start_s - 1e-6:
                    continue
                shift = pkt.dts
            pkt.pts -= shift
            pkt.dts -= shift
            pkt.stream = ost
            out.mux(pkt)
    return dst


def config(tmp: Path, urls: list[str]) -> Path:
    from frontage.scenarios.catalog import traffic_config

    cfg = traffic_config("x.mp4")
    shops = cfg["shops"]
    cfg["cameras"] = [{"id": f"cam{i:02d}", "source": u} for i, u in enumerate(urls)]
    cfg["shops"] = [
        {**shop, "id": f"{shop['id']}-{i:02d}", "frontages": [{**shop["frontages"][0], "camera_id": f"cam{i:02d}"}]}
        for i in range(len(urls))
        for shop in shops
    ]
    cfg["api"] = {"tokens": [{"name": "ops", "role": "operator", "token": TOKEN}]}
    cfg["detector"]["max_carry_s"] = 1.0  # carried detections go unknown sooner: more of the time is unknown
    path = tmp / "traffic-live.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def expected(truth_path: Path, camera: int, offset: float) -> list[dict]:
    """The clip's cases as camera `camera` shows them: its shops, times from the camera's start."""
    out = []
    for c in json.loads(truth_path.read_text())["cases"]:
        clear = None if c["cleared_at_s"] is None else c["cleared_at_s"] - offset
        if clear is None or clear > 0:
            out.append({**c, "camera_id": f"cam{camera:02d}", "shop_id": f"{c['shop_id']}-{camera:02d}",
                        "opened_at_s": c["opened_at_s"] - offset, "cleared_at_s": clear})  # fmt: skip
    return out


@pytest.mark.timeout(600)
def test_more_busy_cameras_than_the_cores_serve_open_no_false_case(tmp_path, traffic_rendered, weights):
    require_gstreamer()
    clips = {(name, off): cut(Path(traffic_rendered[name].video), tmp_path / f"{name}-{off}.mp4", off)
             for name, off in set(CAMERAS)}  # fmt: skip
    db = f"sqlite:///{tmp_path / 'traffic.db'}"
    log_path = tmp_path / "service.log"
    mounts = {f"/c{i:02d}": clips[cam] for i, cam in enumerate(CAMERAS)}
    with RtspServer(mounts) as server, log_path.open("w") as log:
        cfg = config(tmp_path, [server.url(m) for m in mounts])
        started = dt.datetime.now(dt.UTC)
        proc = start_service(cfg, db, tmp_path / "snaps", log, weights)
        try:
            api = api_url(log_path, timeout=120)
            t0 = time.monotonic()
            while time.monotonic() - t0 < RUN_S:
                time.sleep(5)
                assert proc.poll() is None, log_path.read_text()[-3000:]
            cams = {c["id"]: c for c in httpx.get(f"{api}/cameras", headers=_auth()).json()}
            metrics = httpx.get(f"{api}/metrics", headers=_auth()).text
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0, log_path.read_text()[-3000:]
    with Session(create_engine(db)) as s:
        cases = s.scalars(select(CaseRow)).all()

    # No false case: every case stands for a van the stream shows double-parked, and never opened early (the
    # cameras start after the service does, so a case can only open later than its clip time, never sooner).
    truth = [e for i, (name, off) in enumerate(CAMERAS)
             for e in expected(Path(traffic_rendered[name].truth_path), i, off)]  # fmt: skip
    got = [{"camera_id": c.camera_id, "shop_id": c.shop_id, "kind": c.kind, "snapshot": c.snapshot,
            "opened_at_s": round((c.opened_at - started).total_seconds(), 1)} for c in cases]  # fmt: skip
    false = false_cases(truth, got, early_s=3.0)
    assert not false, f"FALSE CASES: {false}"

    # The overload shows: cameras are checked less often than their sample period, and time nobody looked at
    # is counted, in GET /cameras and in /metrics.
    details = [c["detail"] for c in cams.values()]
    assert all(c["state"] == "online" for c in cams.values()), {k: c["state"] for k, c in cams.items()}
    periods = sorted(d["check_period_s"] for d in details)
    assert periods[len(periods) // 2] > 1.2, periods  # the median camera is looked at less than once a second
    assert sum(d["frames_deferred"] for d in details) > 0 and sum(d["frames_unknown"] for d in details) > 0
    assert "frontage_camera_check_period_s{" in metrics and "frontage_camera_frames_unknown{" in metrics
    print(f"{len(cases)} case(s); check periods {periods}; unknown frames "
          f"{sum(d['frames_unknown'] for d in details)}")  # fmt: skip


def _auth() -> dict:
    return {"Authorization": f"Bearer {TOKEN}"}
