"""A camera's watch on real stills: a bumped view carries the frontages along, a re-aimed or covered one suspends
the camera's rules until it is right again or an operator confirms it."""

from __future__ import annotations

import datetime as dt
import threading

import cv2
import numpy as np
import pytest

from frontage.clock import ManualClock
from frontage.config import Config, RuleKind, StaticObjects, load_config
from frontage.scenarios.catalog import DEMO_CONFIG
from frontage.service import WatchControl
from frontage.watch import CameraWatch
from zones.engine import ZoneEngine

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def stills():
    from frontage.scenarios.sprites import media_dir

    try:
        root = media_dir() / "muenster-webcam"
    except FileNotFoundError as exc:
        pytest.skip(f"street stills missing: {exc}")
    return {name: cv2.imread(str(root / f"{name}.jpg")) for name in ("trucks-stopped-by-arcade-shops", "church-square")}


def config() -> Config:
    cfg = load_config(DEMO_CONFIG)
    trading = cfg.rules.out_of_store_trading.model_copy(update={"static_objects": StaticObjects(enabled=True)})
    return cfg.model_copy(update={"rules": cfg.rules.model_copy(update={"out_of_store_trading": trading})})


def shifted(img: np.ndarray, dx: float, dy: float, zoom: float = 1.0) -> np.ndarray:
    m = cv2.getRotationMatrix2D((640, 360), 0, zoom)
    m[:, 2] += (dx, dy)
    return cv2.warpAffine(img, m, (1280, 720), borderMode=cv2.BORDER_REPLICATE), np.vstack([m, [0, 0, 1]])


def run(watch: CameraWatch, frames, t0: float = 0.0) -> float:
    t = t0
    for img in frames:
        watch.look(img, t, T0 + dt.timedelta(seconds=t))
        t += 1.0
    return t


def test_a_bumped_camera_carries_frontages_and_trackers_along(stills):
    cfg = config()
    zones = ZoneEngine(cfg)
    events = []
    watch = CameraWatch(cfg, cfg.cameras[0], zones, lambda *e: events.append(e))
    street = stills["trucks-stopped-by-arcade-shops"]
    t = run(watch, [street] * 10)
    moved, h = shifted(street, 12, -16, 1.05)
    run(watch, [moved] * 15, t)
    assert [e[1] for e in events] == ["view_reregistered"]
    assert not watch.suspended and watch.status.state == "shifted"
    for shop, pts in watch.polygons().items():
        ref = np.array(watch.reference_polygons[shop], float)
        true = cv2.perspectiveTransform(ref[None], h)[0]
        assert np.abs(np.array(pts) - true).max() < 1.5, shop
    # what an operator marks on the bumped view is kept in the reference view, and lands back where it was marked
    marked = [(950.0, 450.0), (1010.0, 450.0), (1010.0, 520.0), (950.0, 520.0)]
    ref = watch.to_reference(marked)
    assert np.abs(cv2.perspectiveTransform(np.array([ref], float), h)[0] - np.array(marked)).max() < 1.5
    trading = next(tr for tr in zones._trackers["cam1"] if tr.kind is RuleKind.out_of_store_trading)
    assert {z.shop_id: [tuple(round(v) for v in p) for p in z.points] for z in trading.zones} == {
        shop: [tuple(round(v) for v in p) for p in pts] for shop, pts in watch.polygons().items()
    }


def test_a_reaimed_camera_suspends_its_rules_until_an_operator_confirms(stills):
    cfg = config()
    events = []
    watch = CameraWatch(cfg, cfg.cameras[0], ZoneEngine(cfg), lambda *e: events.append(e))
    t = run(watch, [stills["trucks-stopped-by-arcade-shops"]] * 10)
    church = stills["church-square"]
    t = run(watch, [church] * 8, t)
    assert not watch.suspended  # a moment of something else (a bus filling the view) is no alert
    t = run(watch, [church] * 10, t)
    assert watch.suspended and watch.status.state == "moved"
    assert [e[1] for e in events] == ["camera_moved"] and "re-aimed" in events[0][2]
    assert watch.augment([], t) == []  # nothing from the static-object detector on a view that does not match
    t = run(watch, [church] * 30, t)
    assert watch.suspended  # it stays moved until someone says the new view is right

    answer = watch.confirm(T0)
    assert answer["confirmed"] and answer["was"] == "moved"
    assert not watch.suspended
    run(watch, [church] * 20, t)
    assert not watch.suspended and watch.status.state == "ok"


def test_a_covered_lens_suspends_and_resumes_by_itself(stills):
    cfg = config()
    events = []
    watch = CameraWatch(cfg, cfg.cameras[0], ZoneEngine(cfg), lambda *e: events.append(e))
    street = stills["trucks-stopped-by-arcade-shops"]
    t = run(watch, [street] * 10)
    t = run(watch, [np.full_like(street, 90)] * 20, t)
    assert watch.suspended and watch.status.state == "tampered"
    run(watch, [street] * 25, t)
    assert not watch.suspended
    assert [e[1] for e in events] == ["view_tampered", "view_restored"]


def test_the_api_confirms_a_view_on_the_camera_loop_thread(stills, tmp_path):
    from dispatch.db import make_engine

    cfg = config()
    watch = CameraWatch(cfg, cfg.cameras[0], ZoneEngine(cfg))
    control = WatchControl(make_engine(f"sqlite:///{tmp_path / 'c.db'}"), {"cam1": watch}, ManualClock(T0))
    with pytest.raises(LookupError):
        control.confirm_view("nope", "ops")
    t = run(watch, [stills["trucks-stopped-by-arcade-shops"]] * 10)
    with pytest.raises(ValueError, match="nothing to confirm"):
        control.confirm_view("cam1", "ops")
    run(watch, [stills["church-square"]] * 20, t)
    assert watch.suspended
    answer: dict = {}
    api = threading.Thread(target=lambda: answer.update(control.confirm_view("cam1", "ops")))
    api.start()
    while api.is_alive():  # the camera loop: between two rounds it carries out what the API asked
        control.apply_pending()
        api.join(0.05)
    assert answer["confirmed"] and not watch.suspended


def test_after_a_restart_the_frontages_stand_where_the_last_process_re_registered_them(stills):
    cfg = config()
    events = []
    first = CameraWatch(cfg, cfg.cameras[0], ZoneEngine(cfg), lambda *e: events.append(e))
    street = stills["trucks-stopped-by-arcade-shops"]
    t = run(first, [street] * 10)
    moved, h = shifted(street, 12, -16, 1.05)
    run(first, [moved] * 15, t)
    (reregistered,) = [e for e in events if e[1] == "view_reregistered"]

    second = CameraWatch(cfg, cfg.cameras[0], ZoneEngine(cfg))  # a new process, on the bumped view
    second.resume_view(reregistered[3]["homography"])
    run(second, [moved] * 20)
    assert second.status.state == "ok" and not second.suspended
    for shop, pts in second.polygons().items():
        true = cv2.perspectiveTransform(np.array([second.reference_polygons[shop]], float), h)[0]
        assert np.abs(np.array(pts) - true).max() < 1.5, shop
    run(second, [street] * 15, 20)  # someone straightens the camera: they follow it back
    for shop, pts in second.polygons().items():
        assert np.abs(np.array(pts) - np.array(second.reference_polygons[shop])).max() < 1.5, shop
