"""The lifecycle engine on an injected clock: reminders, deadlines, escalation, repeat offences, restarts."""

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.cases import CaseRecorder
from dispatch.db import CaseEventRow, CaseRow, OutboxRow, make_engine
from dispatch.lifecycle import CaseState, TransitionRefused
from dispatch.workflow import Action, Actor, CaseNotFound, Workflow
from frontage.clock import ManualClock
from frontage.config import RuleKind, parse_config
from zones.dwell import EventType, ViolationEvent

T0 = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
CFG = {
    "cameras": [{"id": "cam1"}],
    "shops": [
        {
            "id": "shop-a",
            "name": "Noodle House",
            "address": "1 Main St",
            "lat": 40.2,
            "lon": 116.2,
            "responsible": {"name": "Li Wei", "contact": {"webhook": "http://127.0.0.1:9/hook"}},
            "frontages": [{"camera_id": "cam1", "polygon": [[0, 0], [100, 0], [100, 100]]}],
        },
        {
            "id": "shop-b",
            "name": "Tea Shop",
            "responsible": {"name": "Wang Fang"},
            "frontages": [{"camera_id": "cam1", "polygon": [[200, 0], [300, 0], [300, 100]]}],
            "deadlines": {"illegal_parking": {"remind_after_s": 60, "fix_within_s": 120}},
        },
    ],
    "rules": {
        "illegal_parking": {
            "classes": ["car"],
            "dwell_s": 30,
            "deadline": {"remind_after_s": 0, "fix_within_s": 600},
            "repeat_window_s": 3600,
        },
        "out_of_store_trading": {"classes": ["chair"], "dwell_s": 30},
    },
    "dispatch": {"reminder_channels": ["log", "webhook", "mqtt"], "webhook_secret": "s3cret-for-tests"},
}


class Box:
    def __init__(self, tmp_path, url, cfg=CFG):
        self.snaps = tmp_path / "snaps"
        self.cfg = parse_config(cfg)
        self.clock = ManualClock(T0)
        self.url = url
        self.engine = make_engine(self.url)
        self.restart()
        self.seq = 0

    def restart(self):
        """A fresh process on the same database (what a kill -9 and restart leaves behind)."""
        self.wf = Workflow(make_engine(self.url), self.cfg, self.clock)
        self.rec = CaseRecorder(self.wf.engine, self.snaps, {}, workflow=self.wf)

    def at(self, seconds: float) -> dt.datetime:
        self.clock.set(T0 + dt.timedelta(seconds=seconds))
        self.wf.tick()
        return self.clock.now()

    def violation(self, t: float, shop="shop-a", kind=RuleKind.illegal_parking) -> int:
        self.seq += 1
        self.clock.set(T0 + dt.timedelta(seconds=t))
        ev = ViolationEvent(EventType.opened, f"cam1/{kind.value}/{self.seq}", "cam1", shop, kind, "car", t - 30, t,
                            (10, 10, 50, 50), 30.0, opened_t=t)  # fmt: skip
        case_id = self.rec.handle(ev, T0, None)
        self.wf.tick()
        return case_id

    def clear(self, case_id: int, t: float):
        with Session(self.engine) as s:
            key = s.get(CaseRow, case_id).violation_key
        self.clock.set(T0 + dt.timedelta(seconds=t))
        ev = ViolationEvent(EventType.cleared, key, "cam1", "shop-a", RuleKind.illegal_parking, "car", 0, t,
                            (10, 10, 50, 50), t, opened_t=30, cleared_t=t - 6)  # fmt: skip
        self.rec.handle(ev, T0, None)

    def case(self, case_id) -> CaseRow:
        with Session(self.engine) as s:
            row = s.get(CaseRow, case_id)
            s.expunge(row)
            return row

    def ledger(self, case_id) -> list[tuple]:
        with Session(self.engine) as s:
            rows = s.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id))
            return [((r.at - T0).total_seconds(), r.from_state, r.to_state, r.actor) for r in rows]

    def outbox(self) -> list[tuple]:
        with Session(self.engine) as s:
            rows = s.scalars(select(OutboxRow).order_by(OutboxRow.id))
            return [(r.channel, r.case_id, r.idempotency_key.split("/")[0], (r.created_at - T0).total_seconds())
                    for r in rows]  # fmt: skip


@pytest.fixture
def box(tmp_path, db_url):
    b = Box(tmp_path, db_url)
    yield b
    b.engine.dispose()
    b.wf.engine.dispose()


def test_reminder_then_resolved_by_the_camera(box):
    cid = box.violation(30)
    assert box.case(cid).state == "reminded"
    assert box.outbox() == [("log", cid, "remind", 30), ("webhook", cid, "remind", 30), ("mqtt", cid, "remind", 30)]
    box.clear(cid, 200)
    box.at(10_000)
    assert box.case(cid).state == "resolved"
    assert box.ledger(cid) == [
        (30, None, "detected", "system"),
        (30, "detected", "reminded", "system"),
        (200, "reminded", "resolved", "system"),
    ]
    assert [o[2] for o in box.outbox()].count("escalate") == 0


def test_reminder_payload_carries_case_shop_rule_deadline_and_snapshot_link(box):
    cid = box.violation(30)
    with Session(box.engine) as s:
        rows = {r.channel: r.payload for r in s.scalars(select(OutboxRow))}
    p = rows["webhook"]
    assert p["case"]["id"] == cid and p["shop"]["name"] == "Noodle House" and p["rule"] == "illegal_parking"
    assert p["deadline"] == (T0 + dt.timedelta(seconds=630)).isoformat()
    assert p["snapshot_url"].endswith(f"/cases/{cid}/snapshot.jpg")
    assert p["url"] == "http://127.0.0.1:9/hook" and rows["mqtt"]["topic"] == "frontage/reminders/shop-a"


def test_deadline_escalates_exactly_once_at_its_time(box):
    cid = box.violation(30)
    box.at(629)
    assert box.case(cid).state == "reminded"
    box.at(630)
    box.at(700)
    assert box.case(cid).state == "escalated"
    esc = [o for o in box.outbox() if o[2] == "escalate"]
    assert esc == [("open311", cid, "escalate", 630)]
    with Session(box.engine) as s:
        body = s.scalar(select(OutboxRow.payload).where(OutboxRow.channel == "open311"))
    assert body["service_code"] == "illegal_parking" and body["attribute"]["case_id"] == box.case(cid).violation_key
    assert (body["lat"], body["long"], body["address_string"]) == (40.2, 116.2, "1 Main St")


def test_restart_fires_due_times_at_their_original_time(box):
    cid = box.violation(30)
    box.restart()  # the process died; nothing ran while it was down
    box.at(5_000)  # it comes back long after the deadline
    assert box.case(cid).state == "escalated"
    assert box.ledger(cid)[-1] == (630, "reminded", "escalated", "system")  # the original time, not 5000


def test_per_shop_deadline_overrides_the_rule(box):
    cid = box.violation(30, shop="shop-b")
    assert box.case(cid).state == "detected"
    box.at(90)
    assert box.case(cid).state == "reminded"
    box.at(210)
    assert box.case(cid).state == "escalated"


def test_repeat_offence_links_and_sends_no_second_reminder(box):
    first = box.violation(30)
    box.clear(first, 100)
    second = box.violation(400)
    assert box.case(second).linked_case_id == first
    assert box.case(second).state == "detected"
    assert [o[1] for o in box.outbox() if o[2] == "remind"] == [first] * 3
    box.at(400 + 600)
    assert box.case(second).state == "escalated"
    with Session(box.engine) as s:
        reasons = s.scalars(select(CaseEventRow.reason).where(CaseEventRow.case_id == second)).all()
    assert f"repeat offence: linked to case {first}; no second reminder" in reasons


def test_after_the_window_a_new_case_is_not_linked(box):
    first = box.violation(30)
    box.clear(first, 100)
    later = box.violation(30 + 3601)
    assert box.case(later).linked_case_id is None and box.case(later).state == "reminded"


def test_operator_actions_and_refusals(box):
    a, b = box.violation(30), box.violation(31, kind=RuleKind.out_of_store_trading)
    box.wf.act(a, Action.confirm, Actor.operator)
    assert box.case(a).confirmed_at is not None
    box.wf.act(a, Action.dismiss, Actor.operator, "a delivery van unloading, allowed")
    assert box.case(a).state == "dismissed"
    with pytest.raises(TransitionRefused):
        box.wf.act(a, Action.escalate, Actor.operator)
    box.wf.act(b, Action.escalate, Actor.operator, "blocking the fire lane")
    assert box.case(b).state == "escalated"
    box.at(10_000)
    assert [o[2] for o in box.outbox() if o[1] == b].count("escalate") == 1
    with pytest.raises(TransitionRefused, match="an escalated case cannot become dismissed"):
        box.wf.act(b, Action.dismiss, Actor.operator)
    c = box.violation(10_001, shop="shop-b")
    with pytest.raises(TransitionRefused, match="merchant may not move a case from detected to dismissed"):
        box.wf.act(c, Action.dismiss, Actor.merchant)
    with pytest.raises(CaseNotFound):
        box.wf.act(999, Action.confirm, Actor.operator)


def test_dispatch_closure_closes_the_case(box):
    cid = box.violation(30)
    box.at(700)
    assert box.wf.dispatch_closed(cid, "cleared by inspectors")
    assert box.case(cid).state == "closed"
    assert not box.wf.dispatch_closed(cid)
    assert box.ledger(cid)[-1][2:] == ("closed", "dispatch")


def test_camera_clearing_after_escalation_is_noted_not_moved(box):
    cid = box.violation(30)
    box.at(700)
    box.clear(cid, 800)
    assert box.case(cid).state == "escalated"
    assert box.ledger(cid)[-1] == (800, "escalated", "escalated", "system")


def test_next_due(box):
    assert box.wf.next_due() is None
    box.violation(30, shop="shop-b")
    assert box.wf.next_due() == T0 + dt.timedelta(seconds=90)


def test_two_writers_cannot_both_move_one_case(box):
    from sqlalchemy.orm.exc import StaleDataError

    from dispatch.workflow import transition

    cid = box.violation(30)
    with pytest.raises(StaleDataError), Session(box.engine) as s, s.begin():
        stale = s.get(CaseRow, cid)  # read: reminded
        box.wf.act(cid, Action.dismiss, Actor.operator, "a parked bicycle rack, not a vehicle")  # another writer
        transition(s, stale, CaseState.escalated, Actor.system, "deadline", box.clock.now())
    assert box.case(cid).state == "dismissed"
    assert [e[2] for e in box.ledger(cid)] == ["detected", "reminded", "dismissed"]


def test_a_broken_case_does_not_stop_the_others(box, caplog):
    first, second = box.violation(30), box.violation(31, shop="shop-b")
    box.wf.cfg = box.cfg.model_copy(update={"shops": [box.cfg.shops[1]]})  # shop-a left the config
    box.at(5_000)  # shop-b's reminder (due at 91) ...
    box.at(5_001)  # ... and then its escalation (due at 211)
    assert box.case(second).state == "escalated"
    assert box.case(first).state == "reminded" and "due reminder or escalation failed" in caplog.text


def test_repeat_of_a_case_never_reminded_is_not_linked(box):
    first = box.violation(30, shop="shop-b")  # shop-b reminds only after 60 s
    box.clear(first, 50)  # gone before its reminder
    second = box.violation(100, shop="shop-b")
    assert box.case(second).linked_case_id is None and box.case(second).remind_due_at is not None


def test_repeat_while_the_first_case_runs_keeps_the_deadline_already_given(box):
    first = box.violation(30)  # reminded at 30, deadline 630
    second = box.violation(100)  # another car while the first is still there
    assert box.case(second).linked_case_id == first
    assert box.case(second).escalate_due_at == box.case(first).escalate_due_at == T0 + dt.timedelta(seconds=630)


def test_a_dark_camera_holds_the_escalation_and_the_ledger_notes_the_gap(box):
    dark = {"cam1": True}
    box.wf.camera_dark = lambda cam: dark[cam]
    cid = box.violation(30)
    box.at(700)
    box.at(800)
    assert box.case(cid).state == "reminded"
    with Session(box.engine) as s:
        reasons = s.scalars(select(CaseEventRow.reason).where(CaseEventRow.case_id == cid)).all()
    assert reasons.count("escalation held: camera cam1 is dark") == 1
    dark["cam1"] = False
    box.at(900)
    assert box.case(cid).state == "escalated"
    assert box.ledger(cid)[-1] == (900, "reminded", "escalated", "system")
