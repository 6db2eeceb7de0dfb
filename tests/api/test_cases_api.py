"""Listing, filtering, pagination, case detail with its ledger, evidence serving and actions."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.routes_cases import search_clause
from dispatch.db import CaseRow, make_engine
from register import shops
from register.shops import ShopRecord
from tests.api.conftest import CFG

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def client(world):
    with TestClient(world.app()) as c:
        yield c


def names(world, page: dict) -> list[str]:
    by_id = {v: k for k, v in world.ids.items()}
    return [by_id[item["id"]] for item in page["items"]]


def get(client, auth, url: str, who: str = "operator", **params) -> dict:
    res = client.get(url, headers=auth(who), params=params)
    assert res.status_code == 200, res.text
    return res.json()


def test_list_is_newest_first_with_total(world, client, auth):
    page = get(client, auth, "/cases")
    assert names(world, page) == list(reversed(world.ids))  # seeded oldest first
    assert page["total"] == len(world.ids) and (page["limit"], page["offset"]) == (50, 0)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"state": "reminded"}, ["b_reminded", "a_reminded"]),
        ({"state": ["detected", "escalated"]}, ["b_escalated", "b_detected", "a_detected"]),
        ({"kind": "out_of_store_trading"}, ["a_dismissed", "b_detected", "a_detected"]),
        ({"shop_id": "shop-b"}, ["b_escalated", "b_detected", "b_reminded"]),
        ({"camera_id": "cam1", "kind": "illegal_parking"}, ["a_resolved", "a_reminded"]),
        ({"open": "true"}, ["b_escalated", "b_detected", "a_detected", "b_reminded", "a_reminded"]),
        ({"open": "false"}, ["a_dismissed", "a_resolved"]),
        ({"opened_from": "2026-03-02T08:02:00Z"}, ["a_dismissed", "b_escalated", "a_resolved", "b_detected"]),
        ({"opened_to": "2026-03-02T16:01:30+08:00"}, ["a_detected", "b_reminded", "a_reminded"]),  # 08:01:30 UTC
        ({"opened_from": "2026-03-02T08:00:40Z", "opened_to": "2026-03-02T08:02:00Z"}, ["a_detected", "b_reminded"]),
        ({"shop_id": "nowhere"}, []),
        ({"source": "camera", "state": "dismissed"}, ["a_dismissed"]),
        ({"source": "citizen"}, []),
    ],
)
def test_filters(world, client, auth, params, expected):
    page = get(client, auth, "/cases", **params)
    assert names(world, page) == expected and page["total"] == len(expected)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("tea", ["b_escalated", "b_detected", "b_reminded"]),  # the config's shop name, any case
        ("NOODLE house", ["a_dismissed", "a_resolved", "a_detected", "a_reminded"]),
        ("shop-b", ["b_escalated", "b_detected", "b_reminded"]),  # part of the shop id
        ("  ", ["a_dismissed", "b_escalated", "a_resolved", "b_detected", "a_detected", "b_reminded", "a_reminded"]),
        ("%", []),  # LIKE's wildcards are plain characters
        ("_", []),
        ("noo\x00dle", ["a_dismissed", "a_resolved", "a_detected", "a_reminded"]),  # NUL dropped (PostgreSQL)
    ],
)
def test_search_by_shop_name_or_id(world, client, auth, q, expected):
    page = get(client, auth, "/cases", q=q)
    assert names(world, page) == expected and page["total"] == len(expected)


def test_search_by_case_number_and_with_other_filters(world, client, auth):
    cid = world.ids["b_detected"]
    for q in (str(cid), f"#{cid}"):
        assert cid in [c["id"] for c in get(client, auth, "/cases", q=q)["items"]]
    assert names(world, get(client, auth, "/cases", q=f"#{cid}")) == ["b_detected"]  # no shop id holds "#"
    assert names(world, get(client, auth, "/cases", q="tea", state="detected")) == ["b_detected"]
    assert get(client, auth, "/cases", "merchant-own", q="tea")["total"] == 0  # a merchant searches its own only
    assert get(client, auth, "/cases", q=f"#{2**63}")["total"] == 0


def test_search_finds_a_shop_only_the_register_knows(district_world, auth):
    with TestClient(district_world.app()) as c:
        page = get(c, auth, "/cases", q="corner store")
    assert [i["id"] for i in page["items"]] == [district_world.ids["r_inspection"]]
    assert page["items"][0]["shop_name"] == "Corner Store"


def test_search_on_each_store(db_url):
    """The same search on SQLite and PostgreSQL: LIKE's escapes, lower(), the register's names, a NUL."""
    engine = make_engine(db_url)
    with Session(engine) as s, s.begin():
        shops.upsert(s, [ShopRecord(id="shop-r", name="Corner Store")], "test", T0)
        for i, shop in enumerate(["shop-a", "shop-b", "shop-r", "50%_off"], start=1):
            s.add(CaseRow(id=i, violation_key=f"k{i}", camera_id="cam1", shop_id=shop, kind="litter",
                          source="citizen", object_class="", state="reported", first_seen_at=T0, opened_at=T0,
                          dwell_s=0.0, box=[]))  # fmt: skip

    def found(q: str) -> list[int]:
        with Session(engine) as s:
            return sorted(s.scalars(select(CaseRow.id).where(search_clause(q, CFG.shops))))

    try:
        assert found("NOODLE") == [1] and found("tea shop") == [2] and found("corner") == [3]
        assert found("SHOP-") == [1, 2, 3] and found("#4") == [4] and found("3") == [3]
        assert found("50%") == [4] and found("%") == [4] and found("_") == [4] and found("o_f") == []
        assert found("cor\x00ner") == [3] and found("\\") == []
        assert search_clause(" \x00 ", CFG.shops) is None
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("params", "loc", "msg"),
    [
        ({"q": "x" * 201}, "q", "at most 200 characters"),
        ({"opened_from": "2026-03-02T16:00"}, "opened_from", "UTC offset"),
        ({"source": "drone"}, "source", "camera"),
    ],
)
def test_bad_list_filters_are_422_with_the_reason(client, auth, params, loc, msg):
    res = client.get("/cases", headers=auth("operator"), params=params)
    error = res.json()["detail"][0]
    assert res.status_code == 422 and error["loc"] == ["query", loc] and msg in error["msg"]


def test_pages_walk_through_every_case_once(world, client, auth):
    seen, offset = [], 0
    while True:
        page = get(client, auth, "/cases", limit=3, offset=offset)
        assert page["total"] == 7 and len(page["items"]) <= 3
        if not page["items"]:
            break
        seen += names(world, page)
        offset += 3
    assert seen == list(reversed(world.ids))


def test_merchant_lists_only_its_own_shop(world, client, auth):
    own = get(client, auth, "/cases", "merchant-own")
    assert {c["shop_id"] for c in own["items"]} == {"shop-a"} and own["total"] == 4
    probing = get(client, auth, "/cases", "merchant-own", shop_id="shop-b")
    assert probing == {"items": [], "total": 0, "limit": 50, "offset": 0}
    assert [s["id"] for s in get(client, auth, "/shops", "merchant-own")["items"]] == ["shop-a"]


def test_detail_has_the_ledger_and_open311_fields(world, client, auth):
    cid = world.ids["b_escalated"]
    case = get(client, auth, f"/cases/{cid}")
    assert case["state"] == "escalated" and case["open311_status"] == "open"
    assert case["snapshot_url"] == f"/cases/{cid}/snapshot.jpg"
    assert case["shop_name"] == "Tea Shop" and case["linked_case_id"] is None and case["service_request_id"] is None
    moves = [(e["from_state"], e["to_state"], e["actor"]) for e in case["ledger"]]
    assert moves == [(None, "detected", "system"), ("detected", "reminded", "system"),
                     ("reminded", "escalated", "operator")]  # fmt: skip
    assert case["ledger"][-1]["reason"] == "blocking the fire lane"
    assert dt.datetime.fromisoformat(case["ledger"][0]["at"]) == T0 + dt.timedelta(seconds=200)


def test_snapshot_is_the_evidence_jpeg(world, client, auth):
    res = client.get(f"/cases/{world.ids['a_detected']}/snapshot.jpg", headers=auth("merchant-own"))
    assert res.status_code == 200 and res.headers["content-type"] == "image/jpeg"
    assert res.content[:3] == b"\xff\xd8\xff" and len(res.content) > 5_000


@pytest.mark.parametrize("stored", ["../cases.db", "/etc/passwd", "../../../../etc/hostname", "", "snapshots/../x"])
def test_snapshot_never_leaves_the_snapshot_folder(world, client, auth, stored, tmp_path):
    (world.snapshot_dir.parent / "x").write_bytes(b"\xff\xd8\xff secret")
    cid = world.ids["a_detected"]
    with Session(world.engine) as s, s.begin():
        s.execute(update(CaseRow).where(CaseRow.id == cid).values(snapshot=stored or None,
                                                                  evidence={"original": stored}))  # fmt: skip
    for query in ("", "?original=true"):
        res = client.get(f"/cases/{cid}/snapshot.jpg{query}", headers=auth("admin"))
        assert res.status_code == 404 and "snapshot" in res.json()["detail"]


def test_snapshot_outside_via_symlink_is_refused(world, client, auth, tmp_path):
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"\xff\xd8\xff not evidence")
    link = world.snapshot_dir / f"link-{tmp_path.name}.jpg"
    link.symlink_to(outside)
    cid = world.ids["a_detected"]
    with Session(world.engine) as s, s.begin():
        s.execute(update(CaseRow).where(CaseRow.id == cid).values(snapshot=str(link), evidence={"original": str(link)}))
    try:
        assert client.get(f"/cases/{cid}/snapshot.jpg?original=true", headers=auth("admin")).status_code == 404
    finally:
        link.unlink()


def test_confirm_writes_a_note_with_who_and_why(world, client, auth):
    cid = world.ids["a_detected"]
    res = client.post(f"/cases/{cid}/actions", headers=auth("operator"), json={"action": "confirm", "reason": "van"})
    assert res.status_code == 200
    body = res.json()
    assert body["state"] == "detected" and body["confirmed_at"] == world.clock.now().isoformat().replace("+00:00", "Z")
    note = body["ledger"][-1]
    assert (note["from_state"], note["to_state"], note["actor"]) == ("detected", "detected", "operator")
    assert note["reason"] == "confirm: van" and note["data"] == {"by": "otto"}


def test_merchant_resolves_its_own_case(world, client, auth):
    cid = world.ids["a_reminded"]
    res = client.post(f"/cases/{cid}/actions", headers=auth("merchant-own"), json={"action": "resolve"})
    assert res.status_code == 200 and res.json()["state"] == "resolved" and res.json()["open311_status"] == "closed"
    last = world.ledger(cid)[-1]
    assert (last.actor, last.reason, last.data) == ("merchant", "resolve", {"by": "li"})


@pytest.mark.parametrize(
    ("case", "action", "message"),
    [
        ("a_dismissed", "escalate", "a dismissed case cannot become escalated"),
        ("b_escalated", "dismiss", "an escalated case cannot become dismissed"),
        ("a_resolved", "resolve", "a resolved case cannot become resolved"),
    ],
)
def test_refused_moves_are_409_with_the_lifecycle_message(world, client, auth, case, action, message):
    cid = world.ids[case]
    before = len(world.ledger(cid))
    res = client.post(f"/cases/{cid}/actions", headers=auth("admin"), json={"action": action, "reason": "try"})
    assert res.status_code == 409 and message in res.json()["detail"]
    assert len(world.ledger(cid)) == before


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_dismiss_needs_a_reason(world, client, auth, reason):
    body = {"action": "dismiss"} | ({} if reason is None else {"reason": reason})
    res = client.post(f"/cases/{world.ids['a_detected']}/actions", headers=auth("operator"), json=body)
    error = res.json()["detail"][0]
    assert res.status_code == 422 and error["loc"][-1] == "reason"
    assert "dismiss needs a reason" in error["msg"] or (reason is None and error["msg"] == "Field required")
    assert world.case(world.ids["a_detected"]).state == "detected"


def test_dismiss_with_reason(world, client, auth):
    cid = world.ids["b_detected"]
    res = client.post(f"/cases/{cid}/actions", headers=auth("admin"), json={"action": "dismiss", "reason": " shadow "})
    assert res.status_code == 200 and res.json()["state"] == "dismissed"
    last = world.ledger(cid)[-1]
    assert (last.from_state, last.to_state, last.reason, last.data) == (
        "detected",
        "dismissed",
        "shadow",
        {"by": "ada"},
    )
