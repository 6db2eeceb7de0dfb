"""Goods at one shop make one case; permitted fixtures never open one; a re-registered view keeps every dwell;
static objects count from their arrival."""

import datetime as dt

from detector.types import Detection
from frontage.config import Rule, RuleKind, StaticObjects
from zones.dwell import DwellTracker, EventType
from zones.geometry import Zone

T0 = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
SHOP_A = Zone.from_points("shop-a", "cam", [(100, 300), (500, 300), (500, 500), (100, 500)])
SHOP_B = Zone.from_points("shop-b", "cam", [(500, 300), (900, 300), (900, 500), (500, 500)])
CRATES = [(120, 380, 180, 440), (200, 380, 260, 440), (280, 380, 340, 440), (360, 380, 420, 440)]
OTHER_SHOP = (600, 380, 660, 440)


def goods_rule(**kw) -> Rule:
    base = {"classes": ["potted plant", "chair"], "dwell_s": 60, "entry_debounce_s": 1.0, "exit_grace_s": 8.0,
            "presence": {"mode": "overlap", "min_overlap": 0.5}, "one_case_per_shop": True,
            "static_objects": StaticObjects(enabled=True)}  # fmt: skip
    return Rule(**{**base, **kw})


def tracker(**kw) -> DwellTracker:
    return DwellTracker("cam", RuleKind.out_of_store_trading, goods_rule(**kw), [SHOP_A, SHOP_B])


def run(tr: DwellTracker, until: float, present) -> list:
    """One frame a second; `present(t)` lists the detections of that frame."""
    events = []
    for i in range(int(until) + 1):
        t = float(i)
        events += tr.update(t, T0 + dt.timedelta(seconds=t), present(t))
    return events


def crate(i: int, cls: str = "static_object", static_s: float = 0.0) -> Detection:
    return Detection(cls, 0.5, CRATES[i], static_s=static_s)


def test_four_crates_at_one_shop_are_one_case_that_clears_with_the_last():
    # set out 5 s apart; taken in one by one from t=200
    def present(t):
        return [crate(i) for i in range(4) if 10 + 5 * i <= t < 200 + 10 * i]

    ev = run(tracker(), 300, present)
    opened = [e for e in ev if e.type is EventType.opened]
    joined = [e for e in ev if e.type is EventType.joined]
    cleared = [e for e in ev if e.type is EventType.cleared]
    assert len(opened) == 1 and len(cleared) == 1, ev
    assert opened[0].opened_t == 70.0  # the first crate's dwell
    assert len(opened[0].others) == 3  # the evidence shows all four: the others stood there already
    assert [e.key for e in joined] == [opened[0].key] * 3
    assert cleared[0].key == opened[0].key
    assert cleared[0].cleared_t == 229.0  # the last crate's last sighting


def test_without_one_case_per_shop_each_object_is_its_own_case():
    ev = run(tracker(one_case_per_shop=False), 120, lambda t: [crate(0), crate(1)] if t >= 10 else [])
    assert len([e for e in ev if e.type is EventType.opened]) == 2


def test_goods_at_two_shops_are_two_cases():
    ev = run(tracker(), 100, lambda t: [crate(0), Detection("static_object", 0.5, OTHER_SHOP)] if t >= 10 else [])
    assert sorted(e.shop_id for e in ev if e.type is EventType.opened) == ["shop-a", "shop-b"]


def test_a_permitted_fixture_never_opens_a_case_but_crates_beside_it_do():
    tr = tracker()
    tr.set_fixtures([("shop-a", Zone.from_points("shop-a", "cam", [(110, 370), (190, 370), (190, 450), (110, 450)]))])
    ev = run(tr, 120, lambda t: [crate(0, "potted plant")] + ([crate(2)] if t >= 30 else []))
    (op,) = [e for e in ev if e.type is EventType.opened]
    assert op.box == CRATES[2] and op.opened_t == 90.0 and op.others == ()


def test_static_objects_count_from_their_arrival():
    # first reported 8 s after it was set out at t=10 (the detector saw it settle)
    ev = run(tracker(), 100, lambda t: [crate(0, static_s=t - 10)] if t >= 18 else [])
    (op,) = [e for e in ev if e.type is EventType.opened]
    assert op.first_seen_t == 10.0 and op.opened_t == 70.0


def test_a_static_object_and_the_goods_class_the_model_gives_it_are_one_object():
    ev = run(tracker(), 100, lambda t: [crate(0, "potted plant" if int(t) % 3 else "static_object")] if t >= 10 else [])
    assert len([e for e in ev if e.type is EventType.opened]) == 1


def test_a_re_registered_view_keeps_the_dwell_of_what_stands_through_the_move():
    tr = tracker()
    dx = 20

    def moved(b):
        return b[0] + dx, b[1], b[2] + dx, b[3]

    events = run(tr, 40, lambda t: [crate(0)] if t >= 10 else [])
    zones = [Zone.from_points(z.shop_id, "cam", [(x + dx, y) for x, y in z.points]) for z in (SHOP_A, SHOP_B)]
    tr.warp(zones, moved)
    for i in range(41, 120):
        t = float(i)
        events += tr.update(t, T0 + dt.timedelta(seconds=t), [Detection("static_object", 0.5, moved(CRATES[0]))])
    (op,) = [e for e in events if e.type is EventType.opened]
    assert op.opened_t == 70.0 and not [e for e in events if e.type is EventType.cleared]


def test_two_open_cases_of_one_shop_taken_back_after_a_restart_each_clear_on_their_own():
    tr = tracker()
    for key, box in (("old/1", CRATES[0]), ("old/2", CRATES[2])):
        tr.restore(key, "shop-a", box, "static_object", first_seen_t=-100.0, opened_t=-40.0, t=0.0)
    ev = run(tr, 40, lambda t: [crate(0)] if t < 5 else [])
    assert sorted(e.key for e in ev if e.type is EventType.cleared) == ["old/1", "old/2"]


def test_unknown_time_is_no_dwell_even_for_a_static_object():
    tr = tracker()
    events = []
    for t in (0.0, 1.0, 1200.0):  # the camera was dark for 20 minutes
        dets = [crate(0, static_s=t)] if t >= 1200 else []
        events += tr.update(t, T0 + dt.timedelta(seconds=t), dets)
    for i in range(1201, 1300):  # its pixels say 1200 s; only what was watched counts
        t = float(i)
        events += tr.update(t, T0 + dt.timedelta(seconds=t), [crate(0, static_s=t)])
    (op,) = [e for e in events if e.type is EventType.opened]
    assert op.opened_t == 1260.0
