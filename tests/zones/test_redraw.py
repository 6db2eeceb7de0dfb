"""Hot reload of a camera's frontages (the zone editor saved a new version) on plain detections, street time on a
ManualClock: an open case whose object no longer stands in its shop's new frontage clears with the reason, in the
store's ledger too; one still inside goes on as the same case; an object newly inside a frontage starts its dwell."""

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from detector.types import Detection, FrameDetections
from dispatch.cases import CaseRecorder
from dispatch.db import CaseEventRow, CaseRow, make_engine
from dispatch.workflow import Workflow
from frontage.clock import ManualClock
from frontage.config import parse_config
from zones.dwell import EventType
from zones.engine import REDRAWN, ZoneEngine

T0 = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
A = [(100, 300), (500, 300), (500, 500), (100, 500)]
A_SMALL = [(100, 300), (250, 300), (250, 500), (100, 500)]  # no longer holds the car's ground point (300, 400)
A_MOVED = [(120, 310), (480, 310), (480, 480), (120, 480)]  # redrawn, still holding it
B = [(520, 300), (900, 300), (900, 500), (520, 500)]
B_WIDE = [(260, 300), (900, 300), (900, 500), (260, 500)]  # now holds the car
PARKED = (200, 250, 400, 400)
CFG = parse_config({
    "cameras": [{"id": "cam", "width": 1280, "height": 720}],
    "shops": [
        {"id": "shop-a", "name": "A", "responsible": {"name": "a"}, "frontages": [{"camera_id": "cam", "polygon": A}]},
        {"id": "shop-b", "name": "B", "responsible": {"name": "b"}, "frontages": [{"camera_id": "cam", "polygon": B}]},
    ],
    "rules": {
        "illegal_parking": {"classes": ["car"], "dwell_s": 15, "entry_debounce_s": 1, "exit_grace_s": 6},
        "out_of_store_trading": {"classes": ["chair"], "dwell_s": 15, "entry_debounce_s": 1, "exit_grace_s": 6,
                                 "one_case_per_shop": True},
    },
})  # fmt: skip


class Street:
    """The zone engine fed frame by frame on a ManualClock, its events recorded as cases in a store."""

    def __init__(self, tmp_path):
        self.clock = ManualClock(T0)
        self.engine = make_engine(f"sqlite:///{tmp_path / 'cases.db'}")
        self.zones = ZoneEngine(CFG)
        self.recorder = CaseRecorder(self.engine, tmp_path / "snaps", {}, Workflow(self.engine, CFG, self.clock))
        self.events = []

    @property
    def t(self) -> float:
        return (self.clock.now() - T0).total_seconds()

    def run(self, until: float, *dets: Detection) -> list:
        out = []
        while self.t < until:
            self.clock.advance(0.5)
            out += self._record(self.zones.process(FrameDetections("cam", self.t, list(dets)), self.clock.now()))
        return out

    def redraw(self, polygons) -> list:
        return self._record(self.zones.set_frontages("cam", polygons, self.t, "frontage redrawn (zones v2 by ada)"))

    def _record(self, events) -> list:
        for ev in events:
            self.recorder.handle(ev, T0, None)
        self.events += events
        return events

    def cases(self) -> list[tuple[str, str]]:
        with Session(self.engine) as s:
            return [(c.shop_id, c.state) for c in s.scalars(select(CaseRow).order_by(CaseRow.id))]

    def last_ledger_reason(self) -> str:
        with Session(self.engine) as s:
            return s.scalars(select(CaseEventRow.reason).order_by(CaseEventRow.id.desc())).first()


@pytest.fixture
def street(tmp_path):
    s = Street(tmp_path)
    yield s
    s.engine.dispose()


def car(box=PARKED) -> Detection:
    return Detection("car", 0.9, box)


def types(events) -> list[tuple[str, str]]:
    return [(e.type.value, e.shop_id) for e in events]


def test_a_case_whose_car_the_redrawn_frontage_excludes_clears_with_the_reason(street):
    assert types(street.run(20, car())) == [("opened", "shop-a")]
    (gone,) = street.redraw([("shop-a", A_SMALL), ("shop-b", B)])
    assert (gone.type, gone.reason, gone.cleared_t) == (EventType.cleared, "frontage redrawn (zones v2 by ada)", 20.0)
    assert street.cases() == [("shop-a", "resolved")]
    assert street.last_ledger_reason() == "frontage redrawn (zones v2 by ada)"
    assert street.run(60, car()) == []  # still parked there, outside every frontage now: nothing more
    assert street.zones.frontages("cam") == [("shop-a", A_SMALL), ("shop-b", B)]


def test_a_case_whose_car_the_redrawn_frontage_still_holds_stays_the_same_case(street):
    (opened,) = street.run(20, car())
    assert street.redraw([("shop-a", A_MOVED), ("shop-b", B)]) == []
    assert street.run(60, car()) == []  # no second case, no clearing while it stands
    (gone,) = street.run(70)  # it drives off: the same case clears the ordinary way
    assert (gone.type, gone.key, gone.reason, gone.cleared_t) == (EventType.cleared, opened.key, "", 60.0)
    assert street.cases() == [("shop-a", "resolved")]


def test_a_car_the_redrawn_frontage_of_another_shop_now_holds_starts_its_dwell_there(street):
    street.run(20, car())
    street.redraw([("shop-a", A_SMALL), ("shop-b", B_WIDE)])
    assert types(street.run(34, car())) == []  # dwell from the redraw: 15 s
    assert types(street.run(37, car())) == [("opened", "shop-b")]
    assert street.cases() == [("shop-a", "resolved"), ("shop-b", "detected")]


def test_an_object_still_waiting_out_its_dwell_outside_the_new_frontage_is_forgotten(street):
    assert street.run(10, car()) == []
    assert street.redraw([("shop-a", A_SMALL), ("shop-b", B)]) == []
    assert street.run(60, car()) == [] and street.cases() == []


def test_removing_a_shops_frontage_clears_its_case(street):
    street.run(20, car())
    (gone,) = street.redraw([("shop-b", B)])
    assert gone.reason.startswith("frontage redrawn") and street.cases() == [("shop-a", "resolved")]


def test_one_case_per_shop_clears_only_when_the_redraw_excludes_its_last_object(street):
    left, right = Detection("chair", 0.9, (110, 350, 170, 420)), Detection("chair", 0.9, (380, 350, 440, 420))
    assert types(street.run(20, left, right)) == [("opened", "shop-a"), ("joined", "shop-a")]
    assert street.redraw([("shop-a", A_SMALL), ("shop-b", B)]) == []  # the left chair still stands in it
    assert street.cases() == [("shop-a", "detected")]
    (gone,) = street.redraw([("shop-a", [(600, 550), (700, 550), (700, 650)]), ("shop-b", B)])
    assert gone.type is EventType.cleared and street.cases() == [("shop-a", "resolved")]


def test_a_redraw_of_an_unknown_camera_is_refused():
    with pytest.raises(KeyError):
        ZoneEngine(CFG).set_frontages("cam9", [("shop-a", A)], 0.0)
    assert REDRAWN == "frontage redrawn"


def test_goods_long_settled_where_a_frontage_now_reaches_count_their_dwell_from_the_redraw(street):
    """The static-object detector may have watched goods settle long before: time outside every frontage (or in
    another shop's) is no dwell, so a redraw never opens a case at once."""
    street.redraw([("shop-a", A_SMALL), ("shop-b", B)])
    goods = Detection("chair", 0.9, (600, 350, 660, 420))
    assert types(street.run(20, goods)) == [("opened", "shop-b")]
    settled = Detection("chair", 0.9, (300, 350, 360, 420), static_s=300.0)  # between the two frontages
    assert street.run(30, goods, settled) == []
    street.redraw([("shop-a", A_SMALL), ("shop-b", B_WIDE)])  # shop-b's frontage now reaches the settled goods
    assert street.run(44, goods, settled) == []  # 15 s of dwell from the redraw, not the 300 s it stood outside
    assert types(street.run(47, goods, settled)) == [("joined", "shop-b")]


def test_an_object_whose_resting_place_the_new_frontage_leaves_out_is_forgotten_even_if_its_box_is_in(street):
    """Inside under both: where its dwell accrued must lie in the new frontage, not just its box of the moment
    (back at its place, outside every frontage, it would go on as an object on the frontage's edge)."""
    parked, aside = Detection("car", 0.9, PARKED, 1), Detection("car", 0.9, (20, 250, 220, 400), 1)
    assert street.run(10, parked) == []  # at rest, 10 s of its 15 s dwell
    street.run(11, aside)  # an excursion: its box's ground point (120, 400) lies in A_SMALL, its place does not
    assert street.redraw([("shop-a", A_SMALL), ("shop-b", B)]) == []
    assert street.run(60, parked) == [] and street.cases() == []


def test_frontages_set_before_the_first_frame_take_static_objects_as_the_config_does(street):
    """A replay or a restart running the store's version: nothing was watched before, nothing to hold back."""
    street.redraw([("shop-a", A_SMALL), ("shop-b", B_WIDE)])
    settled = Detection("chair", 0.9, (300, 350, 360, 420), static_s=300.0)
    assert types(street.run(1, settled)) == [("opened", "shop-b")]
