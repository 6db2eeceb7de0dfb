"""Routed cases through the lifecycle: a shared bike's case goes to its operator (reminder to the operator's
contact on its own deadline, escalation naming it, the ledger saying why), the shop is not reminded, and the
credit counts for the operator. On an injected clock; the store's queries (repeat offences, credit) on SQLite and
PostgreSQL."""

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.cases import CaseRecorder
from dispatch.db import CaseEventRow, CaseRow, OutboxRow, make_engine
from dispatch.workflow import Workflow
from frontage.clock import ManualClock
from frontage.config import RuleKind, parse_config
from zones.dwell import EventType, ViolationEvent

T0 = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
SHOP_HOOK, MEITUAN_HOOK = "http://127.0.0.1:9/shop-a", "http://127.0.0.1:9/meituan"
CFG = {
    "cameras": [{"id": "cam1"}],
    "shops": [{"id": "shop-a", "name": "Noodle House", "address": "1 Main St",
               "responsible": {"name": "Li Wei", "contact": {"webhook": SHOP_HOOK}},
               "frontages": [{"camera_id": "cam1", "polygon": [[0, 0], [300, 0], [300, 200], [0, 200]]}],
               "deadlines": {"illegal_parking": {"remind_after_s": 0, "fix_within_s": 40}}}],
    "rules": {"illegal_parking": {"classes": ["car", "bicycle"], "dwell_s": 30,
                                  "deadline": {"remind_after_s": 0, "fix_within_s": 600}, "repeat_window_s": 3600},
              "out_of_store_trading": {"classes": ["chair"], "dwell_s": 30}},
    "dispatch": {"reminder_channels": ["log", "webhook", "mqtt"], "webhook_secret": "s3cret-for-tests"},
    "routing": {
        "parties": [{"id": "meituan-bike", "name": "Meituan Bike", "kind": "bike_operator",
                     "contact": {"webhook": MEITUAN_HOOK, "mqtt_topic": "operators/meituan"},
                     "deadlines": {"illegal_parking": {"remind_after_s": 5, "fix_within_s": 120}}}],
        "rules": [{"name": "shared-bikes-meituan", "classes": ["bicycle"], "party": "meituan-bike",
                   "colour": {"name": "yellow", "min_share": 0.1}}],
    },
}  # fmt: skip
YELLOW_BIKE, GREY_BIKE = (20, 40, 100, 140), (150, 40, 230, 140)


def frame() -> np.ndarray:
    img = np.full((200, 300, 3), 110, np.uint8)
    img[40:140, 20:100:5] = (0, 200, 255)  # a yellow frame's tubes
    img[40:140, 150:230:5] = (40, 40, 40)  # a black private bike
    return img


class Box:
    def __init__(self, tmp_path, url):
        self.cfg = parse_config(CFG)
        self.clock = ManualClock(T0)
        self.engine = make_engine(url)
        self.wf = Workflow(self.engine, self.cfg, self.clock)
        self.rec = CaseRecorder(self.engine, tmp_path / "snaps", {}, workflow=self.wf)
        self.seq = 0

    def park(self, t: float, box, cls="bicycle") -> int:
        self.seq += 1
        self.clock.set(T0 + dt.timedelta(seconds=t))
        ev = ViolationEvent(EventType.opened, f"cam1/p/{self.seq}", "cam1", "shop-a", RuleKind.illegal_parking, cls,
                            t - 30, t, box, 30.0, opened_t=t)  # fmt: skip
        case_id = self.rec.handle(ev, T0, frame())
        self.wf.tick()
        return case_id

    def at(self, t: float) -> None:
        self.clock.set(T0 + dt.timedelta(seconds=t))
        self.wf.tick()

    def case(self, case_id: int) -> CaseRow:
        with Session(self.engine) as s:
            row = s.get(CaseRow, case_id)
            s.expunge(row)
            return row

    def outbox(self, case_id: int) -> dict[str, list[dict]]:
        with Session(self.engine) as s:
            rows = s.scalars(select(OutboxRow).where(OutboxRow.case_id == case_id).order_by(OutboxRow.id))
            out: dict[str, list[dict]] = {}
            for r in rows:
                out.setdefault(r.channel, []).append(r.payload)
            return out

    def opening(self, case_id: int) -> CaseEventRow:
        with Session(self.engine) as s:
            row = s.scalar(select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id))
            s.expunge(row)
            return row


@pytest.fixture
def box(tmp_path):
    """SQLite: the lifecycle is the same on both stores; the store's own queries run on both below (store_box)."""
    b = Box(tmp_path, f"sqlite:///{tmp_path / 'frontage.db'}")
    yield b
    b.engine.dispose()


@pytest.fixture
def store_box(tmp_path, db_url):
    b = Box(tmp_path, db_url)
    yield b
    b.engine.dispose()


def test_a_yellow_bike_goes_to_meituan_with_the_reason_in_the_ledger(box):
    cid = box.park(30, YELLOW_BIKE)
    case = box.case(cid)
    assert (case.shop_id, case.party_id, case.routed_by) == ("shop-a", "meituan-bike", "shared-bikes-meituan")
    opening = box.opening(cid)
    assert opening.reason.startswith("camera cam1: bicycle in frontage for 30 s; routed to meituan-bike: bicycle, "
                                     "yellow 0.")  # fmt: skip
    assert opening.reason.endswith(">= 0.10 (rule shared-bikes-meituan)")
    assert opening.data["routed_to"] == "meituan-bike" and opening.data["routing_share"] > 0.1


def test_the_operator_is_reminded_on_its_own_deadline_and_the_shop_is_not(box):
    cid = box.park(30, YELLOW_BIKE)
    assert box.case(cid).state == "detected"  # Meituan's remind_after_s is 5 s, not the rule's 0
    box.at(35)
    case = box.case(cid)
    assert case.state == "reminded"
    assert case.escalate_due_at == T0 + dt.timedelta(seconds=35 + 120)  # its own fix_within_s, not the shop's 40
    sent = box.outbox(cid)
    hook, mqtt = sent["webhook"][0], sent["mqtt"][0]
    assert hook["url"] == MEITUAN_HOOK and mqtt["topic"] == "operators/meituan"
    assert hook["shop"]["responsible_party"] == {"kind": "bike_operator", "name": "Meituan Bike", "id": "meituan-bike",
                                                 "routed_by": "shared-bikes-meituan"}  # fmt: skip
    assert hook["shop"]["id"] == "shop-a"  # where it stands
    assert hook["message"].startswith("Meituan Bike: your bicycle stands in the frontage of Noodle House (1 Main St)")
    every = [p for payloads in sent.values() for p in payloads]
    assert all(p.get("url") != SHOP_HOOK and "Li Wei" not in str(p) for p in every)  # the shop is not reminded


def test_escalation_at_the_operators_deadline_names_the_operator(box):
    cid = box.park(30, YELLOW_BIKE)
    box.at(35)
    box.at(35 + 119)
    assert box.case(cid).state == "reminded"  # the shop's 40 s are long past: not its deadline
    box.at(35 + 120)
    assert box.case(cid).state == "escalated"
    [req] = box.outbox(cid)["open311"]
    assert "the responsible party Meituan Bike (bike_operator, routed by rule shared-bikes-meituan) was reminded" in (
        req["description"]
    )
    assert req["attribute"]["party_id"] == "meituan-bike" and req["attribute"]["shop_id"] == "shop-a"


def test_a_private_bike_stays_with_the_shop(box):
    cid = box.park(30, GREY_BIKE)
    case = box.case(cid)
    assert (case.party_id, case.routed_by) == ("shop-a", None)
    assert "routed" not in box.opening(cid).reason
    assert case.escalate_due_at == T0 + dt.timedelta(seconds=30 + 40)  # the shop's own deadline
    assert box.outbox(cid)["webhook"][0]["url"] == SHOP_HOOK


def test_routed_and_shop_cases_never_link_as_each_others_repeat_offence(store_box):
    box = store_box
    shop_case = box.park(30, GREY_BIKE)
    routed = box.park(60, YELLOW_BIKE)
    assert box.case(routed).linked_case_id is None  # the operator was never warned: it gets its own reminder
    box.at(65)
    assert box.case(routed).state == "reminded"
    again = box.park(90, YELLOW_BIKE)
    assert box.case(again).linked_case_id == routed  # Meituan's second bike there: its own repeat
    later_shop = box.park(120, GREY_BIKE)
    assert box.case(later_shop).linked_case_id == shop_case


def test_credit_counts_a_routed_case_for_the_operator_not_the_shop(store_box):
    box = store_box
    from register.ledger_facts import read_ledger

    routed = box.park(30, YELLOW_BIKE)
    box.at(35)
    box.at(200)  # escalated at Meituan's deadline
    private = box.park(300, GREY_BIKE)
    with Session(box.engine) as s:
        everyone = read_ledger(s, T0 - dt.timedelta(days=1))
        shop = read_ledger(s, T0 - dt.timedelta(days=1), party_id="shop-a")
    assert {(f.case_id, f.kind.value) for f in everyone.facts["meituan-bike"]} >= {(routed, "escalation")}
    assert {f.case_id for f in shop.facts["shop-a"]} == {private}  # the shop answers only for the private bike
    assert {f.case_id for f in everyone.facts["shop-a"]} == {private}


def test_a_pile_goes_to_the_operator_only_when_most_of_it_is_theirs(box):
    """One case for several bikes (one_case_per_shop): its other boxes are measured on the same frame."""
    img = frame()
    img[40:140, 240:290:5] = (0, 200, 255)  # a second yellow bike
    box.seq += 1
    ev = ViolationEvent(EventType.opened, "cam1/pile/1", "cam1", "shop-a", RuleKind.illegal_parking, "bicycle", 0, 30,
                        YELLOW_BIKE, 30.0, opened_t=30, others=(GREY_BIKE, (240, 40, 290, 140)))  # fmt: skip
    case = box.case(box.rec.handle(ev, T0, img))
    assert (case.party_id, case.routed_by) == ("meituan-bike", "shared-bikes-meituan")
    assert "2 of 3 bicycles in the pile match" in box.opening(case.id).reason
    mixed = ViolationEvent(EventType.opened, "cam1/pile/2", "cam1", "shop-a", RuleKind.illegal_parking, "bicycle", 0,
                           30, YELLOW_BIKE, 30.0, opened_t=30, others=(GREY_BIKE,))  # fmt: skip
    assert box.case(box.rec.handle(mixed, T0, frame())).party_id == "shop-a"  # one of two: stays with the shop


def test_migration_0008_goes_down_and_comes_back(tmp_path):
    from alembic import command
    from sqlalchemy import inspect

    from dispatch.db import alembic_config

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")

    def step(fn, rev):
        cfg = alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            fn(cfg, rev)

    step(command.downgrade, "0007")
    assert "routed_by" not in {c["name"] for c in inspect(engine).get_columns("cases")}
    step(command.upgrade, "head")
    assert "routed_by" in {c["name"] for c in inspect(engine).get_columns("cases")}
    engine.dispose()
