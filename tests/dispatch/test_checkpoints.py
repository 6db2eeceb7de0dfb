"""Dwell checkpoints round-trip through the store (SQLite and PostgreSQL), box by box."""

import datetime as dt

from sqlalchemy.orm import Session

from dispatch.checkpoints import load_dwelling, save_dwelling
from dispatch.db import CaseRow
from frontage.config import RuleKind
from zones.dwell import DwellState

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
PARKING = RuleKind.illegal_parking


def state(key: str, **kw) -> DwellState:
    base = dict(key=key, shop_id="shop-a", object_class="truck", box=(10.0, 20.0, 110.0, 120.0), first_seen_t=5.0,
                last_seen_t=40.0, still_s=30.0)  # fmt: skip
    return DwellState(**{**base, **kw})


def test_a_checkpoint_comes_back_in_seconds_from_the_new_start(engine):
    save_dwelling(engine, ["cam1"], [("cam1", PARKING, state("k1")), ("cam1", PARKING, state("k2", opened=True,
                  absent_s=12.5))], T0, T0 + dt.timedelta(seconds=41))  # fmt: skip
    later = T0 + dt.timedelta(seconds=100)  # the new process starts 100 s after the old one
    got = {st.key: (cam, kind, st) for cam, kind, st in load_dwelling(engine, ["cam1"], later)}
    cam, kind, k1 = got["k1"]
    assert (cam, kind, k1.box, k1.still_s, k1.opened) == ("cam1", PARKING, (10.0, 20.0, 110.0, 120.0), 30.0, False)
    assert (k1.first_seen_t, k1.last_seen_t) == (-95.0, -60.0)
    assert (got["k2"][2].opened, got["k2"][2].absent_s) == (True, 12.5)


def test_each_save_replaces_this_boxs_cameras_only(engine):
    save_dwelling(engine, ["cam1"], [("cam1", PARKING, state("a"))], T0, T0)
    save_dwelling(engine, ["cam9"], [("cam9", PARKING, state("other-box"))], T0, T0)  # another edge box
    save_dwelling(engine, ["cam1"], [("cam1", PARKING, state("b"))], T0, T0)
    assert [st.key for _, _, st in load_dwelling(engine, ["cam1"], T0)] == ["b"]
    assert [st.key for _, _, st in load_dwelling(engine, ["cam9"], T0)] == ["other-box"]
    save_dwelling(engine, ["cam1"], [], T0, T0)  # nothing dwelling now
    assert load_dwelling(engine, ["cam1"], T0) == []


def test_an_object_whose_case_opened_after_the_checkpoint_comes_back_as_an_open_case(engine):
    save_dwelling(engine, ["cam1"], [("cam1", PARKING, state("k1"))], T0, T0)
    with Session(engine) as s, s.begin():
        s.add(CaseRow(violation_key="k1", camera_id="cam1", shop_id="shop-a", kind=PARKING.value,
                      object_class="truck", state="detected", first_seen_at=T0, opened_at=T0, dwell_s=30.0,
                      box=[10, 20, 110, 120]))  # fmt: skip
    ((_, _, k1),) = load_dwelling(engine, ["cam1"], T0)
    assert (k1.opened, k1.absent_s) == (True, 0.0)
