"""Cases nobody's camera saw: a citizen's report waits for an operator, an inspector's finding runs at once; both
then follow a camera case's lifecycle (reminder, deadline, escalation), and shops the config does not list are
found through the workflow's shop lookup (the district register)."""

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from dispatch.db import CaseRow, OutboxRow
from dispatch.directory import ShopCard
from dispatch.lifecycle import CaseState, TransitionRefused
from dispatch.workflow import Action, Actor, Workflow
from frontage.config import CaseKind, CaseSource, parse_config
from tests.dispatch.test_workflow import CFG, T0, Box

S = CaseState
REGISTER = {
    "reg-9": ShopCard(id="reg-9", name="Corner Store", address="9 Side St", party_name="Zhao Lei", party_id="P-9")
}
DAY = 86400


@pytest.fixture
def box(tmp_path, db_url):
    b = Box(tmp_path, db_url, {**CFG, "dispatch": {"reminder_channels": ["log"]}})
    b.wf = Workflow(b.wf.engine, b.cfg, b.clock, shops=REGISTER.get)
    yield b
    b.engine.dispose()
    b.wf.engine.dispose()


def _open(box: Box, source: CaseSource, kind=CaseKind.litter, shop="reg-9") -> int:
    actor = Actor.citizen if source is CaseSource.citizen else Actor.inspector
    with Session(box.wf.engine) as s, s.begin():
        now = box.clock.now()
        case = box.wf.open_case(s, shop_id=shop, kind=kind, source=source, actor=actor, reason="test", at=now)
        return case.id


def test_a_citizen_report_waits_for_an_operator_then_runs_like_a_camera_case(box):
    case_id = _open(box, CaseSource.citizen)
    box.at(10 * DAY)
    assert box.case(case_id).state == S.reported  # nobody is reminded of an unconfirmed report, however long
    assert box.outbox() == []
    with pytest.raises(TransitionRefused):
        box.wf.act(case_id, Action.confirm, Actor.merchant)
    box.wf.act(case_id, Action.confirm, Actor.operator, "photo shows rubbish bags")
    assert box.case(case_id).state == S.detected and box.case(case_id).confirmed_at == box.clock.now()
    t = (box.clock.now() - T0).total_seconds()
    box.at(t)  # the report deadline: remind at once, fix within a day (cfg.district.report_deadline)
    assert box.case(case_id).state == S.reminded
    box.at(t + DAY - 1)
    assert box.case(case_id).state == S.reminded
    box.at(t + DAY)
    assert box.case(case_id).state == S.escalated
    channels = [c for c, *_ in box.outbox()]
    assert channels == ["log", "open311"]
    with Session(box.engine) as s:
        body = s.query(OutboxRow).filter_by(channel="open311").one().payload
    assert body["service_code"] == "litter" and "reported by a citizen" in body["description"]
    assert "Corner Store" in body["description"] and body["address_string"] == "9 Side St"


def test_a_dismissed_report_never_reminds(box):
    case_id = _open(box, CaseSource.citizen)
    box.wf.act(case_id, Action.dismiss, Actor.operator, "not this shop")
    box.at(5 * DAY)
    assert box.case(case_id).state == S.dismissed and box.outbox() == []


def test_an_inspectors_finding_is_reminded_at_once_and_an_inspector_may_resolve_it(box):
    case_id = _open(box, CaseSource.inspector, CaseKind.inspection_failed, shop="shop-a")
    row = box.case(case_id)
    assert (row.state, row.source, row.camera_id) == (S.detected, "inspector", "")
    box.at(1)
    assert box.case(case_id).state == S.reminded
    box.wf.act(case_id, Action.resolve, Actor.inspector, "inspection passed")
    assert box.case(case_id).state == S.resolved


def test_the_inspection_deadline_comes_from_the_config(tmp_path, db_url):
    cfg = {**CFG, "dispatch": {"reminder_channels": ["log"]},
           "district": {"inspection_deadline": {"remind_after_s": 60, "fix_within_s": 120}}}  # fmt: skip
    b = Box(tmp_path, db_url, cfg)
    try:
        case_id = _open(b, CaseSource.inspector, CaseKind.inspection_failed, shop="shop-a")
        b.at(59)
        assert b.case(case_id).state == S.detected
        b.at(60)
        assert b.case(case_id).state == S.reminded
        b.at(180)
        assert b.case(case_id).state == S.escalated
    finally:
        b.engine.dispose()
        b.wf.engine.dispose()


def test_a_shop_neither_config_nor_register_knows_fails_loudly(box):
    with pytest.raises(KeyError):
        box.wf.shop("nowhere")
    assert box.wf.shop("reg-9").party_name == "Zhao Lei"
    assert box.wf.shop("shop-a").name == "Noodle House"  # the config first


def test_district_config_rejects_a_short_key_and_crossed_thresholds():
    from frontage.config import ConfigError

    with pytest.raises(ConfigError, match="signboard_key"):
        parse_config({**CFG, "district": {"signboard_key": "short"}})
    with pytest.raises(ConfigError, match="black_at"):
        parse_config({**CFG, "district": {"credit": {"red_at": 90, "black_at": 95}}})
    assert parse_config({"district": {"hotline": "12319"}}).cameras == []  # `frontage serve` needs no camera
    merchant = {"name": "m", "role": "merchant", "shop_id": "R-1", "token": "merchant-token-0123456789"}
    assert parse_config({"api": {"tokens": [merchant]}}).api.tokens[0].shop_id == "R-1"  # a register shop
    with pytest.raises(ConfigError, match="unknown shop 'R-1'"):  # an edge box's merchants are its own shops'
        parse_config({**CFG, "api": {"tokens": [merchant]}})


def test_case_rows_keep_their_source(box):
    ids = [_open(box, CaseSource.citizen), _open(box, CaseSource.inspector, CaseKind.inspection_failed)]
    with Session(box.engine) as s:
        assert [s.get(CaseRow, i).source for i in ids] == ["citizen", "inspector"]
    assert dt.timedelta(0) == box.case(ids[0]).opened_at - T0


def test_each_case_keeps_the_party_that_held_the_shop_when_it_opened(box):
    people = _open(box, CaseSource.citizen)
    camera = box.violation(30)
    assert box.case(people).party_id == "P-9"  # the register's party
    assert box.case(camera).party_id == "shop-a"  # a shop only the config knows answers for itself
