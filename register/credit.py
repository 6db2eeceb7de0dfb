"""A responsible party's credit score, as one pure function of its ledger facts.

The ledger (cases with their transitions, inspections) is turned into `Fact`s: one per thing that counts. A
score is the config's base plus each fact's weight, over the facts inside the window. Facts are sorted and the
points summed with `math.fsum` (exactly rounded, so the order of addition cannot matter): the same ledger gives
the same score, whatever order the store returned it in.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from dispatch.lifecycle import CaseState
from frontage.config import CaseSource, CreditConfig


class FactKind(StrEnum):
    """What a fact is; each has a weight of the same name in CreditWeights (fix_time: fix_hour per hour)."""

    confirmed_violation = "confirmed_violation"
    escalation = "escalation"
    voluntary_fix = "voluntary_fix"
    fix_time = "fix_time"
    repeat_offence = "repeat_offence"
    inspection_passed = "inspection_passed"
    inspection_failed = "inspection_failed"
    citizen_report = "citizen_report"


@dataclass(frozen=True, order=True)
class Fact:
    """One thing in a party's ledger that moves its score. Ordered by time first (the sort is the fact's
    identity: two ledgers holding the same facts sort them the same way)."""

    at: dt.datetime
    kind: FactKind
    party_id: str
    case_id: int = -1  # -1: not about a case
    inspection_id: int = -1  # -1: not about an inspection
    hours: float = 0.0  # fix_time: hours from opening to fix
    note: str = ""


@dataclass(frozen=True)
class Contribution:
    kind: str
    points: float
    case_id: int | None
    inspection_id: int | None
    at: dt.datetime
    note: str


@dataclass(frozen=True)
class Score:
    party_id: str
    score: float
    contributions: list[Contribution]


@dataclass(frozen=True)
class CaseLedger:
    """What the score needs to know of one case: who answers for it, what it is, and when it reached the states
    that count (None: never)."""

    case_id: int
    party_id: str
    kind: str
    source: str
    state: str
    opened_at: dt.datetime
    linked_case_id: int | None
    detected_at: dt.datetime | None
    escalated_at: dt.datetime | None
    resolved_at: dt.datetime | None


@dataclass(frozen=True)
class InspectionLedger:
    inspection_id: int
    party_id: str
    shop_id: str
    at: dt.datetime
    passed: bool


def case_facts(case: CaseLedger) -> list[Fact]:
    """The facts one case contributes. A case counts once it reached `detected` (camera and inspector cases open
    there; a citizen's after an operator confirms it) and was not dismissed. Resolved means fixed before any
    escalation: an escalated case can only be closed (dispatch.lifecycle), never resolved."""
    if case.detected_at is None or case.state == CaseState.dismissed.value:
        return []
    at, party, cid = case.detected_at, case.party_id, case.case_id
    facts = [Fact(at, FactKind.confirmed_violation, party, cid, note=f"{case.kind} ({case.source})")]
    if case.source == CaseSource.citizen.value:
        facts.append(Fact(at, FactKind.citizen_report, party, cid, note=f"confirmed citizen report: {case.kind}"))
    if case.linked_case_id is not None:
        facts.append(Fact(at, FactKind.repeat_offence, party, cid, note=f"repeats case {case.linked_case_id}"))
    if case.escalated_at is not None:
        facts.append(Fact(case.escalated_at, FactKind.escalation, party, cid, note="escalated to the city"))
    if case.resolved_at is not None and case.escalated_at is None:
        hours = max(0.0, (case.resolved_at - case.opened_at).total_seconds() / 3600.0)
        facts.append(Fact(case.resolved_at, FactKind.voluntary_fix, party, cid, note="fixed before escalation"))
        facts.append(Fact(case.resolved_at, FactKind.fix_time, party, cid, hours=hours, note=f"fixed in {hours:.1f} h"))
    return facts


def inspection_facts(insp: InspectionLedger) -> list[Fact]:
    kind = FactKind.inspection_passed if insp.passed else FactKind.inspection_failed
    verdict = "passed" if insp.passed else "failed"
    return [Fact(insp.at, kind, insp.party_id, inspection_id=insp.inspection_id, note=f"shop {insp.shop_id} {verdict}")]


def points(fact: Fact, cfg: CreditConfig) -> float:
    w = cfg.weights
    if fact.kind is FactKind.fix_time:
        return w.fix_hour * min(fact.hours, w.fix_hours_cap)
    return float(getattr(w, fact.kind.value))


def in_window(at: dt.datetime, cfg: CreditConfig, now: dt.datetime) -> bool:
    """Inside (now - window_days, now]: older facts have expired, later ones have not happened yet."""
    return now - dt.timedelta(days=cfg.window_days) < at <= now


def score(facts: Sequence[Fact], cfg: CreditConfig, now: dt.datetime, party_id: str | None = None) -> Score:
    """The party's score at `now`: base plus the points of every fact in the window. Facts of other parties are
    refused (a caller mixing parties up would silently blame the wrong one)."""
    parties = {f.party_id for f in facts}
    if party_id is None:
        if len(parties) > 1:
            raise ValueError(f"facts of several parties given to one score: {sorted(parties)}")
        party_id = next(iter(parties), "")
    elif parties - {party_id}:
        raise ValueError(f"facts of other parties given to {party_id}'s score: {sorted(parties - {party_id})}")
    counted = sorted(f for f in facts if in_window(f.at, cfg, now))
    contributions = [
        Contribution(
            kind=f.kind.value,
            points=points(f, cfg),
            case_id=None if f.case_id < 0 else f.case_id,
            inspection_id=None if f.inspection_id < 0 else f.inspection_id,
            at=f.at,
            note=f.note,
        )
        for f in counted
    ]
    total = math.fsum([cfg.base, *(c.points for c in contributions)])
    return Score(party_id, round(total, 6), contributions)


def standing(value: float, cfg: CreditConfig) -> str:
    """red (commended) at or above red_at, black at or below black_at, else none."""
    if value >= cfg.red_at:
        return "red"
    if value <= cfg.black_at:
        return "black"
    return "none"


def main_contributions(s: Score, toward: str, n: int = 3) -> list[Contribution]:
    """The contributions that weigh most toward a standing: the largest gains for red, the largest losses for
    black (ties broken by time and case, so the reason text is stable)."""
    sign = 1.0 if toward == "red" else -1.0
    pushing = [c for c in s.contributions if c.points * sign > 0]
    return sorted(pushing, key=lambda c: (-abs(c.points), c.at, c.case_id or 0, c.inspection_id or 0))[:n]


def describe(contributions: Iterable[Contribution]) -> str:
    parts = []
    for c in contributions:
        ref = f"case {c.case_id}" if c.case_id is not None else f"inspection {c.inspection_id}"
        parts.append(f"{c.kind} {c.points:+g} ({ref}, {c.at.date().isoformat()})")
    return "; ".join(parts)
