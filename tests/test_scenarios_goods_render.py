"""The goods scenarios' renderer features and ground truth: camera poses, cast shadows, goods of any kind
(static_object), one case per shop, fixtures, a re-aimed camera; and the goods sprites against the real model.

All but the last tests run without a model; most use a synthetic still in a temporary media folder.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from shapely.geometry import Polygon, box

from frontage.config import STATIC_OBJECT, parse_config
from frontage.scenarios import render as R
from frontage.scenarios import sprites as S
from frontage.scenarios.catalog import GOODS, SCENARIOS, TRAFFIC, goods_config
from tests import scenario_helpers as H_

W, H, SQUARE, needs_media = H_.W, H_.H, H_.SQUARE, H_.needs_media
_clear_caches = H_.clear_caches
GREY = 90


@pytest.fixture
def media(tmp_path, monkeypatch):
    """A grey still, a textured still (so a warp shows), another scene's still, a red block and a white dot."""
    cv2.imwrite(str(tmp_path / "still.png"), np.full((H, W, 3), GREY, np.uint8))
    rng = np.random.default_rng(7)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (H, W, 3), dtype=np.uint8), (0, 0), 2)
    cv2.imwrite(str(tmp_path / "texture.png"), texture)
    cv2.imwrite(str(tmp_path / "other.png"), np.full((H, W, 3), 30, np.uint8))
    block = np.zeros((30, 40, 3), np.uint8)
    block[:] = (0, 0, 230)
    cv2.imwrite(str(tmp_path / "block.png"), block)
    dot = np.zeros((21, 21, 3), np.uint8)
    cv2.circle(dot, (10, 10), 4, (255, 255, 255), -1)
    cv2.imwrite(str(tmp_path / "dot.png"), dot)
    monkeypatch.setenv(S.MEDIA_ENV, str(tmp_path))
    _clear_caches()
    yield tmp_path
    _clear_caches()


BLOCK, PERSON = H_.BLOCK, H_.PERSON
GOODS_BLOCK = dataclasses.replace(BLOCK, name="goods_block", coco_class=STATIC_OBJECT)
DOT = S.Sprite("dot", "dot.png", (0, 0, 21, 21), "car", (0, 0, 21, 21))


def config(static: bool = True, per_shop: bool = True, fixtures=None, shops=None) -> dict:
    camera = {"id": "cam1", "source": "x.mp4", "width": W, "height": H, "fixtures": fixtures or []}
    return H_.base_config(shops, [camera], {"static_objects": {"enabled": static}, "one_case_per_shop": per_shop})


def scenario(actors, duration=12.0, fps=10, cfg=None, name="t", still="still.png", **kw) -> R.Scenario:
    return R.Scenario(name, still, duration, actors, cfg or config(), fps=fps, size=(W, H), **kw)


def goods(enter: float, leave: float, x: float = 150, y: float = 150, sprite=GOODS_BLOCK, name: str = "") -> R.Actor:
    """Goods standing at (x, y) from enter to leave (not drawn before or after)."""
    return R.Actor(sprite, [(0, x, y)], visible_from=enter, visible_until=leave, name=name)


def spans(cases) -> list[tuple]:
    return [(c["shop_id"], c["kind"], c["object_class"], c["opened_at_s"], c["cleared_at_s"]) for c in cases]


# ---------------------------------------------------------------- the existing scenarios keep their truth

# expected_cases of every scenario that existed before the goods features, computed before they were added.
OLD_TRUTH = {
    "park": [("shop-a", "illegal_parking", "truck", 22.0, 38.04, "van_white")],
    "drive_through": [],
    "occluded_park": [("shop-a", "illegal_parking", "truck", 22.0, None, "van_white")],
    "goods": [("shop-b", "out_of_store_trading", "potted plant", 21.0, 44.0, "planter_geraniums")],
    "neighbours": [
        ("shop-b", "illegal_parking", "truck", 22.0, 44.04, "van_white"),
        ("shop-a", "illegal_parking", "truck", 30.0, 38.04, "truck_green"),
    ],
    "outside": [],
    "camera_loop": [],
    "demo": [
        ("shop-a", "illegal_parking", "truck", 23.0, 50.04, "van_parked"),
        ("shop-b", "out_of_store_trading", "potted plant", 25.0, 72.0, "planter"),
    ],
    "traffic_lane": [],
    "stop_and_go": [],
    "bus_stop": [],
    "double_park": [("shop-b", "illegal_parking", "truck", 85.0, 205.2, "delivery_van")],
}
CASE_KEYS = {"camera_id", "shop_id", "kind", "object_class", "opened_at_s", "cleared_at_s", "actor"}


@pytest.mark.parametrize("name", list(OLD_TRUTH))
def test_old_scenarios_keep_their_truth(name):
    cases = R.expected_cases(SCENARIOS[name])
    assert [(*s[:5], c["actor"]) for s, c in zip(spans(cases), cases, strict=True)] == OLD_TRUTH[name]
    assert all(set(c) == CASE_KEYS and c["camera_id"] == "cam1" for c in cases)  # no new keys in old truth


def test_old_scenarios_have_none_of_the_new_features():
    for name in OLD_TRUTH:
        sc = SCENARIOS[name]
        assert sc.camera == () and not any(a.shadow for a in sc.actors), name
        assert not parse_config(sc.config).cameras[0].fixtures, name


# ---------------------------------------------------------------- camera poses


def test_pose_is_piecewise_constant():
    poses = (R.CameraPose(2, dx=5), R.CameraPose(4, zoom=1.1), R.CameraPose(4, dy=-3), R.CameraPose(9, dx=1))
    sc = scenario([], camera=poses)
    assert sc.pose(0) == R.REFERENCE_POSE and sc.pose(1.99) == R.REFERENCE_POSE
    assert [sc.pose(t) for t in (2, 3.9, 4, 8.9, 9, 30)] == [poses[0], poses[0], poses[2], poses[2], poses[3], poses[3]]


def test_bad_poses_are_refused():
    with pytest.raises(ValueError, match="must not decrease"):
        scenario([], camera=(R.CameraPose(3), R.CameraPose(2)))
    with pytest.raises(ValueError, match="zoom"):
        R.CameraPose(1, zoom=0)
    with pytest.raises(ValueError, match="re-aimed"):
        R.CameraPose(1, actors=(goods(0, 1),))


def test_a_posed_frame_is_the_reference_frame_warped(media):
    pose = R.CameraPose(2.0, dx=7.0, dy=-5.0, zoom=1.05)
    sc = scenario([R.Actor(BLOCK, [(0, 150, 150)])], still="texture.png", camera=(pose,), light=((0, 0.8),))
    ref = R.reference_frame(sc, 3.0)
    m = R.pose_matrix(pose, (W, H))[:2]
    want = cv2.warpAffine(ref, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    got = R.compose(sc, 3.0)
    assert np.array_equal(got, want)
    assert not np.array_equal(got, ref)  # the pose does move the picture
    assert np.array_equal(R.compose(sc, 1.9), R.reference_frame(sc, 1.9))  # before the pose: the reference view


def _centroid(frame: np.ndarray) -> tuple[float, float]:
    """Brightness-weighted centre of the white disc (the grey still and the dot's black square weigh nothing)."""
    m = cv2.moments(np.clip(frame[:, :, 0].astype(np.float32) - 128, 0, None))
    return m["m10"] / m["m00"], m["m01"] / m["m00"]


@pytest.mark.parametrize(
    "pose",
    [R.CameraPose(0, dx=15.0, dy=-9.0), R.CameraPose(0, zoom=1.1), R.CameraPose(0, dx=-12, dy=16, zoom=0.95)],
    ids=["shift", "zoom", "both"],
)
def test_pose_matrix_maps_a_point_where_the_frame_shows_it(media, pose):
    dot = R.Actor(DOT, [(0, 80, 70)])  # a white disc centred 10.5 px above its ground point
    ref = R.compose(scenario([dot]), 0)
    posed = R.compose(scenario([dot], camera=(pose,)), 0)
    x, y = _centroid(ref)
    px, py, _ = R.pose_matrix(pose, (W, H)) @ np.array([x, y, 1.0])
    gx, gy = _centroid(posed)
    assert abs(gx - px) < 0.3 and abs(gy - py) < 0.3
    assert abs(gx - x) + abs(gy - y) > 3  # it did move


def test_pose_matrix_is_identity_for_the_reference_pose_and_zooms_about_the_centre():
    assert np.array_equal(R.pose_matrix(R.REFERENCE_POSE, (W, H)), np.eye(3))
    centre = np.array([(W - 1) / 2, (H - 1) / 2, 1.0])
    assert np.allclose(R.pose_matrix(R.CameraPose(0, zoom=1.3), (W, H)) @ centre, centre)


def test_a_reaimed_camera_shows_the_other_still_and_only_its_own_actors(media):
    new = R.Actor(BLOCK, [(0, 60, 60)], name="new")
    sc = scenario([goods(0, 12)], camera=(R.CameraPose(5, background="other.png", actors=(new,)),))
    before, after = R.compose(sc, 4.9), R.compose(sc, 5.0)
    assert (before[130:145, 140:160] == (0, 0, 230)).all()  # the scenario's goods, before
    assert (after[130:145, 140:160] == 30).all()  # gone: the other still
    assert (after[45:55, 50:70] == (0, 0, 230)).all() and (after[100:] == 30).all()  # its own actor, nothing else


# ---------------------------------------------------------------- shadows


def test_shadow_darkens_the_ground_beside_a_walking_person_under_it_and_moves(media):
    keys = [(0, 250, 180), (10, 90, 180)]
    lit = scenario([R.Actor(PERSON, keys, scale=2.0)])
    shaded = scenario([R.Actor(PERSON, keys, scale=2.0, shadow=0.5)])
    centres = []
    for t in (2.0, 6.0):
        a, b = R.compose(lit, t).astype(int), R.compose(shaded, t).astype(int)
        x, y = shaded.actors[0].state(t)[:2]
        h = 40  # the object box: 20 rows at scale 2
        ox, oy = R.SHADOW_OFFSET
        cx, cy = round(x + ox * h), round(y + oy * h)  # the shadow's centre
        assert a[cy, cx, 0] == GREY and 0.45 * GREY <= b[cy, cx, 0] <= 0.6 * GREY  # about half as bright
        x0, y0, x1, y1 = (round(v) for v in shaded.actors[0].object_box(t))
        inner = (slice(y0 + 6, y1 - 6), slice(x0 + 6, x1 - 6))  # inside the soft edge of the paste
        assert np.array_equal(a[inner], b[inner])  # the person is drawn over its shadow
        assert (b[:, round(x + 2 * h) :] == GREY).all()  # nothing on the far side
        darker = (a - b).sum(axis=2) > 5
        ys, xs = np.nonzero(darker)
        centres.append(xs.mean())
        assert ys.min() >= cy - h and xs.min() >= cx - 2 * h
    assert centres[0] - centres[1] == pytest.approx(64, abs=2)  # 4 s at 16 px/s: it follows the walker


def test_shadow_reaches_into_a_frontage_while_its_caster_stays_outside(media):
    # Walking down the right of the square at x=232: the box stays outside, its long shadow falls into it.
    walker = R.Actor(PERSON, [(0, 232, 60), (10, 232, 230)], scale=2.0, shadow=0.5, shadow_offset=(-1.0, 0.1))
    sc = scenario([walker])
    cfg = parse_config(sc.config)
    zones = R.frontage_zones(cfg, "cam1")
    for t in (4.0, 6.0):
        assert R.shop_at(walker.object_box(t), zones, cfg.rules.out_of_store_trading) is None
        dark = R.compose(scenario([dataclasses.replace(walker, shadow=0.0)]), t).astype(int) - R.compose(sc, t)
        inside = dark[100:200, 100:200].sum(axis=2) > 20
        assert inside.sum() > 500
    assert R.expected_cases(sc) == []


def test_rendering_with_poses_and_shadows_is_deterministic(media, tmp_path):
    walker = R.Actor(PERSON, [(0, 250, 180), (1, 90, 180)], shadow=0.5)
    sc = scenario([walker], duration=1.0, name="same", camera=(R.CameraPose(0.5, dx=3, zoom=1.02),))
    a = R.render(sc, tmp_path / "a").video.read_bytes()
    b = R.render(sc, tmp_path / "b").video.read_bytes()
    assert a == b


# ---------------------------------------------------------------- rain on the lens


def test_a_drop_lands_blurs_and_brightens_runs_down_and_is_gone(media):
    drop = R.Drop(1.0, 160.0, 60.0, radius=10.0, life_s=3.0, run_px=90.0)
    sc = scenario([], still="texture.png", rain=(drop,))
    plain = R.compose(scenario([], still="texture.png"), 0)
    assert np.array_equal(R.compose(sc, 0.99), plain) and np.array_equal(R.compose(sc, 4.0), plain)
    ys = []
    for t in (1.0, 2.0, 3.0):
        frame = R.compose(sc, t)
        x, y = (round(v) for v in drop.centre(t))
        core = (slice(y - 4, y + 4), slice(x - 4, x + 4))
        assert frame[core].astype(float).std() < 0.6 * plain[core].astype(float).std()  # out of focus
        assert frame[core].mean() > plain[core].mean() + 8  # and a little brighter
        changed = np.nonzero(np.abs(frame.astype(int) - plain).sum(axis=2) > 6)
        assert changed[1].min() >= x - 20 and changed[1].max() <= x + 20  # only there
        ys.append(y)
    assert ys == [60, 70, 100]  # runs down faster and faster: 10 px in its first second, 30 in the next


def test_drops_sit_on_the_lens_not_in_the_scene(media):
    drop = R.Drop(0.0, 160.0, 120.0, radius=8.0)
    posed = scenario([], still="texture.png", rain=(drop,), camera=(R.CameraPose(0, dx=25.0, zoom=1.1),))
    plain = scenario([], still="texture.png", camera=(R.CameraPose(0, dx=25.0, zoom=1.1),))
    diff = np.abs(R.compose(posed, 0.5).astype(int) - R.compose(plain, 0.5)).sum(axis=2) > 6
    ys, xs = np.nonzero(diff)
    x, y = drop.centre(0.5)
    assert abs(xs.mean() - x) < 2 and abs(ys.mean() - y) < 4  # where it landed on the frame, not warped
    assert R.expected_cases(dataclasses.replace(posed, actors=[goods(1, 8)])) == R.expected_cases(
        scenario([goods(1, 8)])
    )


def test_the_rain_scenario_has_a_shower_whose_drops_never_stay():
    sc = SCENARIOS["rain"]
    assert len(sc.rain) >= sc.duration_s / 4 and max(d.life_s for d in sc.rain) <= 5.0
    over = [d for d in sc.rain if 820 <= d.x <= 1180 and 260 <= d.y <= 680]
    assert len(over) >= 0.5 * len(sc.rain)  # most over the frontages


# ---------------------------------------------------------------- ground truth


def test_goods_of_any_kind_count_only_where_the_static_object_detector_runs():
    sc = scenario([goods(1, 8)])
    assert spans(R.expected_cases(sc)) == [("a", "out_of_store_trading", STATIC_OBJECT, 4.0, 8.0)]
    assert R.expected_cases(scenario([goods(1, 8)], cfg=config(static=False))) == []


def test_one_case_per_shop_merges_goods_that_stand_together():
    row = [goods(1, 8, x=130, name="g1"), goods(2, 10, x=170, name="g2"), goods(12, 20, x=150, name="g3")]
    cases = R.expected_cases(scenario(row, duration=25))
    assert spans(cases) == [
        ("a", "out_of_store_trading", STATIC_OBJECT, 4.0, 10.0),  # g1 and g2: opens at g1's, clears at g2's
        ("a", "out_of_store_trading", STATIC_OBJECT, 15.0, 20.0),  # g3 came after both were taken in
    ]
    assert cases[0]["actor"] == "g1" and cases[0]["actors"] == ["g1", "g2"]
    separate = R.expected_cases(scenario(row, duration=25, cfg=config(per_shop=False)))
    assert [(c["opened_at_s"], c["cleared_at_s"]) for c in separate] == [(4.0, 8.0), (5.0, 10.0), (15.0, 20.0)]


def test_one_case_per_shop_keeps_the_first_objects_class_and_never_merges_shops_or_rules():
    chair = dataclasses.replace(BLOCK, name="chair", coco_class="chair")
    shops = [
        {"id": "a", "name": "A", "responsible": {"name": "r"}, "frontages": [{"camera_id": "cam1", "polygon": SQUARE}]},
        {
            "id": "b",
            "name": "B",
            "responsible": {"name": "r"},
            "frontages": [{"camera_id": "cam1", "polygon": [[210, 100], [310, 100], [310, 200], [210, 200]]}],
        },
    ]
    actors = [goods(0, 9, sprite=chair), goods(2, 11, x=130), goods(1, 6, x=260), goods(0, 10, x=175, sprite=BLOCK)]
    cases = R.expected_cases(scenario(actors, cfg=config(shops=shops)))
    assert spans(cases) == [
        ("a", "illegal_parking", "car", 3.0, 10.0),
        ("a", "out_of_store_trading", "chair", 3.0, 11.0),
        ("b", "out_of_store_trading", STATIC_OBJECT, 4.0, 6.0),
    ]


def test_a_fixture_of_its_shop_never_counts():
    fixture = {"shop_id": "a", "polygon": [[125, 125], [175, 125], [175, 155], [125, 155]], "note": "bench"}
    inside = goods(1, 12)  # object box 130..170 x 130..150: all inside the fixture
    beside = goods(1, 8, x=150, y=190)  # box 170..190: outside it
    cases = R.expected_cases(scenario([inside, beside], cfg=config(fixtures=[fixture])))
    assert [(c["opened_at_s"], c["cleared_at_s"]) for c in cases] == [(4.0, 8.0)]
    # A fixture of another shop, or one covering less than half of the box, does not excuse it.
    shops = [
        {"id": "a", "name": "A", "responsible": {"name": "r"}, "frontages": [{"camera_id": "cam1", "polygon": SQUARE}]},
        {
            "id": "z",
            "name": "Z",
            "responsible": {"name": "r"},
            "frontages": [{"camera_id": "cam1", "polygon": [[250, 10], [300, 10], [300, 50], [250, 50]]}],
        },
    ]
    other = {**fixture, "shop_id": "z"}
    assert len(R.expected_cases(scenario([inside], cfg=config(fixtures=[other], shops=shops)))) == 1
    small = {**fixture, "polygon": [[125, 125], [145, 125], [145, 155], [125, 155]]}  # 15 of 40 px wide
    assert len(R.expected_cases(scenario([inside], cfg=config(fixtures=[small])))) == 1
    # Vehicles in a fixture's place (a permitted bike stand) are excused too.
    parked = goods(1, 12, sprite=BLOCK)
    assert R.expected_cases(scenario([parked], cfg=config(fixtures=[fixture]))) == []


def test_nothing_counts_while_the_camera_is_reaimed():
    reaimed = (R.CameraPose(5.0, background="other.png"),)
    # Set out at 1, re-aimed at 5 (4 s in, more than the 3 s dwell): the case opened at 4 clears at 5.
    assert [
        (c["opened_at_s"], c["cleared_at_s"]) for c in R.expected_cases(scenario([goods(1, 12)], camera=reaimed))
    ] == [(4.0, 5.0)]
    # Set out at 3: 2 s before the re-aim, never a case.
    assert R.expected_cases(scenario([goods(3, 12)], camera=reaimed)) == []
    # Looking back at the reference view (a pose without background) counts again, from then.
    back = (*reaimed, R.CameraPose(7.0, dx=2.0))
    assert [c["opened_at_s"] for c in R.expected_cases(scenario([goods(3, 12)], camera=back))] == [10.0]
    # A shifted camera does not change the truth (polygons stay in reference coordinates).
    shifted = (R.CameraPose(2.0, dx=30.0, dy=-20.0, zoom=1.1),)
    assert spans(R.expected_cases(scenario([goods(1, 8)], camera=shifted))) == spans(
        R.expected_cases(scenario([goods(1, 8)]))
    )


# ---------------------------------------------------------------- the goods scenarios

GOODS_TRUTH = {
    "crates_out": [("shop-a", "out_of_store_trading", STATIC_OBJECT, 80.0, 232.0)],
    "person_stands": [],
    "van_parks": [("shop-a", "illegal_parking", "truck", 85.0, 200.5)],
    "camera_shift": [("shop-b", "out_of_store_trading", STATIC_OBJECT, 80.0, 206.0)],
    "camera_reaimed": [],
    "permitted_planter": [("shop-b", "out_of_store_trading", STATIC_OBJECT, 100.0, 223.0)],
    "parasols": [("shop-a", "out_of_store_trading", STATIC_OBJECT, 75.0, 189.0)],
    "dawn": [],
    "street_lights": [],
    "shadows": [],
    "rain": [],
}


def test_goods_names_every_goods_scenario_and_no_other():
    assert set(GOODS) == set(GOODS_TRUTH) and not set(GOODS) & (set(TRAFFIC) | set(OLD_TRUTH))


@pytest.mark.parametrize("name", list(GOODS_TRUTH))
def test_goods_scenario_expects_what_it_says(name):
    sc = SCENARIOS[name]
    assert spans(R.expected_cases(sc)) == GOODS_TRUTH[name]
    assert sc.description and sc.fps == 2 and sc.depth_order
    cfg = parse_config(sc.config, name)
    trading, parking = cfg.rules.out_of_store_trading, cfg.rules.illegal_parking
    assert trading.static_objects.enabled and trading.one_case_per_shop
    assert cfg.detector.sample_fps == (0.5 if name == "dawn" else 1)
    assert (trading.dwell_s, trading.exit_grace_s, trading.entry_debounce_s) == (60, 8, 1)
    assert (parking.dwell_s, parking.exit_grace_s) == (60, 8)
    assert sc.config == {
        **goods_config(f"{name}.mp4"),
        "cameras": sc.config["cameras"],
        "detector": sc.config["detector"],
    }
    assert {**sc.config["detector"], "sample_fps": 1} == goods_config(f"{name}.mp4")["detector"]


@pytest.mark.parametrize("name", list(GOODS_TRUTH))
def test_goods_scenarios_are_busy_and_passers_by_never_stop_in_a_frontage(name):
    sc = SCENARIOS[name]
    cfg = parse_config(sc.config)
    zones = R.frontage_zones(cfg, "cam1")
    anchor = cfg.rules.illegal_parking  # anchor presence: where the feet are
    walkers = [a for a in sc.actors if a.sprite.coco_class == "person" and a.name.startswith("passer_")]
    assert len(walkers) >= sc.duration_s / 12  # one sets off every 5-11 s
    times = sc.frame_times()[::5]
    for a in walkers:
        for t0, t1 in zip(times, times[1:], strict=False):
            if a.visible(t0) and R.shop_at(a.object_box(t0), zones, anchor) is not None:
                assert a.state(t0)[:2] != a.state(t1)[:2], (a.name, t0)


def test_goods_stand_well_inside_their_frontage_and_clear_of_the_fixtures():
    for name in ("crates_out", "camera_shift", "permitted_planter", "parasols", "camera_reaimed"):
        sc = SCENARIOS[name]
        cfg = parse_config(sc.config)
        zones = dict(R.frontage_zones(cfg, "cam1"))
        fixtures = [Polygon(f.polygon) for f in cfg.cameras[0].fixtures]
        for a in sc.actors:
            if a.sprite.coco_class != STATIC_OBJECT or a.name.startswith("permitted_"):
                continue
            b = a.object_box(a.visible_from)
            assert max(R._overlap(b, p) for p in zones.values()) >= 0.8, (name, a.name)
            assert all(not p.intersects(box(*b)) for p in fixtures), (name, a.name)


def test_permitted_planter_fixtures_are_its_permitted_objects_and_would_open_a_case_without_them():
    sc = SCENARIOS["permitted_planter"]
    fixtures = sc.config["cameras"][0]["fixtures"]
    assert [f["shop_id"] for f in fixtures] == ["shop-b", "shop-b"]
    permitted = [a for a in sc.actors if a.name.startswith("permitted_")]
    assert len(permitted) == 2 and all(a.visible_from and a.visible_until is None for a in permitted)
    bare = dataclasses.replace(sc, config={**sc.config, "cameras": [{**sc.config["cameras"][0], "fixtures": []}]})
    assert spans(R.expected_cases(bare)) == [
        ("shop-b", "out_of_store_trading", "potted plant", 70.0, None),  # the planter opens it; nothing clears it
    ]


def test_camera_scenarios_move_the_camera_as_described():
    (pose,) = SCENARIOS["camera_shift"].camera
    goods_in = min(a.visible_from for a in SCENARIOS["camera_shift"].actors if a.sprite.coco_class == STATIC_OBJECT)
    assert 30 <= pose.t - goods_in <= 40 and pose.zoom == 1.05 and np.hypot(pose.dx, pose.dy) == 20
    (aim,) = SCENARIOS["camera_reaimed"].camera
    assert aim.reaimed and aim.actors and aim.background != SCENARIOS["camera_reaimed"].background
    # Without the re-aim the goods would have opened a case: the scenario tests the alert, not an empty street.
    still_aimed = dataclasses.replace(SCENARIOS["camera_reaimed"], camera=())
    assert [c["kind"] for c in R.expected_cases(still_aimed)] == ["out_of_store_trading"]


def test_light_scenarios_change_the_light_as_described():
    dawn, lights = SCENARIOS["dawn"], SCENARIOS["street_lights"]
    assert dawn.duration_s >= 1200 and dawn.gain(0) == 0.35 and dawn.gain(dawn.duration_s) == 1.0
    assert (lights.gain(149.9), lights.gain(150.0)) == (0.55, 0.8)


def test_shadows_scenario_casts_shadows_into_the_frontages_from_outside():
    sc = SCENARIOS["shadows"]
    assert all(a.shadow >= 0.4 for a in sc.actors)
    cfg = parse_config(sc.config)
    zones = R.frontage_zones(cfg, "cam1")
    anchor = cfg.rules.illegal_parking
    pause = next(a for a in sc.actors if a.name == "pausing")
    t = 110.0
    assert R.shop_at(pause.object_box(t), zones, anchor) is None and pause.state(t) == pause.state(t + 5)
    x0, y0, x1, y1 = pause.object_box(t)
    ox, oy = pause.shadow_offset
    centre = ((x0 + x1) / 2 + ox * (y1 - y0), y1 + oy * (y1 - y0))
    assert R.shop_at((centre[0] - 1, centre[1] - 1, centre[0] + 1, centre[1] + 1), zones, anchor) == "shop-a"


# ---------------------------------------------------------------- the goods sprites against the real model

WRONG = {"person", "car", "truck", "motorcycle", "bicycle"}  # after class_map bus -> truck


def _frame_box(b: R.XYXY, pose: R.CameraPose) -> R.XYXY:
    m = R.pose_matrix(pose, (1280, 720))
    (x0, y0, _), (x1, y1, _) = m @ np.array([b[0], b[1], 1.0]), m @ np.array([b[2], b[3], 1.0])
    return x0, y0, x1, y1


def _inter(a: R.XYXY, b: R.XYXY) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


@pytest.mark.model
@needs_media
def test_goods_sprites_read_as_no_person_or_vehicle_where_the_scenarios_set_them_out(weights):
    """Every goods scenario's goods, alone on its background (passers-by left out, so a box is the goods' own),
    at the scenario's own frames: mid-dwell, and after the camera moved. A person or vehicle box over more than
    20 % of a goods box would hand it to the wrong rule or open a parking case."""
    from detector.yolo import YoloDetector
    from frontage.config import DetectorConfig

    det = YoloDetector(DetectorConfig(weights=weights, conf=0.25, class_map={"bus": "truck"}), weights)
    checked, bad, seen = 0, [], set()
    for name in GOODS:
        sc = SCENARIOS[name]
        still = [a for a in sc.actors if a.sprite.coco_class != "person" and len(set(a.keyframes)) == 1]
        if not still:
            continue
        only = dataclasses.replace(sc, actors=still)
        times = sorted({a.visible_from + 10 for a in still} | {p.t + 10 for p in sc.camera if not p.reaimed})
        frames = [R.compose(only, t) for t in times]
        for t, dets in zip(times, det.detect(frames), strict=True):
            pose = sc.pose(t)
            for a in (a for a in still if a.visible(t)):
                b = _frame_box(a.object_box(t), pose)
                area = (b[2] - b[0]) * (b[3] - b[1])
                checked += 1
                over = [(name, t, a.name, d.cls, round(d.conf, 2)) for d in dets if _inter(d.xyxy, b) > 0.2 * area]
                bad += [o for o in over if o[3] in WRONG]
                seen |= {o[2:] for o in over}
    print("boxes over the goods:", sorted(seen) or "none")  # the report's record: pytest -s shows it
    assert checked >= 20 and not bad, bad


@pytest.mark.model
@needs_media
def test_the_reaimed_view_holds_a_van_in_shop_a_s_frontage_area(weights):
    """The re-aimed view's van stands where shop-a's frontage was: a system that missed the re-aim would see a
    parked truck there and open a false case."""
    from detector.yolo import YoloDetector
    from frontage.config import DetectorConfig

    sc = SCENARIOS["camera_reaimed"]
    (aim,) = sc.camera
    det = YoloDetector(DetectorConfig(weights=weights, conf=0.25, class_map={"bus": "truck"}), weights)
    (dets,) = det.detect([R.compose(sc, aim.t + 30)])
    cfg = parse_config(sc.config)
    zones = R.frontage_zones(cfg, "cam1")
    parked = [d for d in dets if d.cls in ("car", "truck") and R.shop_at(d.xyxy, zones, cfg.rules.illegal_parking)]
    assert parked, dets
