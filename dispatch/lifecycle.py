"""The case lifecycle as one explicit transition table; every other move is refused.

    detected -> reminded -> resolved            the camera sees it cleared, or the merchant fixes it
    reminded -> escalated -> closed             the deadline passes; the city platform closes it
    detected | reminded -> dismissed            an operator rejects a false positive
    reported -> detected | dismissed            a citizen's report waits for an operator to confirm or reject it

resolved, closed and dismissed are final: a new violation is a new case (linked to the old one when it is a
repeat offence).

Like FixMyStreet, the fine-grained states map onto Open311's two: open and closed.
"""

from __future__ import annotations

from enum import StrEnum


class CaseState(StrEnum):
    reported = "reported"  # a citizen's report, not yet confirmed by an operator: nobody is reminded yet
    detected = "detected"
    reminded = "reminded"
    resolved = "resolved"
    escalated = "escalated"
    closed = "closed"
    dismissed = "dismissed"


class Actor(StrEnum):
    system = "system"
    operator = "operator"
    merchant = "merchant"
    dispatch = "dispatch"
    citizen = "citizen"
    inspector = "inspector"


S, A = CaseState, Actor

# (from, to) -> who may make that move.
TRANSITIONS: dict[tuple[CaseState, CaseState], frozenset[Actor]] = {
    (S.reported, S.detected): frozenset({A.operator}),
    (S.reported, S.dismissed): frozenset({A.operator}),
    (S.reported, S.resolved): frozenset({A.inspector}),  # an inspector finds it already fixed
    (S.detected, S.reminded): frozenset({A.system}),
    (S.detected, S.resolved): frozenset({A.system, A.merchant, A.operator, A.inspector}),
    (S.detected, S.escalated): frozenset({A.operator, A.system}),  # system: a repeat offence, already warned
    (S.detected, S.dismissed): frozenset({A.operator}),
    (S.reminded, S.resolved): frozenset({A.system, A.merchant, A.operator, A.inspector}),
    (S.reminded, S.escalated): frozenset({A.system, A.operator}),
    (S.reminded, S.dismissed): frozenset({A.operator}),
    (S.escalated, S.closed): frozenset({A.dispatch, A.operator}),
}

OPEN311_STATUS: dict[CaseState, str] = {
    S.reported: "open",
    S.detected: "open",
    S.reminded: "open",
    S.escalated: "open",
    S.resolved: "closed",
    S.closed: "closed",
    S.dismissed: "closed",
}


class TransitionRefused(ValueError):
    """A move the table does not allow, or an actor not allowed to make it."""


def check_transition(current: CaseState, target: CaseState, actor: Actor) -> None:
    allowed = TRANSITIONS.get((current, target))
    if allowed is None:
        moves = sorted(to.value for (frm, to) in TRANSITIONS if frm == current)
        article = "an" if current.value[0] in "aeiou" else "a"
        raise TransitionRefused(
            f"{article} {current.value} case cannot become {target.value} (allowed: {moves or 'none'})"
        )
    if actor not in allowed:
        raise TransitionRefused(
            f"{actor.value} may not move a case from {current.value} to {target.value} "
            f"(only {sorted(a.value for a in allowed)})"
        )
