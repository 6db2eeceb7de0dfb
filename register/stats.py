"""The district's headline numbers over the ledger: cases by kind and source, and the voluntary-fix rate
(confirmed cases resolved before any escalation, divided by all confirmed cases) with the median time to fix.

A confirmed case reached `detected` (camera and inspector cases open there, a citizen's once an operator
confirms it) and was not dismissed. Cases count in the period they were opened in.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from dispatch.db import CaseEventRow, CaseRow
from dispatch.lifecycle import CaseState
from register.db import ShopRow

S = CaseState
SETTLED = frozenset({S.resolved.value, S.escalated.value, S.closed.value})  # a confirmed case's outcome is known
UNREGISTERED = "unregistered"  # the street label of cases whose shop is not on the register (or has no street)


@dataclass(frozen=True)
class CaseOutcome:
    case_id: int
    kind: str
    source: str
    state: str
    opened_at: dt.datetime
    detected_at: dt.datetime | None
    escalated_at: dt.datetime | None
    resolved_at: dt.datetime | None

    @property
    def confirmed(self) -> bool:
        return self.detected_at is not None and self.state != S.dismissed.value

    @property
    def fixed_voluntarily(self) -> bool:
        return self.confirmed and self.resolved_at is not None and self.escalated_at is None


@dataclass(frozen=True)
class CaseStats:
    opened: int  # every case opened in the period, confirmed or not
    confirmed: int
    resolved_before_escalation: int
    escalated: int
    dismissed: int
    awaiting_confirmation: int  # citizens' reports no operator has confirmed or rejected yet
    voluntary_fix_rate: float | None  # None when nothing was confirmed
    median_time_to_fix_s: float | None  # over the voluntary fixes; None when there were none
    by_kind: dict[str, int] = field(default_factory=dict)  # confirmed cases
    by_source: dict[str, int] = field(default_factory=dict)  # confirmed cases


def summarize(outcomes: Iterable[CaseOutcome]) -> CaseStats:
    """The numbers for a set of cases (pure)."""
    cases = list(outcomes)
    confirmed = [c for c in cases if c.confirmed]
    fixed = [c for c in confirmed if c.fixed_voluntarily]
    times = sorted((c.resolved_at - c.opened_at).total_seconds() for c in fixed if c.resolved_at is not None)
    return CaseStats(
        opened=len(cases),
        confirmed=len(confirmed),
        resolved_before_escalation=len(fixed),
        escalated=sum(1 for c in confirmed if c.escalated_at is not None),
        dismissed=sum(1 for c in cases if c.state == S.dismissed.value),
        awaiting_confirmation=sum(1 for c in cases if c.state == S.reported.value),
        voluntary_fix_rate=len(fixed) / len(confirmed) if confirmed else None,
        median_time_to_fix_s=statistics.median(times) if times else None,
        by_kind=dict(sorted(Counter(c.kind for c in confirmed).items())),
        by_source=dict(sorted(Counter(c.source for c in confirmed).items())),
    )


def _moves(case_ids):
    states = (S.detected.value, S.escalated.value, S.resolved.value)
    return (
        select(CaseEventRow.case_id, CaseEventRow.to_state, func.min(CaseEventRow.at))
        .where(
            CaseEventRow.case_id.in_(case_ids),
            CaseEventRow.to_state.in_(states),
            or_(CaseEventRow.from_state.is_(None), CaseEventRow.from_state != CaseEventRow.to_state),
        )
        .group_by(CaseEventRow.case_id, CaseEventRow.to_state)
    )


def read_outcomes(
    session: Session,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    street: str | None = None,
    shop_id: str | None = None,
) -> list[CaseOutcome]:
    """The cases opened in [start, end), of a street's shops (on the register) or of one shop."""
    where = []
    if start is not None:
        where.append(CaseRow.opened_at >= start)
    if end is not None:
        where.append(CaseRow.opened_at < end)
    if shop_id is not None:
        where.append(CaseRow.shop_id == shop_id)
    if street is not None:
        where.append(CaseRow.shop_id.in_(select(ShopRow.id).where(ShopRow.street == street)))
    ids = select(CaseRow.id).where(*where)
    times: dict[int, dict[str, dt.datetime]] = {}
    for cid, state, at in session.execute(_moves(ids)):
        times.setdefault(cid, {})[state] = at
    rows = session.execute(
        select(CaseRow.id, CaseRow.kind, CaseRow.source, CaseRow.state, CaseRow.opened_at).where(*where)
    )
    out = []
    for cid, kind, source, state, opened in rows:
        t = times.get(cid, {})
        out.append(
            CaseOutcome(cid, kind, source, state, opened, t.get(S.detected.value), t.get(S.escalated.value),
                        t.get(S.resolved.value))
        )  # fmt: skip
    return out


def case_stats(
    session: Session,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    street: str | None = None,
    shop_id: str | None = None,
) -> CaseStats:
    return summarize(read_outcomes(session, start, end, street, shop_id))


@dataclass
class StreetTally:
    """All-time counts of confirmed cases on one street, for /metrics."""

    confirmed: int = 0  # every confirmed case (open ones included)
    settled: int = 0  # confirmed cases whose outcome is known: fixed, escalated or closed (never goes down)
    fixed_voluntarily: int = 0


def street_tallies(session: Session) -> dict[str, StreetTally]:
    """Per street (UNREGISTERED for shops off the register), one grouped query over all cases ever confirmed."""
    confirmed = exists().where(
        CaseEventRow.case_id == CaseRow.id,
        CaseEventRow.to_state == S.detected.value,
        or_(CaseEventRow.from_state.is_(None), CaseEventRow.from_state != CaseEventRow.to_state),
    )
    rows = session.execute(
        select(ShopRow.street, CaseRow.state, func.count())
        .select_from(CaseRow)
        .outerjoin(ShopRow, ShopRow.id == CaseRow.shop_id)
        .where(confirmed, CaseRow.state != S.dismissed.value)
        .group_by(ShopRow.street, CaseRow.state)
    )
    out: dict[str, StreetTally] = {}
    for street, state, n in rows:
        tally = out.setdefault(street or UNREGISTERED, StreetTally())
        tally.confirmed += n
        if state in SETTLED:
            tally.settled += n
        if state == S.resolved.value:
            tally.fixed_voluntarily += n
    return out
