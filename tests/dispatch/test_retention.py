"""Retention on SQLite and PostgreSQL: the evidence of cases closed more than N days ago goes, by closing time;
open cases' evidence, recently closed cases' evidence, other files in the folder, the case rows and the ledger
all stay, and the deletion is in the ledger."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from detector.types import Detection
from dispatch.cases import CaseRecorder
from dispatch.db import CaseEventRow, CaseRow, make_engine
from dispatch.lifecycle import CaseState
from dispatch.loop import DispatchLoop
from dispatch.retention import RetentionTimer, purge_evidence
from dispatch.workflow import Action, Actor, Workflow
from frontage.clock import ManualClock
from frontage.config import CaseKind, CaseSource, RuleKind, parse_config
from zones.dwell import EventType, ViolationEvent

T0 = dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
CFG = {
    "cameras": [{"id": "cam1"}],
    "shops": [{"id": "s1", "name": "Arcade", "responsible": {"name": "Li"},
               "frontages": [{"camera_id": "cam1", "polygon": [[0, 0], [300, 0], [300, 170], [0, 170]]}]}],
    "dispatch": {"open311_url": "http://127.0.0.1:9/open311"},
    "retention": {"evidence_days": 90},
}  # fmt: skip


class Store:
    def __init__(self, url: str, root: Path):
        self.cfg = parse_config(CFG)
        self.clock = ManualClock(T0)
        self.engine = make_engine(url)
        self.snaps = root / "snaps"
        self.wf = Workflow(self.engine, self.cfg, self.clock)
        polygons = {("s1", "cam1"): [(0.0, 0.0), (300.0, 0.0), (300.0, 170.0), (0.0, 170.0)]}
        self.rec = CaseRecorder(self.engine, self.snaps, polygons, workflow=self.wf)
        self.image = np.random.default_rng(3).integers(0, 255, (180, 320, 3), dtype=np.uint8)

    def camera_case(self, key: str) -> int:
        ev = ViolationEvent(EventType.opened, key, "cam1", "s1", RuleKind.illegal_parking, "car", 0.0, 200.0,
                            (40.0, 60.0, 140.0, 150.0), 200.0, opened_t=200.0)  # fmt: skip
        dets = [Detection("car", 0.9, (40.0, 60.0, 140.0, 150.0)), Detection("person", 0.8, (200, 40, 230, 120))]
        case_id = self.rec.handle(ev, self.clock.now(), self.image, dets)
        assert case_id is not None
        return case_id

    def citizen_case(self) -> int:
        photo = self.snaps / "reports" / "report-1.jpg"
        photo.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(photo), self.image)
        with Session(self.engine) as s, s.begin():
            case = self.wf.open_case(s, shop_id="s1", kind=CaseKind.litter, source=CaseSource.citizen,
                                     actor=Actor.citizen, reason="rubbish", at=self.clock.now(),
                                     snapshot="reports/report-1.jpg")  # fmt: skip
            return case.id

    def files(self, case_id: int) -> list[Path]:
        with Session(self.engine) as s:
            row = s.get(CaseRow, case_id)
            stored = [row.snapshot, (row.evidence or {}).get("original")]
        return [p if p.is_absolute() else self.snaps / p for p in (Path(x) for x in stored if x)]

    def ledger(self) -> list[tuple[int, str, str]]:
        with Session(self.engine) as s:
            rows = s.scalars(select(CaseEventRow).order_by(CaseEventRow.id)).all()
            return [(e.case_id, e.to_state, e.reason) for e in rows]


@pytest.fixture
def store(db_url, tmp_path) -> Store:
    return Store(db_url, tmp_path)


def test_evidence_of_cases_closed_long_ago_goes_and_nothing_else(store):
    s = store
    resolved, dismissed, still_open, closed_lately = (s.camera_case(f"cam1/car/{i}") for i in range(4))
    citizen = s.citizen_case()
    s.clock.set(T0 + dt.timedelta(hours=1))
    s.wf.act(resolved, Action.resolve, Actor.operator, "gone")
    s.wf.act(dismissed, Action.dismiss, Actor.operator, "a delivery")
    s.wf.act(citizen, Action.dismiss, Actor.operator, "not in the frontage")
    s.clock.set(T0 + 95 * DAY)  # opened with the others, closed 5 days before the purge: counts from the closing
    s.wf.act(closed_lately, Action.resolve, Actor.operator, "gone")
    other = s.snaps / "views" / "cam1.jpg"
    other.parent.mkdir(parents=True, exist_ok=True)
    other.write_bytes(b"\xff\xd8\xff the camera's public view")
    stray = s.snaps / "notes.txt"
    stray.write_text("kept")
    gone = {c: s.files(c) for c in (resolved, dismissed, citizen)}
    kept = {c: s.files(c) for c in (still_open, closed_lately)}
    assert all(len(f) == 2 for f in [*gone.values(), *kept.values()][:2]) and len(gone[citizen]) == 1
    assert all(p.is_file() for files in [*gone.values(), *kept.values()] for p in files)
    before = s.ledger()
    with Session(s.engine) as ses:
        cases_before = ses.scalar(select(func.count()).select_from(CaseRow))

    now = T0 + 100 * DAY
    purged = purge_evidence(s.engine, s.snaps, 90, now)

    assert sorted(p.case_id for p in purged) == sorted([resolved, dismissed, citizen])
    assert all(not p.exists() for files in gone.values() for p in files)
    assert all(p.is_file() for files in kept.values() for p in files)
    assert other.read_bytes().endswith(b"public view") and stray.read_text() == "kept"
    after = s.ledger()
    assert after[: len(before)] == before  # the ledger stays, one entry more per purged case
    added = after[len(before) :]
    assert sorted(c for c, _, _ in added) == sorted([resolved, dismissed, citizen])
    assert all(reason.startswith("evidence deleted after 90 days") for _, _, reason in added)
    with Session(s.engine) as ses:
        assert ses.scalar(select(func.count()).select_from(CaseRow)) == cases_before
        for case_id in (resolved, dismissed, citizen):
            row = ses.get(CaseRow, case_id)
            assert row.evidence_deleted_at == now and row.snapshot is None
            assert row.evidence == {"deleted_after_days": 90} and row.state in ("resolved", "dismissed")
        assert ses.get(CaseRow, resolved).box == [40.0, 60.0, 140.0, 150.0]
        for case_id in (still_open, closed_lately):
            row = ses.get(CaseRow, case_id)
            assert row.evidence_deleted_at is None and row.evidence["people"] == [[200.0, 40.0, 230.0, 120.0]]
        assert ses.get(CaseRow, still_open).state in (CaseState.detected.value, CaseState.reminded.value)
    assert purge_evidence(s.engine, s.snaps, 90, now + DAY) == []  # done once


def test_the_dispatch_loop_runs_retention_on_its_clock_and_zero_keeps_forever(store):
    s = store
    case_id = s.camera_case("cam1/car/9")
    s.clock.set(T0 + dt.timedelta(hours=1))
    s.wf.act(case_id, Action.resolve, Actor.operator, "gone")
    files = s.files(case_id)
    forever = RetentionTimer(s.engine, s.snaps, parse_config({**CFG, "retention": {"evidence_days": 0}}).retention,
                             s.clock)  # fmt: skip
    assert forever.step() == 0 and purge_evidence(s.engine, s.snaps, 0, T0 + 9999 * DAY) == []
    assert all(p.is_file() for p in files)

    loop = DispatchLoop(s.engine, s.cfg, s.clock, s.wf, snapshot_dir=s.snaps)
    s.clock.set(T0 + 90 * DAY + dt.timedelta(minutes=59))  # a minute short of 90 days after the closing
    assert loop.step().purged == 0 and all(p.is_file() for p in files)
    s.clock.set(T0 + 90 * DAY + dt.timedelta(hours=1, seconds=1))  # due, but the timer waits out check_every_s
    assert loop.step().purged == 0
    s.clock.advance(s.cfg.retention.check_every_s)
    assert loop.step().purged == 1 and not any(p.exists() for p in files)


def test_retention_config_refuses_a_negative_period():
    with pytest.raises(ValueError, match="retention.evidence_days"):
        parse_config({**CFG, "retention": {"evidence_days": -1}})
