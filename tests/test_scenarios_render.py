"""The scenario renderer without a model: ground truth from the script, compositing, encoding, the catalog.

Most tests use a synthetic still in a temporary media folder (FRONTAGE_MEDIA), so they run anywhere; the few
that touch the real stills are skipped when shared/media is missing.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import yaml

from frontage.config import parse_config
from frontage.scenarios import render as R
from frontage.scenarios import sprites as S
from frontage.scenarios.catalog import DEMO_CONFIG, GOODS, SCENARIOS, TRAFFIC
from tests import scenario_helpers as H_

W, H, SQUARE, needs_media = H_.W, H_.H, H_.SQUARE, H_.needs_media
_clear_caches = H_.clear_caches


@pytest.fixture
def media(tmp_path, monkeypatch):
    """A media folder with a grey 320x240 still and a 40x30 red block (object box: its lower 20 rows)."""
    still = np.full((H, W, 3), 90, np.uint8)
    cv2.imwrite(str(tmp_path / "still.png"), still)
    block = np.zeros((30, 40, 3), np.uint8)
    block[:] = (0, 0, 230)
    cv2.imwrite(str(tmp_path / "block.png"), block)
    monkeypatch.setenv(S.MEDIA_ENV, str(tmp_path))
    _clear_caches()
    yield tmp_path
    _clear_caches()


BLOCK, PERSON = H_.BLOCK, H_.PERSON
BUS_BLOCK = dataclasses.replace(BLOCK, name="bus_block", coco_class="bus")
CHAIR = dataclasses.replace(BLOCK, name="chair_block", coco_class="chair")


def config(shops=None, **rules) -> dict:
    data = H_.base_config(shops)
    data["rules"].update(rules)
    return data


def scenario(actors, duration=10.0, fps=10, cfg=None, name="t") -> R.Scenario:
    return R.Scenario(name, "still.png", duration, actors, cfg or config(), fps=fps, size=(W, H))


def visit(sprite, enter: float, leave: float, x: float = 150, y: float = 150, **kw) -> R.Actor:
    """Stand at (x, y) from `enter` to `leave`, off the frame's left side before and after."""
    return R.Actor(sprite, [(0, -100, y), (enter, -100, y), (enter, x, y), (leave, x, y), (leave, -100, y)], **kw)


# ---------------------------------------------------------------- actors


def test_actor_interpolates_and_holds_the_end_positions():
    a = R.Actor(BLOCK, [(2, 0, 0), (4, 100, 50)])
    assert a.state(0) == (0, 0, 1.0)
    assert a.state(3) == (50, 25, 1.0)
    assert a.state(9) == (100, 50, 1.0)


def test_actor_keyframe_scale_multiplies_the_actor_scale():
    a = R.Actor(BLOCK, [(0, 0, 0, 1.0), (10, 0, 0, 0.5)], scale=2.0)
    assert a.state(5)[2] == pytest.approx(1.5)


def test_object_bottom_centre_stands_on_the_script_point():
    a = R.Actor(BLOCK, [(0, 150, 120)], scale=2.0)
    x0, y0, x1, y1 = a.object_box(0)
    assert ((x0 + x1) / 2, y1) == (150, 120)
    assert (x1 - x0, y1 - y0) == (80, 40)  # the object box (40x20) scaled by 2


def test_visibility_window_is_half_open():
    a = R.Actor(BLOCK, [(0, 0, 0)], visible_from=1, visible_until=2)
    assert [a.visible(t) for t in (0.9, 1.0, 1.9, 2.0)] == [False, True, True, False]


def test_bad_keyframes_are_refused():
    with pytest.raises(ValueError):
        R.Actor(BLOCK, [(2, 0, 0), (1, 0, 0)])
    with pytest.raises(ValueError):
        R.Actor(BLOCK, [(1, 0)])


# ---------------------------------------------------------------- ground truth


def test_a_stay_longer_than_dwell_opens_and_clears():
    (case,) = R.expected_cases(scenario([visit(BLOCK, 2, 7)]))
    assert case == {
        "camera_id": "cam1",
        "shop_id": "a",
        "kind": "illegal_parking",
        "object_class": "car",
        "opened_at_s": 5.0,
        "cleared_at_s": 7.0,
        "actor": "block",
    }


def test_a_stay_shorter_than_dwell_opens_nothing():
    assert R.expected_cases(scenario([visit(BLOCK, 2, 4.9)])) == []


def test_a_stay_to_the_end_never_clears():
    (case,) = R.expected_cases(scenario([R.Actor(BLOCK, [(0, 150, 150)], visible_from=6)]))
    assert (case["opened_at_s"], case["cleared_at_s"]) == (9.0, None)


def test_class_map_folds_before_the_rule_classes_and_persons_are_ignored():
    cases = R.expected_cases(scenario([visit(BUS_BLOCK, 1, 8), visit(PERSON, 1, 8)]))
    assert [(c["object_class"], c["actor"]) for c in cases] == [("truck", "bus_block")]


def test_anchor_mode_uses_the_bottom_centre():
    # Box bottom at y=205 (just below the square), the rest of it inside: not parked there.
    assert R.expected_cases(scenario([visit(BLOCK, 1, 8, y=205)])) == []
    assert len(R.expected_cases(scenario([visit(BLOCK, 1, 8, y=200)]))) == 1  # the edge counts (covers)


def test_overlap_mode_needs_the_share_of_the_box():
    # Object box 40x20 centred on x: at x=200 half of it is inside the square, at x=205 less than half.
    assert len(R.expected_cases(scenario([visit(CHAIR, 1, 8, x=200)]))) == 1
    assert R.expected_cases(scenario([visit(CHAIR, 1, 8, x=205)])) == []


def test_overlapping_frontages_go_to_the_shop_holding_most_of_the_box():
    shops = [
        {"id": "a", "name": "A", "responsible": {"name": "r"}, "frontages": [{"camera_id": "cam1", "polygon": SQUARE}]},
        {
            "id": "b",
            "name": "B",
            "responsible": {"name": "r"},
            "frontages": [
                {
                    "camera_id": "cam1",
                    "polygon": [[140, 100], [300, 100], [300, 200], [140, 200]],
                    "allow_overlap": True,
                }
            ],
        },
    ]
    (case,) = R.expected_cases(scenario([visit(BLOCK, 1, 8, x=190)], cfg=config(shops)))
    assert case["shop_id"] == "b"  # box x 170..210: 30 px in a, 40 px in b


def test_box_cut_by_the_frame_edge_uses_the_visible_part():
    # Standing below the frame: the visible box ends at the frame's bottom row, outside a frontage there.
    low = [
        {
            "id": "a",
            "name": "A",
            "responsible": {"name": "r"},
            "frontages": [{"camera_id": "cam1", "polygon": [[100, 200], [200, 200], [200, 239], [100, 239]]}],
        }
    ]
    assert R.expected_cases(scenario([visit(BLOCK, 1, 8, y=250)], cfg=config(low))) == []
    assert R.clip_box((-10, 230, 30, 250), (W, H)) == (0, 230, 30, 240)
    assert R.clip_box((-50, 0, -10, 10), (W, H)) is None


def test_disabled_rule_opens_nothing():
    off = {"classes": ["car", "truck"], "dwell_s": 3, "enabled": False}
    assert R.expected_cases(scenario([visit(BLOCK, 1, 8)], cfg=config(illegal_parking=off))) == []


def test_two_visits_make_two_cases():
    keys = [(0, -100, 150), (1, -100, 150), (1, 150, 150), (5, 150, 150), (5, -100, 150), (6, -100, 150)]
    a = R.Actor(BLOCK, [*keys, (6, 150, 150)])
    cases = R.expected_cases(scenario([a], duration=10))
    assert [(c["opened_at_s"], c["cleared_at_s"]) for c in cases] == [(4.0, 5.0), (9.0, None)]


def test_jump_keyframes_take_the_new_position_at_their_time():
    a = R.Actor(BLOCK, [(0, 0, 0), (2, 0, 0), (2, 50, 10), (4, 70, 10)])
    assert (a.state(1.99)[0], a.state(2)[0], a.state(3)[0]) == (0, 50, 60)


# ---------------------------------------------------------------- compositing and encoding


def test_paste_blends_and_cuts_at_the_frame_edge():
    frame = np.zeros((10, 10, 3), np.uint8)
    sprite = np.full((4, 4, 3), 200, np.uint8)
    alpha = np.full((4, 4), 0.5, np.float32)
    R.paste(frame, sprite, alpha, 8, -2)
    assert frame[0:2, 8:10].tolist() == [[[100] * 3] * 2] * 2
    assert frame[2:, :].sum() == 0 and frame[:, :8].sum() == 0


def test_sprite_lands_where_the_script_says(media):
    a = R.Actor(BLOCK, [(0, 150, 120)], scale=2.0)
    frame = R.compose(scenario([a]), 0.0)
    x0, y0, x1, y1 = (round(v) for v in a.object_box(0))
    inner = frame[y0 + 6 : y1 - 6, x0 + 6 : x1 - 6]
    assert (inner == (0, 0, 230)).all()  # red all over the object, away from the soft edge
    assert (frame[:, : x0 - 1] == 90).all() and (frame[y1 + 1 :] == 90).all()  # grey elsewhere


def test_later_actors_are_drawn_on_top(media):
    grey = dataclasses.replace(BLOCK, name="grey", source="still.png", crop=(0, 0, 40, 30))
    sc = scenario([R.Actor(BLOCK, [(0, 150, 120)]), R.Actor(grey, [(0, 150, 120)])])
    assert (R.compose(sc, 0.0)[105:115, 140:160] == 90).all()


def test_render_writes_a_decodable_video_config_and_truth(media, tmp_path):
    sc = scenario([visit(BLOCK, 0.5, 1.5)], duration=2.0, fps=10, name="clip")
    res = R.render(sc, tmp_path / "out")
    assert res.frames == 20
    with av.open(str(res.video)) as c:
        stream = c.streams.video[0]
        frames = [(f.time, f.to_ndarray(format="bgr24")) for f in c.decode(video=0)]
        assert (stream.codec_context.name, stream.average_rate) == ("h264", 10)
    assert len(frames) == 20
    assert [round(t, 3) for t, _ in frames] == [i / 10 for i in range(20)]
    assert frames[0][1].shape == (H, W, 3)
    x0, y0, x1, y1 = (round(v) for v in visit(BLOCK, 0.5, 1.5).object_box(1.0))
    red = frames[10][1][y0 + 6 : y1 - 6, x0 + 6 : x1 - 6].reshape(-1, 3).mean(axis=0)
    assert red[2] > 180 and red[1] < 60  # the block is there at t=1.0 after H.264
    cfg = yaml.safe_load(res.config_path.read_text())
    assert cfg["cameras"][0]["source"] == "clip.mp4"
    parse_config(cfg)
    truth = json.loads(res.truth_path.read_text())
    assert (truth["scenario"], truth["fps"], truth["duration_s"], truth["cases"]) == ("clip", 10, 2.0, [])


def test_render_is_deterministic(media, tmp_path):
    sc = scenario([visit(BLOCK, 0.2, 0.8)], duration=1.0, fps=10, name="same")
    a = R.render(sc, tmp_path / "a").video.read_bytes()
    b = R.render(sc, tmp_path / "b").video.read_bytes()
    assert a == b


# ---------------------------------------------------------------- media lookup and the real sprites


def test_media_dir_says_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv(S.MEDIA_ENV, str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match=S.MEDIA_ENV):
        S.media_dir()
    monkeypatch.delenv(S.MEDIA_ENV)
    monkeypatch.setattr(S, "_candidates", lambda: [])
    with pytest.raises(FileNotFoundError, match="shared/media"):
        S.media_dir()


def test_scaled_object_box_follows_flip_and_scale():
    flipped = dataclasses.replace(BLOCK, object_box=(0, 10, 10, 30), flip=True)
    assert S.scaled_object_box(flipped, 2.0) == (60, 20, 80, 60)


@needs_media
@pytest.mark.parametrize("sprite", list(S.SPRITES.values()), ids=list(S.SPRITES))
def test_real_sprites_load_with_their_alpha(sprite):
    img = S.load_sprite(sprite, 0.5)
    alpha = S.sprite_alpha(sprite, 0.5)
    w, h = sprite.size
    assert img.shape == (round(h * 0.5), round(w * 0.5), 3) and alpha.shape == img.shape[:2]
    x0, y0, x1, y1 = (round(v) for v in S.scaled_object_box(sprite, 0.5))
    assert alpha[(y0 + y1) // 2, (x0 + x1) // 2] > 0.5  # the object's middle is opaque


@needs_media
def test_a_real_scenario_renders(tmp_path):
    sc = dataclasses.replace(SCENARIOS["occluded_park"], duration_s=1.0, name="short")
    res = R.render(sc, tmp_path)
    with av.open(str(res.video)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 25


# ---------------------------------------------------------------- the catalog


EXPECTED = {
    "park": [("shop-a", "illegal_parking", True)],
    "drive_through": [],
    "occluded_park": [("shop-a", "illegal_parking", False)],
    "goods": [("shop-b", "out_of_store_trading", True)],
    "neighbours": [("shop-b", "illegal_parking", True), ("shop-a", "illegal_parking", True)],
    "outside": [],
    "demo": [("shop-a", "illegal_parking", True), ("shop-b", "out_of_store_trading", True)],
    "camera_loop": [],  # shorter than the dwell: it only makes sense looped, as a live camera
    "traffic_lane": [],
    "stop_and_go": [],
    "bus_stop": [],
    "double_park": [("shop-b", "illegal_parking", True)],
    "crates_out": [("shop-a", "out_of_store_trading", True)],
    "person_stands": [],
    "van_parks": [("shop-a", "illegal_parking", True)],
    "camera_shift": [("shop-b", "out_of_store_trading", True)],
    "camera_reaimed": [],
    "permitted_planter": [("shop-b", "out_of_store_trading", True)],
    "parasols": [("shop-a", "out_of_store_trading", True)],
    "dawn": [],
    "street_lights": [],
    "shadows": [],
    "rain": [],
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_catalog_scenarios_are_short_valid_and_expect_what_they_say(name):
    sc = SCENARIOS[name]
    cfg = parse_config(sc.config, name)
    assert 40 <= sc.duration_s <= 90 or name == "camera_loop" or name in TRAFFIC or name in GOODS
    cases = R.expected_cases(sc)
    assert [(c["shop_id"], c["kind"], c["cleared_at_s"] is not None) for c in cases] == EXPECTED[name]
    grace = {k.value: r.exit_grace_s for k, r in cfg.rules.items()}
    for c in cases:  # the pipeline can only see a clearing that happens well before the clip ends
        assert c["cleared_at_s"] is None or c["cleared_at_s"] + grace[c["kind"]] + 2 <= sc.duration_s


def test_demo_scenario_uses_configs_demo_yaml_verbatim():
    assert SCENARIOS["demo"].config == yaml.safe_load(Path(DEMO_CONFIG).read_text())
    parse_config(SCENARIOS["demo"].config, str(DEMO_CONFIG))


# ---------------------------------------------------------------- the verifier's bookkeeping (fake detections)


def test_verify_counts_hits_misses_and_unexplained_detections():
    from detector.types import Detection
    from frontage.scenarios.verify import Checker

    sc = scenario([R.Actor(BLOCK, [(0, 150, 150)])], duration=4.0)
    checker = Checker(sc, parse_config(sc.config))
    box = sc.actors[0].object_box(0)
    for i in range(8):
        t = i / 2
        dets = [Detection("car", 0.9, box)] if i not in (3, 4) else []
        if i == 5:
            dets.append(Detection("truck", 0.4, (105, 105, 125, 125)))  # nothing scripted there
        checker.add(t, dets)
    st = checker.stats[0]
    assert (st.still, st.still_hit, st.still_zone_ok, st.miss_run_s) == (8, 6, 6, 1.0)
    (key, sp), *_ = checker.spurious.items()
    assert key == ("truck", "a") and sp.frames == 1
    lines, ok = checker.report()
    assert not ok  # 75 % < 90 %


def test_dwell_in_the_truth_counts_only_while_the_actor_stands_still():
    # Crawls through the frontage for 6 s (twice the dwell), stands 2 s, crawls on: no case.
    crawl = R.Actor(BLOCK, [(0, 60, 150), (6, 150, 150), (8, 150, 150), (14, 240, 150)])
    assert R.expected_cases(scenario([crawl], duration=15)) == []
    # Stands 4 s in the middle of the crawl: one case, from when it stopped.
    stop = R.Actor(BLOCK, [(0, 60, 150), (6, 150, 150), (10, 150, 150), (16, 240, 150)])
    (case,) = R.expected_cases(scenario([stop], duration=17))
    assert case["opened_at_s"] == 9.0


def test_traffic_scenarios_are_as_busy_as_the_issue_asks():
    from frontage.scenarios.catalog import STREET, traffic_config

    lane = SCENARIOS["traffic_lane"]
    assert lane.duration_s >= 600
    # A vehicle enters the frontages every 2-6 s (platoon buses 2 s apart), for the whole ten minutes.
    starts = sorted(a.visible_from for a in lane.actors)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert max(gaps) <= 6.0 and starts[-1] >= 580 and len(starts) >= 600 / 6
    # Platoons of buses whose boxes overlap from one to the next, all the way up the street.
    buses = sorted((a for a in lane.actors if a.sprite.name == "bus_blue"), key=lambda a: a.visible_from)
    platoons = [(a, b) for a, b in zip(buses, buses[1:], strict=False)
                if b.visible_from - a.visible_from <= 2.0 and a.keyframes[0][1] == b.keyframes[0][1]]  # fmt: skip
    assert len(platoons) >= 10
    for a, b in platoons:
        for t in (b.visible_from + 1, b.visible_from + 3, b.visible_from + 6):
            ax0, ay0, ax1, ay1 = a.object_box(t)
            bx0, by0, bx1, by1 = b.object_box(t)
            assert min(ay1, by1) > max(ay0, by0) and min(ax1, bx1) > max(ax0, bx0), (a.name, b.name, t)
    # The bus stop: three buses of 20 s each at one spot, 5 s apart (70 s in all, more than the 60 s dwell).
    stops = [a for a in SCENARIOS["bus_stop"].actors if a.name.startswith("stop_bus_")]
    assert len(stops) == 3 and traffic_config("x.mp4")["rules"]["illegal_parking"]["dwell_s"] == 60
    assert STREET[0][1] > 720  # vehicles come in from below the frame


def test_light_changes_slowly_or_at_once_and_darkens_the_whole_frame(media):
    sc = dataclasses.replace(scenario([]), light=((0, 1.0), (10, 0.5), (20, 0.5), (20, 0.8)))
    assert [sc.gain(t) for t in (0, 5, 10, 19.9, 20, 30)] == [1.0, 0.75, 0.5, 0.5, 0.8, 0.8]
    assert scenario([]).gain(3) == 1.0  # no light keyframes: the still as it is
    assert [int(R.compose(sc, t).mean()) for t in (0, 10, 25)] == [90, 45, 72]  # the grey still, 90
