"""Shops, cameras, health and Prometheus metrics."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from api.app import create_app


def test_shops_with_open_case_counts(world, auth):
    with TestClient(world.app()) as c:
        shops = c.get("/shops", headers=auth("operator")).json()["items"]
        assert [(s["id"], s["open_cases"], s["camera_ids"]) for s in shops] == [
            ("shop-a", 2, ["cam1"]),
            ("shop-b", 3, ["cam2"]),
        ]
        one = c.get("/shops/shop-b", headers=auth("merchant-other")).json()
        assert one["responsible"] == {"kind": "merchant", "name": "Wang Fang"} and one["address"] == "3 Main St"
        assert c.get("/shops/nowhere", headers=auth("admin")).status_code == 404


def test_cameras_from_the_config_when_nobody_reports(world, auth):
    with TestClient(world.app()) as c:
        cams = c.get("/cameras", headers=auth("operator")).json()
    assert [(x["id"], x["name"], x["state"]) for x in cams] == [("cam1", "Main St east", "unknown"),
                                                                ("cam2", "Main St west", "unknown")]  # fmt: skip
    assert "secret" not in str(cams)  # the rtsp URL's credentials never leave the box


def test_cameras_from_the_readers(world, auth):
    status = [
        {"id": "cam1", "state": "streaming", "fps": 2.0, "source": "rtsp://user:secret@10.0.0.5/1"},
        {"camera_id": "cam9", "state": "reconnecting", "error": "timeout"},
    ]
    with TestClient(world.app(camera_status=lambda: status)) as c:
        cams = c.get("/cameras", headers=auth("admin")).json()
    assert [(x["id"], x["state"], x["detail"]) for x in cams] == [
        ("cam1", "streaming", {"fps": 2.0}),
        ("cam2", "unknown", {}),
        ("cam9", "reconnecting", {"error": "timeout"}),
    ]


def test_healthz(world, tmp_path):
    with TestClient(world.app()) as c:
        assert c.get("/healthz").json() == {"status": "ok", "database": "ok"}
    dead = create_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'cases.db'}")
    app = create_app(world.cfg, dead, world.workflow, snapshot_dir=tmp_path, upload_dir=tmp_path)
    with TestClient(app) as c:
        res = c.get("/healthz")
    assert res.status_code == 503 and res.json()["status"] == "error"


def sample(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if m and ",".join(sorted(m.group(1).split(","))) == want:
            return float(m.group(2))
    raise AssertionError(f"no sample {name}{{{want}}} in metrics")


def test_metrics(world, auth):
    with TestClient(world.app()) as c:
        c.get("/cases", headers=auth("operator"))
        c.get("/cases", headers=auth("operator"))
        c.get(f"/cases/{world.ids['a_detected']}", headers=auth("merchant-other"))
        c.post(f"/cases/{world.ids['a_detected']}/actions", headers=auth("admin"), json={"action": "escalate"})
        res = c.get("/metrics", headers=auth("operator"))
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/plain")
    text = res.text
    assert sample(text, "frontage_cases", state="reminded", kind="illegal_parking", source="camera") == 2
    assert sample(text, "frontage_cases", state="escalated", kind="illegal_parking", source="camera") == 1
    just_now = sample(text, "frontage_cases", state="escalated", kind="out_of_store_trading", source="camera")
    assert just_now == 1
    assert sample(text, "frontage_cases", state="closed", kind="illegal_parking", source="camera") == 0
    assert sample(text, "frontage_outbox_messages", status="pending") == 6  # 4 parking reminders + 2 escalations
    assert sample(text, "frontage_outbox_messages", status="dead") == 0
    assert sample(text, "frontage_api_requests_total", method="GET", route="/cases", status="200") == 2
    assert sample(text, "frontage_api_requests_total", method="GET", route="/cases/{case_id}", status="404") == 1


def test_camera_metrics_come_from_the_live_camera_status(world, auth):
    status = [
        {"id": "cam1", "state": "online", "frames_in": 250, "frames_decoded": 20, "frames_inferred": 7,
         "frames_gated": 13, "lag_s": 0.4, "reconnects": 1, "source": "rtsp://user:secret@10.0.0.9/s"},
        {"id": "cam2", "state": "reconnecting", "frames_in": 0, "reconnects": 5},
    ]  # fmt: skip
    with TestClient(world.app(lambda: status)) as c:
        text = c.get("/metrics", headers=auth("operator")).text
    assert sample(text, "frontage_camera_up", camera="cam1") == 1
    assert sample(text, "frontage_camera_up", camera="cam2") == 0
    assert sample(text, "frontage_camera_frames_gated", camera="cam1") == 13
    assert sample(text, "frontage_camera_lag_s", camera="cam1") == 0.4
    assert sample(text, "frontage_camera_reconnects", camera="cam2") == 5
    assert "secret" not in text  # a camera URL with credentials never leaks
    assert "process_resident_memory_bytes" in text


def test_cpu_per_thread_group_comes_from_the_kernel(world, auth):
    import threading

    def spin(stop):
        x = 0
        while not stop.is_set():
            x += 1

    stop = threading.Event()
    worker = threading.Thread(target=spin, args=(stop,), name="reader-test")
    worker.start()
    try:
        stop.wait(0.3)
        with TestClient(world.app(lambda: [])) as c:
            text = c.get("/metrics", headers=auth("operator")).text
    finally:
        stop.set()
        worker.join()
    assert sample(text, "frontage_thread_cpu_seconds_total", threads="reader") >= 0.1  # spun for 0.3 s
    assert sample(text, "frontage_thread_cpu_seconds_total", threads="main") > 0
