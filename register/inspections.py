"""An inspector's visit to a shop: pass or fail per duty, a note and a photo, stored in the ledger.

A fail opens a case (kind inspection_failed, source inspector) that runs with the district's inspection
deadline, or adds to the one already open. A pass resolves the shop's open cases that citizens or inspectors
started only when every duty the shop keeps (its register row's duties, else all three) was inspected and passed:
a partial pass (say greenery alone) vouches for nothing else and resolves nothing, and says so in its result and
in each open case's ledger. Camera cases are left to the cameras, which see for themselves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from dispatch.db import CaseRow
from dispatch.lifecycle import Actor, CaseState
from dispatch.workflow import Workflow, ledger, transition
from frontage.config import CaseKind, CaseSource, Config, Duty
from register.db import InspectionRow, ShopRow
from register.photos import PhotoRefused, clean_photo, store_photo
from register.problem_lock import problem_session
from register.shops import party_of

MAX_NOTE = 2000
FAIL_OPEN_STATES = (CaseState.reported, CaseState.detected, CaseState.reminded, CaseState.escalated)
PASS_RESOLVES = (CaseState.reported, CaseState.detected, CaseState.reminded)  # escalated: the city has it now


class InspectionRefused(ValueError):
    """An inspection that cannot be recorded: `status` is the HTTP status (404, 413, 415, 422)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class InspectionResult:
    id: int
    passed: bool
    case_id: int | None  # the case a fail opened or added to
    resolved: list[int] = field(default_factory=list)  # cases a pass resolved
    not_inspected: list[str] = field(default_factory=list)  # the shop's duties this visit left out (a partial pass)


def record_inspection(
    engine: Engine,
    workflow: Workflow,
    cfg: Config,
    *,
    shop_id: str,
    inspector: str,
    results: dict[Duty, bool],
    note: str,
    photo: bytes | None,
    snapshot_dir: Path,
    now: dt.datetime,
) -> InspectionResult:
    """Store an inspection and act on it in one transaction; raises InspectionRefused."""
    try:
        workflow.shop(shop_id)
    except KeyError:
        raise InspectionRefused(404, f"no shop {shop_id}") from None
    if not results:
        raise InspectionRefused(422, "an inspection needs a pass or fail for at least one duty")
    try:
        duties = {Duty(d): bool(ok) for d, ok in results.items()}
    except ValueError:
        raise InspectionRefused(422, f"duties are {', '.join(d.value for d in Duty)}") from None
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise InspectionRefused(422, f"note over {MAX_NOTE} characters")
    stored: str | None = None
    path: Path | None = None
    if photo:
        try:
            jpeg = clean_photo(photo, cfg.district.reports)
        except PhotoRefused as exc:
            raise InspectionRefused(exc.status, exc.reason) from None
        path = store_photo(Path(snapshot_dir) / "inspections", f"inspection-{shop_id[:40]}", jpeg)
        stored = str(path.relative_to(snapshot_dir)) if path.is_relative_to(snapshot_dir) else str(path)
    try:
        try:
            return _record(engine, workflow, shop_id, inspector, duties, note, stored, now)
        except StaleDataError:  # a case moved meanwhile (the workflow's tick): look again, once
            return _record(engine, workflow, shop_id, inspector, duties, note, stored, now)
    except BaseException:
        if path is not None:
            path.unlink(missing_ok=True)
        raise


def shop_duties(s: Session, shop_id: str) -> tuple[Duty, ...]:
    """The duties the shop keeps: its register row's, else (not on the register, or none listed) all three."""
    listed = s.scalar(select(ShopRow.duties).where(ShopRow.id == shop_id))
    values = {str(d) for d in listed or []}
    return tuple(d for d in Duty if d.value in values) or tuple(Duty)


def _record(engine: Engine, workflow: Workflow, shop_id: str, inspector: str, duties: dict[Duty, bool], note: str,
            photo: str | None, now: dt.datetime) -> InspectionResult:  # fmt: skip
    passed = all(duties.values())
    failed = [d.value for d, ok in duties.items() if not ok]
    with problem_session(engine, shop_id, CaseKind.inspection_failed.value) as s:
        missing = [d.value for d in shop_duties(s, shop_id) if d not in duties]
        row = InspectionRow(
            shop_id=shop_id, party_id=party_of(s, shop_id), inspector=inspector, at=now, passed=passed, note=note,
            photo=photo, resolved=[],
            results={d.value: "pass" if ok else "fail" for d, ok in duties.items()},
        )  # fmt: skip
        s.add(row)
        s.flush()
        case_id: int | None = None
        resolved: list[int] = []
        if not passed:
            case = _open_case(s, shop_id, CaseKind.inspection_failed, FAIL_OPEN_STATES)
            what = f"inspection {row.id} failed: {', '.join(failed)}"
            if case is not None:
                ledger(s, case, Actor.inspector, f"{what} (again)", now, inspection=row.id, by=inspector)
                if case.snapshot is None and photo is not None:
                    case.snapshot = photo
            else:
                case = workflow.open_case(
                    s, shop_id=shop_id, kind=CaseKind.inspection_failed, source=CaseSource.inspector,
                    actor=Actor.inspector, reason=what, at=now, snapshot=photo, inspection=row.id, by=inspector,
                    failed=failed, note=note,
                )  # fmt: skip
            case_id = row.case_id = case.id
        elif missing:  # a partial pass: what was not looked at may still be wrong
            why = f"inspection {row.id} passed only part of the duties ({', '.join(missing)} not inspected): still open"
            for case in _people_cases(s, shop_id):
                ledger(s, case, Actor.inspector, why, now, inspection=row.id, by=inspector, not_inspected=missing)
        else:
            for case in _people_cases(s, shop_id):
                transition(s, case, CaseState.resolved, Actor.inspector, "inspection passed", now,
                           inspection=row.id, by=inspector)  # fmt: skip
                resolved.append(case.id)
            row.resolved = resolved
        return InspectionResult(row.id, passed, case_id, resolved, missing if passed else [])


def _open_case(s: Session, shop_id: str, kind: CaseKind, states: tuple[CaseState, ...]) -> CaseRow | None:
    return s.scalar(
        select(CaseRow)
        .where(CaseRow.shop_id == shop_id, CaseRow.kind == kind.value, CaseRow.state.in_([x.value for x in states]))
        .order_by(CaseRow.opened_at.desc(), CaseRow.id.desc())
        .limit(1)
    )


def _people_cases(s: Session, shop_id: str) -> list[CaseRow]:
    """The shop's open cases that citizens or inspectors started (cameras see their own cases cleared)."""
    return list(
        s.scalars(
            select(CaseRow)
            .where(
                CaseRow.shop_id == shop_id,
                CaseRow.source.in_([CaseSource.citizen.value, CaseSource.inspector.value]),
                CaseRow.state.in_([x.value for x in PASS_RESOLVES]),
            )
            .order_by(CaseRow.id)
        )
    )
