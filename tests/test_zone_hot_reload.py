"""End to end: a running `frontage run` (run_service in a thread, a recorded-detections camera, its own API on a
real socket) picks up zones saved over HTTP without a restart. Street time runs on a ManualClock; only the zone
sync's polling (zones.poll_s = 0.2 s) is real time.

A car parks in shop-a's frontage and its case opens. An admin saves a version that draws shop-a's frontage
without the car: the running service clears the case ("frontage redrawn"). Then a version whose shop-b
frontage holds the car: a case opens for shop-b after its dwell. The service's own frame snapshots are off here
(a detections feed has no pixels); tests/api/test_zones_api.py covers them."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Callable

import cv2
import httpx
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.db import CaseEventRow, CaseRow, make_engine
from frontage.clock import ManualClock
from frontage.config import parse_config
from frontage.service import run_service
from frontage.zone_sync import ZoneSync
from tests.api.conftest import stills

T0 = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
ADMIN = "zones-admin-token-0123456789"
A = [[100, 200], [400, 200], [400, 350], [100, 350]]
A_SMALL = [[100, 200], [200, 200], [200, 350], [100, 350]]
B = [[420, 200], [620, 200], [620, 350], [420, 350]]
B_WIDE = [[220, 200], [620, 200], [620, 350], [220, 350]]
PARKED = [250, 220, 330, 300]  # ground point (290, 300): in A, not in A_SMALL, in B_WIDE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(what: Callable[[], object], timeout: float = 30.0) -> object:
    """Poll a condition on the running service (real time: the service runs in its own threads). The limit is
    generous, for a loaded CI machine; a pass takes well under a second."""
    end, pause = time.monotonic() + timeout, threading.Event()
    while time.monotonic() < end:
        if found := what():
            return found
        pause.wait(0.05)
    raise AssertionError(f"not within {timeout} s")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("service")
    feed = [json.dumps({"t": i * 0.5, "camera_id": "cam1", "detections": [{"cls": "car", "conf": 0.9, "xyxy": PARKED}]})
            for i in range(400)]  # fmt: skip
    (tmp_path / "feed.jsonl").write_text("\n".join(feed) + "\n")
    cfg = parse_config({
        "cameras": [{"id": "cam1", "source": str(tmp_path / "feed.jsonl"), "width": 640, "height": 360}],
        "shops": [{"id": s, "name": s, "responsible": {"name": s}, "frontages": [{"camera_id": "cam1", "polygon": p}]}
                  for s, p in (("shop-a", A), ("shop-b", B))],
        "rules": {"illegal_parking": {"classes": ["car"], "dwell_s": 10, "entry_debounce_s": 1, "exit_grace_s": 6,
                                      "repeat_window_s": 0, "deadline": {"remind_after_s": 3600}}},
        "dispatch": {"reminder_channels": ["log"]},
        "api": {"tokens": [{"name": "ada", "role": "admin", "token": ADMIN}]},
        "zones": {"poll_s": 0.2, "snapshot_every_s": 0},
    })  # fmt: skip
    clock, stop, urls, failed = ManualClock(T0), threading.Event(), [], []
    db = f"sqlite:///{tmp_path / 'frontage.db'}"

    def serve() -> None:
        try:
            run_service(cfg, weights="unused", db_url=db, snapshot_dir=tmp_path / "snaps", clock=clock,
                        feed_epoch=T0, api_port=0, stop_event=stop, on_api=urls.append)  # fmt: skip
        except BaseException as exc:  # the test waiting on it says why, at once
            failed.append(exc)
            raise

    # The service picks its own free port and says which (no port picked here that another process may take
    # before the service binds it, with another server answering /healthz there).
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    until(lambda: urls or failed or not thread.is_alive())
    assert urls and not failed, f"the service did not start: {failed}"
    api = httpx.Client(base_url=urls[0], headers={"Authorization": f"Bearer {ADMIN}"})
    engine = make_engine(db)
    yield api, clock, engine
    stop.set()
    thread.join(15)
    api.close()
    engine.dispose()
    assert not thread.is_alive()


def cases(engine) -> list[tuple[str, str]]:
    with Session(engine) as s:
        return [(c.shop_id, c.state) for c in s.scalars(select(CaseRow).order_by(CaseRow.id))]


def save(api: httpx.Client, base: int, a, b) -> int:
    frontages = [{"shop_id": "shop-a", "polygon": a}, {"shop_id": "shop-b", "polygon": b}]
    res = api.put("/cameras/cam1/zones", json={"frontages": frontages, "note": "redrawn", "base_version": base})
    assert res.status_code == 201, res.text
    return res.json()["version"]


def test_the_running_service_uses_a_saved_zone_version_without_a_restart(service):
    api, clock, engine = service
    assert api.get("/cameras/cam1/zones").json()["version"] == 1  # the config's, put there at start
    clock.set(T0 + dt.timedelta(seconds=20))
    until(lambda: cases(engine) == [("shop-a", "detected")])

    assert save(api, 1, A_SMALL, B) == 2  # street time stands still: only the running service can clear it
    until(lambda: cases(engine) == [("shop-a", "resolved")])
    assert _applied(api, 2)
    with Session(engine) as s:
        last = s.scalars(select(CaseEventRow).order_by(CaseEventRow.id.desc())).first()
        assert (last.to_state, last.reason) == ("resolved", "frontage redrawn (zones version 2 by ada)")

    assert save(api, 2, A_SMALL, B_WIDE) == 3  # now the car stands in shop-b's frontage
    until(lambda: _applied(api, 3))
    clock.set(T0 + dt.timedelta(seconds=40))  # past shop-b's dwell, counted from the redraw
    until(lambda: cases(engine) == [("shop-a", "resolved"), ("shop-b", "detected")])


def _applied(api: httpx.Client, version: int) -> bool:
    """The camera process runs that version (GET /cameras: what the camera loop reports)."""
    (cam,) = api.get("/cameras").json()
    return cam["detail"].get("zones_version") == version


def test_the_zone_sync_pushes_frames_and_refuses_what_it_could_not_run(service, caplog):
    api, _, _ = service
    frame = stills()[0]  # a real street frame, at its own size: the sync scales it to the camera's frame
    sync = ZoneSync(str(api.base_url), ADMIN, {"cam1": (640, 360)}, poll_s=60, frames=lambda cam: frame)
    assert sync.push("cam1") and sync.pushes == 1
    got = api.get("/cameras/cam1/snapshot.jpg")
    assert got.status_code == 200
    assert cv2.imdecode(np.frombuffer(got.content, np.uint8), cv2.IMREAD_COLOR).shape == (360, 640, 3)
    first = sync.poll("cam1")
    assert first is not None and first.camera_id == "cam1" and sync.take() == [first]
    assert sync.poll("cam1") is None and sync.take() == []  # handed over, not yet applied: not again
    sync.failed("cam1", first.version)  # the camera loop could not apply it: the next poll brings it again
    again = sync.poll("cam1")
    assert again == first and sync.take() == [first]
    sync.applied("cam1", first.version)
    assert sync.poll("cam1") is None and sync.take() == []  # the version it runs: nothing new
    sync.stop()

    wrong = ZoneSync(str(api.base_url), ADMIN, {"cam1": (1280, 720)}, poll_s=60)
    assert wrong.poll("cam1") is None and wrong.take() == []
    assert "this process on 1280x720: make the two configs agree" in caplog.text
    wrong.stop()


def test_a_down_api_is_logged_once_and_tried_again(caplog):
    sync = ZoneSync(f"http://127.0.0.1:{free_port()}", ADMIN, {"cam1": (640, 360)}, poll_s=0.05, timeout_s=1,
                    frames=lambda cam: np.zeros((360, 640, 3), np.uint8), snapshot_every_s=0.05).start()  # fmt: skip
    until(lambda: sync.polls >= 3)
    sync.stop()
    assert sync.take() == [] and sync.pushes == 0
    failed = [r for r in caplog.records if "zones from" in r.getMessage() and "failed" in r.getMessage()]
    assert len(failed) == 1 and "ConnectError" in failed[0].getMessage()
