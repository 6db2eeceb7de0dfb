import itertools

import pytest

from dispatch.lifecycle import OPEN311_STATUS, TRANSITIONS, Actor, CaseState, TransitionRefused, check_transition

S, A = CaseState, Actor


def test_happy_paths():
    for path, actor in (
        ([S.detected, S.reminded, S.resolved], A.system),
        ([S.detected, S.reminded, S.escalated], A.system),
    ):
        for frm, to in itertools.pairwise(path):
            check_transition(frm, to, actor)
    check_transition(S.escalated, S.closed, A.dispatch)
    check_transition(S.reminded, S.dismissed, A.operator)


def test_every_move_outside_the_table_is_refused():
    for frm, to in itertools.product(S, S):
        if (frm, to) in TRANSITIONS:
            continue
        with pytest.raises(TransitionRefused, match=f"an? {frm.value} case cannot become {to.value}"):
            check_transition(frm, to, A.operator)


def test_actor_must_be_allowed():
    with pytest.raises(TransitionRefused, match="merchant may not move a case from detected to dismissed"):
        check_transition(S.detected, S.dismissed, A.merchant)
    with pytest.raises(TransitionRefused, match="system may not"):
        check_transition(S.escalated, S.closed, A.system)
    with pytest.raises(TransitionRefused, match="system may not"):
        check_transition(S.reminded, S.dismissed, A.system)


def test_terminal_states_have_no_way_out():
    for state in (S.resolved, S.closed, S.dismissed):
        assert not [k for k in TRANSITIONS if k[0] == state]


def test_open311_mapping_covers_every_state():
    assert set(OPEN311_STATUS) == set(S)
    assert {k for k, v in OPEN311_STATUS.items() if v == "open"} == {S.reported, S.detected, S.reminded, S.escalated}
