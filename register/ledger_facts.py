"""The ledger read into credit facts: every party's facts in four bulk queries, never one query per party.

A case or an inspection belongs to the party that held its shop at the time (recorded on it: cases.party_id,
inspections.party_id), so a shop that changes hands leaves its past with the party that made it. Rows from
before that was recorded belong to the shop's party on the register now (ShopRow.party_id); a shop not on the
register (one only the config knows) answers for itself, under its shop id.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from dispatch.db import CaseEventRow, CaseRow
from dispatch.lifecycle import CaseState
from register.credit import CaseLedger, Fact, InspectionLedger, case_facts, inspection_facts
from register.db import InspectionRow, ShopRow

COUNTED_STATES = (CaseState.detected.value, CaseState.escalated.value, CaseState.resolved.value)


@dataclass
class Ledger:
    """Each party's facts (unsorted: the score sorts them), and every party there is: the register's parties,
    and the shops off the register that have facts."""

    facts: dict[str, list[Fact]] = field(default_factory=dict)
    parties: set[str] = field(default_factory=set)


def shop_parties(session: Session, party_id: str | None = None) -> dict[str, str]:
    """shop id -> party id, for the whole register or one party's shops."""
    query = select(ShopRow.id, ShopRow.party_id)
    if party_id is not None:
        query = query.where(ShopRow.party_id == party_id)
    return {shop: party for shop, party in session.execute(query)}


def read_ledger(session: Session, since: dt.datetime, party_id: str | None = None) -> Ledger:
    """Facts of every case with a counted move after `since` (a case confirmed earlier still brings its later
    fix), and of every inspection after it; for one party, or for all of them."""
    party_of = shop_parties(session, party_id)
    shops: list[str] | None = None
    if party_id is not None:
        registered = session.scalar(select(func.count()).select_from(ShopRow).where(ShopRow.id == party_id))
        shops = sorted(set(party_of) | (set() if registered else {party_id}))
    recent = select(CaseEventRow.case_id).where(CaseEventRow.at > since, CaseEventRow.to_state.in_(COUNTED_STATES))
    if shops is not None:
        mine = or_(CaseRow.party_id == party_id, and_(CaseRow.party_id.is_(None), CaseRow.shop_id.in_(shops)))
        recent = recent.where(CaseEventRow.case_id.in_(select(CaseRow.id).where(mine)))
    first_at: dict[int, dict[str, dt.datetime]] = defaultdict(dict)
    moves = (
        select(CaseEventRow.case_id, CaseEventRow.to_state, func.min(CaseEventRow.at))
        .where(
            CaseEventRow.to_state.in_(COUNTED_STATES),
            or_(CaseEventRow.from_state.is_(None), CaseEventRow.from_state != CaseEventRow.to_state),
            CaseEventRow.case_id.in_(recent),
        )
        .group_by(CaseEventRow.case_id, CaseEventRow.to_state)
    )
    for case_id, state, at in session.execute(moves):
        first_at[case_id][state] = at
    cases = select(
        CaseRow.id, CaseRow.shop_id, CaseRow.party_id, CaseRow.kind, CaseRow.source, CaseRow.state,
        CaseRow.opened_at, CaseRow.linked_case_id,
    ).where(CaseRow.id.in_(recent))  # fmt: skip
    ledger = Ledger(parties=set(party_of.values()) if party_id is None else {party_id})
    for cid, shop, party, kind, source, state, opened_at, linked in session.execute(cases):
        times = first_at.get(cid, {})
        case = CaseLedger(
            case_id=cid, party_id=party or party_of.get(shop, shop), kind=kind, source=source, state=state,
            opened_at=opened_at, linked_case_id=linked, detected_at=times.get(CaseState.detected.value),
            escalated_at=times.get(CaseState.escalated.value), resolved_at=times.get(CaseState.resolved.value),
        )  # fmt: skip
        _add(ledger, case_facts(case))
    inspections = select(
        InspectionRow.id, InspectionRow.shop_id, InspectionRow.party_id, InspectionRow.at, InspectionRow.passed
    ).where(InspectionRow.at > since)
    if shops is not None:
        inspections = inspections.where(
            or_(InspectionRow.party_id == party_id,
                and_(InspectionRow.party_id.is_(None), InspectionRow.shop_id.in_(shops)))
        )  # fmt: skip
    for iid, shop, party, at, passed in session.execute(inspections):
        owner = party or party_of.get(shop, shop)
        _add(ledger, inspection_facts(InspectionLedger(iid, owner, shop, at, bool(passed))))
    return ledger


def _add(ledger: Ledger, facts: list[Fact]) -> None:
    for f in facts:
        ledger.facts.setdefault(f.party_id, []).append(f)
        ledger.parties.add(f.party_id)
