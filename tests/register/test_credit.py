"""The credit score as a pure function: known scores from a hand-computed ledger, the same score whatever the
order, the window, the thresholds, and a clear refusal of mixed-up input."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from frontage.config import CreditConfig, CreditWeights
from register.credit import (
    CaseLedger,
    FactKind,
    InspectionLedger,
    case_facts,
    inspection_facts,
    main_contributions,
    score,
    standing,
)

T0 = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
CFG = CreditConfig()  # base 100; -4 confirmed, -8 escalated, +3 fixed, -0.25/h (48 h cap), -6 repeat, +2/-3, -2


def case(cid: int, *, state: str = "resolved", source: str = "camera", opened: dt.datetime = T0, detected=0.0,
         escalated: float | None = None, resolved: float | None = None, linked: int | None = None) -> CaseLedger:
    """A case of party p1; times in hours after `opened` (detected None: never confirmed)."""
    def at(h: float | None) -> dt.datetime | None:
        return None if h is None else opened + h * H

    return CaseLedger(cid, "p1", "illegal_parking", source, state, opened, linked, at(detected), at(escalated),
                      at(resolved))  # fmt: skip


def p1_facts():
    cases = [
        case(1, resolved=2),  # -4 + 3 - 0.5
        case(2, state="escalated", escalated=24),  # -4 - 8
        case(3, source="citizen", detected=1, resolved=5),  # -4 - 2 + 3 - 1.25
        case(4, state="dismissed"),  # nothing
        case(5, state="reported", source="citizen", detected=None),  # nothing
        case(6, opened=T0 + 48 * H, resolved=100, linked=2),  # -4 - 6 + 3 - 12 (48 h cap)
    ]
    inspections = [
        InspectionLedger(1, "p1", "s2", T0 + 3 * H, True),  # +2
        InspectionLedger(2, "p1", "s1", T0 + 4 * H, False),  # -3
    ]
    return [f for c in cases for f in case_facts(c)] + [f for i in inspections for f in inspection_facts(i)]


NOW = T0 + dt.timedelta(days=10)


def test_known_score_with_every_contribution():
    s = score(p1_facts(), CFG, NOW)
    assert s.party_id == "p1"
    assert s.score == 100 - 1.5 - 12 - 4.25 - 19 + 2 - 3 == 62.25
    by_case: dict[int | None, float] = {}
    for c in s.contributions:
        by_case[c.case_id] = by_case.get(c.case_id, 0.0) + c.points
    assert by_case == {1: -1.5, 2: -12.0, 3: -4.25, 6: -19.0, None: -1.0}
    kinds = sorted(c.kind for c in s.contributions if c.case_id == 3)
    assert kinds == ["citizen_report", "confirmed_violation", "fix_time", "voluntary_fix"]
    capped = next(c for c in s.contributions if c.case_id == 6 and c.kind == "fix_time")
    assert capped.points == -12.0 and capped.note == "fixed in 100.0 h"
    esc = next(c for c in s.contributions if c.kind == "escalation")
    assert (esc.case_id, esc.at) == (2, T0 + 24 * H)
    assert [c.at for c in s.contributions] == sorted(c.at for c in s.contributions)  # explained in time order


def test_custom_weights_and_base():
    weights = CreditWeights(confirmed_violation=-1, escalation=-10, voluntary_fix=0, fix_hour=-1, fix_hours_cap=3,
                            repeat_offence=0, inspection_passed=5, inspection_failed=0, citizen_report=0)  # fmt: skip
    cfg = CreditConfig(base=50, weights=weights, red_at=60, black_at=10)
    # confirmed: 4 x -1; escalated -10; fix hours 2 + 3 (cap) + 3 (cap): -8; one pass +5
    assert score(p1_facts(), cfg, NOW).score == 50 - 4 - 10 - 8 + 5 == 33


def test_same_ledger_any_order_same_score():
    facts = p1_facts()
    first = score(facts, CFG, NOW)
    rng = random.Random(3)
    for _ in range(20):
        shuffled = facts[:]
        rng.shuffle(shuffled)
        again = score(shuffled, CFG, NOW)
        assert again == first  # score and the explanation, contribution by contribution


def test_float_weights_sum_the_same_in_any_order():
    """0.1-ish weights: a naive left-to-right float sum would depend on the order; fsum does not."""
    cfg = CreditConfig(weights=CreditWeights(confirmed_violation=-0.1, fix_hour=-0.7, voluntary_fix=0.3))
    facts = [f for i in range(1, 60) for f in case_facts(case(i, opened=T0 + i * H, resolved=(i % 7) / 3))]
    scores = set()
    for k in range(10):
        shuffled = facts[:]
        random.Random(k).shuffle(shuffled)
        scores.add(score(shuffled, cfg, NOW).score)
    assert len(scores) == 1


def test_window_drops_old_facts():
    cfg = CreditConfig(window_days=30)
    old = T0 - dt.timedelta(days=40)
    facts = case_facts(case(1, opened=old, state="escalated", escalated=1))  # -4 - 8, both 40 days back
    # confirmed 40 days back (dropped) but fixed 35 days later, inside the window: only the fix counts
    facts += case_facts(case(2, opened=old, resolved=35 * 24))
    facts += case_facts(case(3, opened=T0))  # -4 (still open)
    s = score(facts, cfg, T0 + H)
    assert s.score == 100 + 3 - 0.25 * 48 - 4
    assert {c.case_id for c in s.contributions} == {2, 3}
    # a fact on the window's far edge has expired; one after `now` has not happened yet
    edge = case_facts(case(4, opened=T0 + H - dt.timedelta(days=30)))
    assert score(edge, cfg, T0 + H).score == 100
    assert score(case_facts(case(5, opened=T0 + 2 * H)), cfg, T0 + H).score == 100


def test_inspector_and_citizen_cases():
    inspector = case_facts(case(1, source="inspector", state="detected"))
    assert [f.kind for f in inspector] == [FactKind.confirmed_violation]
    citizen_never_confirmed = case_facts(case(2, source="citizen", state="resolved", detected=None, resolved=3))
    assert citizen_never_confirmed == []  # an inspector found it already fixed before anyone confirmed it


def test_standing_thresholds():
    cfg = CreditConfig(red_at=105, black_at=80)
    assert [standing(v, cfg) for v in (105, 104.99, 80.01, 80, 0)] == ["red", "none", "none", "black", "black"]


def test_main_contributions_name_the_heaviest():
    s = score(p1_facts(), CFG, NOW)
    worst = main_contributions(s, "black")
    assert [(c.kind, c.points) for c in worst] == [("fix_time", -12.0), ("escalation", -8.0), ("repeat_offence", -6.0)]
    assert [c.kind for c in main_contributions(s, "red")] == ["voluntary_fix"] * 3


def test_facts_of_several_parties_are_refused():
    other = InspectionLedger(9, "p2", "s9", T0, True)
    with pytest.raises(ValueError, match="several parties"):
        score(p1_facts() + inspection_facts(other), CFG, NOW)
    with pytest.raises(ValueError, match="other parties"):
        score(inspection_facts(other), CFG, NOW, "p1")
    assert score([], CFG, NOW, "p3").score == 100
