"""Inspections on SQLite and PostgreSQL: a fail opens an inspector case with the inspection deadline (or adds to
the open one); a pass of every duty the shop keeps resolves the shop's open citizen and inspector cases, never a
camera's; a pass of only some of them resolves nothing and says so."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.lifecycle import CaseState
from dispatch.workflow import Action, Actor
from frontage.config import Duty
from register.db import InspectionRow, ShopRow
from register.inspections import InspectionRefused, InspectionResult, record_inspection
from tests.register.test_reports import CFG, DAY, T0, District, camera_case, photo

S = CaseState
INSPECTION_CFG = {**CFG, "district": {**CFG["district"], "inspection_deadline": {"remind_after_s": 3600,
                                                                                  "fix_within_s": DAY}}}  # fmt: skip
ALL_PASS = {Duty.sanitation: True, Duty.order: True, Duty.greenery: True}


@pytest.fixture
def district(tmp_path, db_url):
    d = District(tmp_path, db_url, INSPECTION_CFG)
    yield d
    d.engine.dispose()


def inspect(d: District, results: dict, shop="reg-1", note="", image: bytes | None = None) -> InspectionResult:
    return record_inspection(d.engine, d.wf, d.cfg, shop_id=shop, inspector="zhou", results=results, note=note,
                             photo=image, snapshot_dir=d.snaps, now=d.clock.now())  # fmt: skip


def rows(d: District) -> list[InspectionRow]:
    with Session(d.engine) as s:
        out = list(s.scalars(select(InspectionRow).order_by(InspectionRow.id)))
        s.expunge_all()
        return out


def test_a_fail_opens_an_inspector_case_that_reminds_and_escalates_on_its_deadline(district):
    result = inspect(district, {Duty.sanitation: True, Duty.order: False}, note="boxes on the pavement",
                     image=photo())  # fmt: skip
    assert not result.passed and result.resolved == []
    case = district.case(result.case_id)
    assert (case.state, case.source, case.kind, case.camera_id) == ("detected", "inspector", "inspection_failed", "")
    assert case.remind_due_at == T0 + dt.timedelta(seconds=3600)  # district.inspection_deadline
    assert case.snapshot.startswith("inspections/") and (district.snaps / case.snapshot).is_file()
    opening = district.ledger(case.id)[0]
    assert (opening.actor, opening.data["inspection"], opening.data["failed"]) == ("inspector", result.id, ["order"])
    (row,) = rows(district)
    assert row.results == {"sanitation": "pass", "order": "fail"} and row.case_id == case.id and not row.passed
    assert row.note == "boxes on the pavement" and row.inspector == "zhou" and row.photo == case.snapshot
    district.at(3600)
    assert district.case(case.id).state == S.reminded
    district.at(3600 + DAY)
    assert district.case(case.id).state == S.escalated and district.outbox() == ["log", "open311"]


def test_a_second_fail_adds_to_the_open_case(district):
    first = inspect(district, {Duty.greenery: False})
    district.clock.advance(600)
    second = inspect(district, {Duty.greenery: False, Duty.order: False})
    assert second.case_id == first.case_id and len(district.cases()) == 1
    note = district.ledger(first.case_id)[-1]
    assert note.reason == f"inspection {second.id} failed: greenery, order (again)" and note.actor == "inspector"


def test_a_pass_resolves_citizen_and_inspector_cases_but_leaves_camera_cases_to_the_cameras(district):
    failed = inspect(district, {Duty.order: False}).case_id
    reported = district.report(category="litter").case_id  # still waiting for an operator
    confirmed = district.report(category="piled_materials", client="10.0.0.2").case_id
    district.wf.act(confirmed, Action.confirm, Actor.operator)
    district.at(0)  # reminded now (report_deadline: at once)
    cam = camera_case(district)
    other_shop = inspect(district, {Duty.order: False}, shop="reg-2").case_id
    district.clock.advance(1800)
    result = inspect(district, ALL_PASS, note="all clear")
    assert result.passed and result.case_id is None
    assert result.resolved == sorted([failed, reported, confirmed])
    for case_id in result.resolved:
        last = district.ledger(case_id)[-1]
        facts = (last.to_state, last.actor, last.reason, last.data["inspection"])
        assert facts == ("resolved", "inspector", "inspection passed", result.id)
    assert district.case(cam).state == S.detected and district.case(other_shop).state == S.detected
    assert rows(district)[-1].resolved == result.resolved


def test_a_partial_pass_is_a_fail_and_an_escalated_case_stays_with_the_city(district):
    failed = inspect(district, {Duty.order: False}).case_id
    district.wf.act(failed, Action.escalate, Actor.operator, "blocking the exit")
    mixed = inspect(district, {Duty.order: True, Duty.greenery: False})
    assert not mixed.passed and mixed.case_id == failed  # the escalated case is still the open one
    passed = inspect(district, ALL_PASS)
    assert passed.resolved == [] and district.case(failed).state == S.escalated


def test_a_pass_of_some_duties_resolves_nothing_and_says_so(district):
    failed = inspect(district, {Duty.order: False}).case_id
    reported = district.report(category="litter").case_id
    district.clock.advance(600)
    partial = inspect(district, {Duty.greenery: True}, note="the planters are fine")
    assert partial.passed and partial.case_id is None  # nothing failed
    assert partial.resolved == [] and partial.not_inspected == ["sanitation", "order"]
    for case_id, state in ((failed, S.detected), (reported, S.reported)):
        assert district.case(case_id).state == state
        last = district.ledger(case_id)[-1]
        assert (last.from_state, last.to_state, last.actor) == (state.value, state.value, "inspector")
        assert "passed only part of the duties (sanitation, order not inspected)" in last.reason
        assert (last.data["inspection"], last.data["not_inspected"]) == (partial.id, ["sanitation", "order"])
    assert rows(district)[-1].resolved == []
    two = inspect(district, {Duty.sanitation: True, Duty.greenery: True})
    assert two.resolved == [] and two.not_inspected == ["order"] and district.case(failed).state == S.detected
    full = inspect(district, ALL_PASS)
    assert full.resolved == [failed, reported] and full.not_inspected == []


def test_a_shop_on_the_register_is_done_when_its_own_duties_pass(district):
    with Session(district.engine) as s, s.begin():
        s.add(ShopRow(id="reg-1", name="Corner Store", party_id="p-1", party_name="Zhao Lei", contact_phone="138",
                      duties=["order", "sanitation"], created_at=T0, updated_at=T0))  # fmt: skip
    failed = inspect(district, {Duty.order: False}).case_id
    partial = inspect(district, {Duty.order: True, Duty.greenery: True})  # greenery is not this shop's duty
    assert partial.resolved == [] and partial.not_inspected == ["sanitation"]
    assert district.case(failed).state == S.detected
    done = inspect(district, {Duty.order: True, Duty.sanitation: True})  # all it keeps: greenery is not asked
    assert done.resolved == [failed] and done.not_inspected == [] and district.case(failed).state == S.resolved


def test_bad_inspections_are_refused_and_leave_nothing_behind(district):
    bad = [
        ({"shop": "nowhere", "results": ALL_PASS}, 404, "no shop nowhere"),
        ({"results": {}}, 422, "at least one duty"),
        ({"results": {"cleanliness": True}}, 422, "duties are sanitation, order, greenery"),
        ({"results": ALL_PASS, "note": "n" * 2001}, 422, "note over 2000"),
        ({"results": {Duty.order: False}, "image": b"%PDF-1.7"}, 415, "JPEG, PNG or WebP"),
    ]
    for kwargs, status, why in bad:
        with pytest.raises(InspectionRefused) as info:
            inspect(district, **kwargs)
        assert (info.value.status, why in info.value.reason) == (status, True), (kwargs, info.value.reason)
    assert rows(district) == [] and district.cases() == [] and not list(district.snaps.glob("**/*"))
