"""Scores and red/black lists in the store, on SQLite and PostgreSQL: known scores from a hand-made ledger, the
same score for the same ledger written in another order, a party moving onto a list and off it again (each
move a party-ledger event with its reason), and a ledger written by the real workflow."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dispatch.db import make_engine
from dispatch.lifecycle import Actor
from dispatch.workflow import Action, Workflow
from frontage.clock import ManualClock
from frontage.config import CaseKind, CaseSource, CreditConfig, parse_config
from register.db import CreditScoreRow, PartyEventRow, ShopRow
from register.lists import explain, lists, recompute
from register.shops import edit, shop_lookup
from tests.register.credit_seed import P1_NOW, P1_SCORE, T0, H, add_case, add_inspection, add_shop, seed_party_p1

CFG = parse_config({})


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def scores(engine) -> dict[str, tuple[float, str]]:
    with Session(engine) as s:
        return {r.party_id: (r.score, r.standing) for r in s.scalars(select(CreditScoreRow))}


def events(engine, party_id: str) -> list[PartyEventRow]:
    with Session(engine) as s:
        rows = s.scalars(select(PartyEventRow).where(PartyEventRow.party_id == party_id).order_by(PartyEventRow.id))
        out = list(rows)
        s.expunge_all()
        return out


def test_known_scores_and_explanation(engine):
    with Session(engine) as s, s.begin():
        ids = seed_party_p1(s)
        add_shop(s, "s3", "p3")  # on the register, nothing in its ledger
        add_case(s, "cfg-shop", [("detected", T0)])  # a shop only the config knows: it answers for itself
    summary = recompute(engine, CFG, P1_NOW)
    assert (summary.parties, summary.black, summary.red, summary.events) == (3, 1, 0, 1)
    assert scores(engine) == {"p1": (P1_SCORE, "black"), "p3": (100.0, "none"), "cfg-shop": (96.0, "none")}
    (entered,) = events(engine, "p1")
    assert (entered.kind, entered.score, entered.at) == ("entered_black", 62.25, P1_NOW)
    assert entered.reason.startswith("score 62.25 at or below black_at 80; mainly fix_time -12 (case ")
    assert f"escalation -8 (case {ids['escalated']}, 2026-11-03)" in entered.reason

    s = explain(engine, CFG, "p1", P1_NOW)
    assert s.score == P1_SCORE
    cases = {ids[k] for k in ("fixed", "escalated", "citizen", "repeat")}
    assert {c.case_id for c in s.contributions} == cases | {None}
    assert {c.inspection_id for c in s.contributions} == {ids["passed"], ids["failed"], None}
    assert explain(engine, CFG, "cfg-shop", P1_NOW).score == 96.0
    assert explain(engine, CFG, "nobody", P1_NOW).contributions == []

    red, black = lists(engine)
    assert red == [] and [(e.party_id, e.score, e.since) for e in black] == [("p1", 62.25, P1_NOW)]
    assert [sh.id for sh in black[0].shops] == ["s1", "s2"]
    assert lists(engine, street="Elsewhere") == ([], [])

    assert recompute(engine, CFG, P1_NOW).events == 0  # nothing changed: no new events
    assert len(events(engine, "p1")) == 1


SPECS = [  # (moves in hours after T0, source, linked to the spec at index)
    ([("detected", 0), ("reminded", 1), ("resolved", 3)], "camera", None),
    ([("detected", 2), ("reminded", 3), ("escalated", 30)], "camera", None),
    ([("reported", 4), ("detected", 6), ("resolved", 9)], "citizen", None),
    ([("detected", 50), ("resolved", 51)], "camera", 1),
    ([("detected", 60), ("dismissed", 61)], "camera", None),
]


def test_same_ledger_written_in_another_order_scores_the_same(engine):
    with Session(engine) as s, s.begin():
        for party, order in (("fwd", range(len(SPECS))), ("rev", reversed(range(len(SPECS))))):
            add_shop(s, f"{party}-shop", party)
            written: dict[int, int] = {}
            for i in order:
                moves, source, linked = SPECS[i]
                # the repeat links to an earlier case; which one does not matter to the score
                link = (written.get(linked) or next(iter(written.values()))) if linked is not None else None
                written[i] = add_case(s, f"{party}-shop", [(st, T0 + h * H) for st, h in moves], source=source,
                                      linked=link)  # fmt: skip
            visits = [(5, True), (7, False), (8, True)]
            for h, passed in visits if party == "fwd" else visits[::-1]:
                add_inspection(s, f"{party}-shop", T0 + h * H, passed)
    recompute(engine, CFG, P1_NOW)
    got = scores(engine)
    # -4+3-0.75 | -4-8 | -4-2+3-1.25 | -4-6+3-0.25 | +2-3+2
    assert got["fwd"] == got["rev"] == (100 - 1.75 - 12 - 4.25 - 7.25 + 1, "black")
    fwd, rev = explain(engine, CFG, "fwd", P1_NOW), explain(engine, CFG, "rev", P1_NOW)
    strip = [(c.kind, c.points, c.at) for c in fwd.contributions]
    assert strip == [(c.kind, c.points, c.at) for c in rev.contributions]


def test_crossing_thresholds_enters_and_leaves_lists(engine):
    cfg = CreditConfig(window_days=30, red_at=105, black_at=80)
    with Session(engine) as s, s.begin():
        add_shop(s, "q1", "q", street="Fuxing Rd", name="Tea House")
        for h in (1, 2, 3):
            add_inspection(s, "q1", T0 + h * H, True)  # 3 x +2 = 106
    recompute(engine, cfg, T0 + 4 * H)
    assert scores(engine)["q"] == (106.0, "red")
    red, black = lists(engine, street="Fuxing Rd")
    assert [(e.party_id, [sh.name for sh in e.shops], e.since) for e in red] == [("q", ["Tea House"], T0 + 4 * H)]

    with Session(engine) as s, s.begin():
        add_case(s, "q1", [("detected", T0 + 5 * H)])  # -4: 102
    recompute(engine, cfg, T0 + 6 * H)
    assert scores(engine)["q"] == (102.0, "none")
    assert lists(engine) == ([], [])

    with Session(engine) as s, s.begin():
        for h in (7, 8):  # 2 x (-4 - 8): 78
            add_case(s, "q1", [("detected", T0 + h * H), ("reminded", T0 + h * H), ("escalated", T0 + (h + 1) * H)])
    recompute(engine, cfg, T0 + 10 * H)
    assert scores(engine)["q"] == (78.0, "black")

    recompute(engine, cfg, T0 + dt.timedelta(days=31))  # everything has left the window: back to base
    assert scores(engine)["q"] == (100.0, "none")

    got = [(e.kind, e.score, e.at) for e in events(engine, "q")]
    assert got == [
        ("entered_red", 106.0, T0 + 4 * H),
        ("left_red", 102.0, T0 + 6 * H),
        ("entered_black", 78.0, T0 + 10 * H),
        ("left_black", 100.0, T0 + dt.timedelta(days=31)),
    ]
    reasons = [e.reason for e in events(engine, "q")]
    assert reasons[0] == "score 106 at or above red_at 105; mainly inspection_passed +2 (inspection 1, 2026-11-02); " \
        "inspection_passed +2 (inspection 2, 2026-11-02); inspection_passed +2 (inspection 3, 2026-11-02)"
    assert reasons[1] == "score 102 below red_at 105"
    assert reasons[3] == "score 100 above black_at 80"


def test_red_straight_to_black_and_a_party_leaving_the_register(engine):
    cfg = CreditConfig(red_at=101, black_at=95)
    with Session(engine) as s, s.begin():
        add_shop(s, "r1", "r")
        add_inspection(s, "r1", T0, True)
    recompute(engine, cfg, T0 + H)
    with Session(engine) as s, s.begin():
        add_case(s, "r1", [("detected", T0 + H), ("reminded", T0 + H), ("escalated", T0 + 2 * H)])  # 102 - 12 = 90
    recompute(engine, cfg, T0 + 3 * H)
    assert [e.kind for e in events(engine, "r")] == ["entered_red", "left_red", "entered_black"]
    with Session(engine) as s, s.begin():  # the shop leaves the register: its cases answer to the shop id
        s.execute(delete(ShopRow).where(ShopRow.id == "r1"))
    recompute(engine, cfg, T0 + 4 * H)
    assert [(e.kind, e.reason) for e in events(engine, "r")][-1] == ("left_black", "no longer on the register")
    assert [e.kind for e in events(engine, "r1")] == ["entered_black"]
    assert "r" not in scores(engine) and scores(engine)["r1"] == (90.0, "black")


def test_ledger_written_by_the_workflow(engine):
    clock = ManualClock(T0)
    wf = Workflow(engine, CFG, clock, shops=shop_lookup(engine))
    with Session(engine) as s, s.begin():
        add_shop(s, "w1", "w")
    with Session(engine) as s, s.begin():
        inspected = wf.open_case(s, shop_id="w1", kind=CaseKind.inspection_failed, source=CaseSource.inspector,
                                 actor=Actor.inspector, reason="goods on the pavement", at=T0).id  # fmt: skip
        reported = wf.open_case(s, shop_id="w1", kind=CaseKind.litter, source=CaseSource.citizen,
                                actor=Actor.citizen, reason="rubbish bags", at=T0).id  # fmt: skip
    clock.set(T0 + 2 * H)
    wf.act(inspected, Action.resolve, Actor.merchant, "cleared it")  # fixed in 2 h: -4 + 3 - 0.5
    wf.act(reported, Action.confirm, Actor.operator, "seen on the photo")  # -4 - 2
    clock.set(T0 + 3 * H)
    wf.act(reported, Action.escalate, Actor.operator, "ignored")  # -8
    s = explain(engine, CFG, "w", T0 + 4 * H)
    assert s.score == 100 - 1.5 - 6 - 8
    assert [(c.kind, c.case_id) for c in s.contributions] == [
        ("confirmed_violation", inspected),
        ("citizen_report", reported),
        ("confirmed_violation", reported),
        ("fix_time", inspected),
        ("voluntary_fix", inspected),
        ("escalation", reported),
    ]


def test_two_recomputes_at_once_write_each_list_change_once(engine):
    with Session(engine) as s, s.begin():
        seed_party_p1(s)
        for i in range(300):
            add_shop(s, f"x{i}", f"x{i}")  # enough parties that the two runs overlap
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            recompute(engine, CFG, P1_NOW)
        except BaseException as exc:  # noqa: BLE001  (reported by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert [e.kind for e in events(engine, "p1")] == ["entered_black"]
    assert len(scores(engine)) == 301


def test_a_shop_that_changes_hands_leaves_its_past_with_the_party_that_made_it(engine):
    """Party a let goods pile up at shop h1 and ignored it; the shop is sold to party b. b's record starts clean,
    a's keeps the escalation; b's own later case is b's."""
    clock = ManualClock(T0)
    wf = Workflow(engine, CFG, clock, shops=shop_lookup(engine))
    with Session(engine) as s, s.begin():
        add_shop(s, "h1", "a")
    with Session(engine) as s, s.begin():
        old = wf.open_case(s, shop_id="h1", kind=CaseKind.inspection_failed, source=CaseSource.inspector,
                           actor=Actor.inspector, reason="goods on the pavement", at=T0).id  # fmt: skip
    wf.act(old, Action.escalate, Actor.operator, "ignored")
    clock.set(T0 + 2 * H)
    edit(engine, "h1", {"party_id": "b", "party_name": "New Owner Ltd"}, "otto", clock.now())
    with Session(engine) as s, s.begin():
        new = wf.open_case(s, shop_id="h1", kind=CaseKind.inspection_failed, source=CaseSource.inspector,
                           actor=Actor.inspector, reason="litter", at=clock.now()).id  # fmt: skip
    at = T0 + 3 * H
    assert {c.case_id for c in explain(engine, CFG, "a", at).contributions} == {old}
    assert {c.case_id for c in explain(engine, CFG, "b", at).contributions} == {new}
    recompute(engine, CFG, at)
    with Session(engine) as s:
        scores = dict(s.execute(select(CreditScoreRow.party_id, CreditScoreRow.score)).all())
    assert scores["a"] == 100 - 4 - 8 and scores["b"] == 100 - 4
