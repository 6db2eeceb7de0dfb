"""A hand-made rectification ledger for the credit, list, stats and report tests: shops on the register and
cases written row by row (CaseRow and CaseEventRow at chosen times), so every score is known by hand."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy.orm import Session

from dispatch.db import CaseEventRow, CaseRow
from register.db import InspectionRow, ShopRow

T0 = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai, 2 November 2026
H = dt.timedelta(hours=1)
_keys = itertools.count(1)


def add_shop(
    s: Session, shop_id: str, party_id: str, street: str = "Nanjing Rd", name: str | None = None,
    party_name: str | None = None,
) -> None:  # fmt: skip
    s.add(
        ShopRow(
            id=shop_id, name=name or f"Shop {shop_id}", address=f"{shop_id} {street}", street=street,
            community="c1", party_id=party_id, party_name=party_name or f"Party {party_id}", contact_person="Zhang San",
            contact_phone="13800000000", duties=["sanitation", "order", "greenery"], created_at=T0, updated_at=T0,
        )
    )  # fmt: skip


def add_case(
    s: Session,
    shop_id: str,
    moves: list[tuple[str, dt.datetime]],
    *,
    kind: str = "illegal_parking",
    source: str = "camera",
    linked: int | None = None,
) -> int:
    """A case whose ledger is `moves`: [(state, at), ...], the first being its opening."""
    opened = moves[0][1]
    case = CaseRow(
        violation_key=f"seed/{next(_keys)}", camera_id="cam1" if source == "camera" else "", shop_id=shop_id,
        kind=kind, source=source, object_class="car", state=moves[-1][0], first_seen_at=opened, opened_at=opened,
        dwell_s=30.0, box=[0, 0, 1, 1], linked_case_id=linked, updated_at=moves[-1][1],
    )  # fmt: skip
    s.add(case)
    s.flush()
    before = None
    for state, at in moves:
        s.add(CaseEventRow(case_id=case.id, at=at, from_state=before, to_state=state, actor="system", reason="seed"))
        before = state
    return case.id


def add_inspection(s: Session, shop_id: str, at: dt.datetime, passed: bool) -> int:
    verdict = "pass" if passed else "fail"
    row = InspectionRow(shop_id=shop_id, inspector="ins", at=at, results={"order": verdict}, passed=passed, note="")
    s.add(row)
    s.flush()
    return row.id


def seed_party_p1(s: Session) -> dict[str, int]:
    """Party p1 (shops s1 and s2 on Nanjing Rd): six cases and two inspections. Its score with the default
    weights at T0 + 10 days is 62.25 (worked out in tests/register/test_credit.py)."""
    add_shop(s, "s1", "p1")
    add_shop(s, "s2", "p1")
    ids = {
        # fixed by the merchant after 2 h: -4 + 3 - 0.25 * 2
        "fixed": add_case(s, "s1", [("detected", T0), ("reminded", T0 + 0.5 * H), ("resolved", T0 + 2 * H)]),
        # escalated a day later: -4 - 8
        "escalated": add_case(s, "s1", [("detected", T0), ("reminded", T0 + H), ("escalated", T0 + 24 * H)]),
        # a citizen's report, confirmed after an hour, fixed 5 h after it was reported: -4 - 2 + 3 - 0.25 * 5
        "citizen": add_case(
            s, "s2", [("reported", T0), ("detected", T0 + H), ("resolved", T0 + 5 * H)], kind="litter",
            source="citizen",
        ),  # fmt: skip
        # dismissed (a false positive) and a report never confirmed: nothing
        "dismissed": add_case(s, "s1", [("detected", T0), ("dismissed", T0 + H)], kind="out_of_store_trading"),
        "unconfirmed": add_case(s, "s2", [("reported", T0)], kind="other", source="citizen"),
    }
    # a repeat of the escalated case, fixed after 100 h (time capped at 48 h): -4 - 6 + 3 - 0.25 * 48
    ids["repeat"] = add_case(
        s, "s1", [("detected", T0 + 48 * H), ("resolved", T0 + 148 * H)], linked=ids["escalated"]
    )
    ids["passed"] = add_inspection(s, "s2", T0 + 3 * H, True)  # +2
    ids["failed"] = add_inspection(s, "s1", T0 + 4 * H, False)  # -3
    return ids


P1_NOW = T0 + dt.timedelta(days=10)
P1_SCORE = 100 - 1.5 - 12 - 4.25 - 19 + 2 - 3  # 62.25
