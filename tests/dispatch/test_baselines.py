"""The camera ledger and fixture baselines in the store, on SQLite and PostgreSQL: versions count up per camera,
every version has its ledger entry, and a bad fixture saves nothing at all."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatch.baselines import (
    BaselineConflict,
    baseline_versions,
    camera_events,
    current_baseline,
    latest_baseline,
    record_camera_event,
    save_baseline,
)
from dispatch.db import CameraBaselineRow, CameraEventRow
from frontage.config import Camera

BENCH = {"shop_id": "shop-a", "polygon": [[10, 10], [60, 10], [60, 40], [10, 40]], "note": "bench"}
PLANTER = {"shop_id": "shop-b", "polygon": [(100.5, 20), (140, 20), (120, 70)], "note": "planter"}
BOWTIE = [[0, 0], [50, 50], [50, 0], [0, 50]]


def test_versions_count_up_per_camera_and_each_is_in_the_camera_ledger(engine, t0):
    assert latest_baseline(engine, "cam1") is None and baseline_versions(engine, "cam1") == []
    t1, t2 = t0 + dt.timedelta(minutes=5), t0 + dt.timedelta(minutes=9)
    assert save_baseline(engine, "cam1", [BENCH], "otto", "bench from case 3", t1) == 1
    assert save_baseline(engine, "cam1", [BENCH, PLANTER], "ada", "planter added", t2) == 2
    assert save_baseline(engine, "cam2", [], "ada", "cleared", t2) == 1  # each camera counts its own versions

    version, fixtures = latest_baseline(engine, "cam1")
    assert version == 2
    # stored in plain JSON form: tuples become [x, y] lists of floats, the note kept
    assert fixtures == [
        {"shop_id": "shop-a", "polygon": [[10.0, 10.0], [60.0, 10.0], [60.0, 40.0], [10.0, 40.0]], "note": "bench"},
        {"shop_id": "shop-b", "polygon": [[100.5, 20.0], [140.0, 20.0], [120.0, 70.0]], "note": "planter"},
    ]
    assert [(v.version, v.actor, v.at, v.reason, v.fixtures) for v in baseline_versions(engine, "cam1")] == [
        (1, "otto", t1, "bench from case 3", 1),
        (2, "ada", t2, "planter added", 2),
    ]
    events = camera_events(engine, "cam1")
    assert [(e.kind, e.actor, e.at, e.reason, e.data) for e in events] == [  # newest first
        ("baseline_changed", "ada", t2, "planter added", {"version": 2, "fixtures": 2}),
        ("baseline_changed", "otto", t1, "bench from case 3", {"version": 1, "fixtures": 1}),
    ]
    assert latest_baseline(engine, "cam2") == (1, [])


def test_save_baseline_adds_the_callers_facts_to_the_ledger_entry(engine, t0):
    save_baseline(engine, "cam1", [BENCH], "otto", "from case 7", t0, data={"case_id": 7})
    (event,) = camera_events(engine, "cam1")
    assert event.data == {"case_id": 7, "version": 1, "fixtures": 1}


@pytest.mark.parametrize(
    ("bad", "mentions"),
    [
        ({**PLANTER, "polygon": BOWTIE}, "fixtures[1].polygon: invalid polygon: Self-intersection"),
        ({**PLANTER, "polygon": [[0, 0], [5, 5]]}, "fixtures[1].polygon: a polygon needs at least 3 points, got 2"),
        ({**PLANTER, "polygon": [[0, 0], [0.5, 0], [0, 0.5]]}, "fixtures[1].polygon: degenerate polygon: area 0.125"),
        ({**PLANTER, "polygon": [[0, 0], [float("nan"), 5], [10, 0]]}, "fixtures[1].polygon: polygon coordinates"),
        ({"polygon": BENCH["polygon"]}, "fixtures[1].shop_id: Field required"),
        ({**PLANTER, "colour": "green"}, "fixtures[1].colour: Extra inputs are not permitted"),
        ("a bench", "fixtures[1]: Input should be a valid dictionary"),
    ],
    ids=["self-intersecting", "two points", "no area", "nan", "no shop", "unknown key", "not an object"],
)
def test_a_bad_fixture_is_refused_with_its_index_and_reason_and_nothing_is_saved(engine, t0, bad, mentions):
    save_baseline(engine, "cam1", [BENCH], "otto", "first", t0)
    with pytest.raises(ValueError) as err:
        save_baseline(engine, "cam1", [BENCH, bad], "otto", "second", t0 + dt.timedelta(seconds=1))
    assert str(err.value).startswith(mentions), str(err.value)
    assert latest_baseline(engine, "cam1") == (1, [{**BENCH, "polygon": [[float(x), float(y)] for x, y in
                                                                        BENCH["polygon"]]}])  # fmt: skip
    assert [e.data["version"] for e in camera_events(engine, "cam1")] == [1]


def test_based_on_refuses_to_save_over_a_newer_version(engine, t0):
    assert save_baseline(engine, "cam1", [BENCH], "otto", "first edit of v0", t0, based_on=0) == 1
    with pytest.raises(BaselineConflict, match="version 1 now, not 0"):
        save_baseline(engine, "cam1", [PLANTER], "ada", "second edit of v0", t0, based_on=0)
    assert [v.version for v in baseline_versions(engine, "cam1")] == [1]
    assert len(camera_events(engine, "cam1")) == 1
    assert save_baseline(engine, "cam1", [PLANTER], "ada", "edit of v1", t0, based_on=1) == 2


def test_the_store_keeps_one_row_per_camera_and_version(engine, t0):
    save_baseline(engine, "cam1", [], "otto", "first", t0)
    with pytest.raises(IntegrityError), Session(engine) as s, s.begin():
        s.add(CameraBaselineRow(camera_id="cam1", version=1, fixtures=[], actor="x", at=t0, reason=""))


def test_current_baseline_is_the_configs_until_one_is_stored(engine, t0):
    cam = Camera(id="cam1", fixtures=[BENCH])
    assert current_baseline(engine, cam) == (0, [{**BENCH, "polygon": [[10.0, 10.0], [60.0, 10.0], [60.0, 40.0],
                                                                        [10.0, 40.0]]}])  # fmt: skip
    save_baseline(engine, "cam1", [], "ada", "bench removed", t0)
    assert current_baseline(engine, cam) == (1, [])
    assert current_baseline(engine, Camera(id="cam2")) == (0, [])


def test_camera_events_newest_first_with_a_limit(engine, t0):
    ids = [
        record_camera_event(engine, "cam1", "camera_moved", "system", "view turned 40 px", t0, {"shift_px": 41.5}),
        record_camera_event(engine, "cam1", "view_confirmed", "otto", "new view is right", t0 + dt.timedelta(1)),
        record_camera_event(engine, "cam1", "view_reregistered", "system", "", t0 + dt.timedelta(1)),  # same time
        record_camera_event(engine, "cam2", "view_tampered", "system", "lens covered", t0),
    ]
    assert len(set(ids)) == 4
    events = camera_events(engine, "cam1")
    assert [e.id for e in events] == [ids[2], ids[1], ids[0]]  # later time first, then later write
    assert (events[2].kind, events[2].actor, events[2].reason, events[2].data, events[2].at) == (
        "camera_moved", "system", "view turned 40 px", {"shift_px": 41.5}, t0)  # fmt: skip
    assert events[1].at.tzinfo is not None and events[1].camera_id == "cam1"
    assert [e.id for e in camera_events(engine, "cam1", limit=1)] == [ids[2]]
    assert [e.kind for e in camera_events(engine, "cam2")] == ["view_tampered"]
    assert camera_events(engine, "cam3") == []


@pytest.mark.parametrize(
    ("kwargs", "mentions"),
    [
        ({"at": dt.datetime(2026, 3, 2, 8, 0)}, "timezone-aware"),
        ({"kind": "k" * 41}, "kind is longer than 40"),
        ({"actor": "a" * 101}, "actor is longer than 100"),
        ({"kind": ""}, "kind must be a non-empty string"),
        ({"camera_id": ""}, "camera_id must be a non-empty string"),
    ],
    ids=["naive time", "long kind", "long actor", "empty kind", "empty camera"],
)
def test_a_camera_event_the_columns_cannot_hold_is_refused(engine, t0, kwargs, mentions):
    args = {"camera_id": "cam1", "kind": "camera_moved", "actor": "system", "reason": "r", "at": t0} | kwargs
    with pytest.raises(ValueError, match=mentions):
        record_camera_event(engine, **args)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(CameraEventRow)) == 0
