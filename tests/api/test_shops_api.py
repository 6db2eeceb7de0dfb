"""The shop register's routes on the seeded world: search and pages over config and register shops, one shop
with its frontages and open cases, edits with history, and what each role may see and do."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api.routes_shops import OPEN_STATES
from dispatch.db import CaseRow
from frontage.config import parse_config
from register import shops
from register.db import ShopHistoryRow, ShopRow
from register.shops import ShopRecord
from tests.api.conftest import CONFIG, SEEDED_AT

INSPECTOR_TOKEN = "ines-the-inspector-0123456789abcdef"
LEDGER = [  # shop-b is on the register too (imported); shop-a is only in the config
    ShopRecord(id="shop-b", name="Tea Shop", address="3 Main St", street="湖滨街道", community="东坡社区",
               party_name="Wang Fang", contact_person="王芳", contact_phone="138 0000 0002"),
    *(ShopRecord(id=f"R{i:03d}", name=f"Shop {i}", address=f"{i} River Rd", street="湖滨街道" if i % 2 else "小营街道",
                 community="东坡社区" if i % 3 else "大学路社区", contact_phone=f"139 0000 {i:04d}")
      for i in range(1, 26)),
    ShopRecord(id="R900", name="Noodle Bar", party_name="Li Wei Catering", street="小营街道"),
]  # fmt: skip


@pytest.fixture
def client(world):
    cfg = parse_config(CONFIG | {"api": CONFIG["api"] | {"tokens": [*CONFIG["api"]["tokens"],
                       {"name": "ines", "role": "inspector", "token": INSPECTOR_TOKEN}]}})  # fmt: skip
    with Session(world.engine) as s, s.begin():  # a register of our own: shop-a not imported yet
        s.execute(delete(ShopHistoryRow))
        s.execute(delete(ShopRow))
        shops.upsert(s, LEDGER, "ledger", SEEDED_AT)
    with TestClient(dataclasses.replace(world, cfg=cfg).app()) as c:
        yield c


def open_cases(world, shop_id: str) -> int:
    with Session(world.engine) as s:
        return s.scalar(select(func.count()).where(CaseRow.shop_id == shop_id, CaseRow.state.in_(OPEN_STATES)))


def headers(auth, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {INSPECTOR_TOKEN}"} if who == "inspector" else auth(who)


def call(client, auth, method: str, url: str, who: str = "operator", expect: int = 200, **kw):
    res = client.request(method, url, headers=headers(auth, who), **kw)
    assert res.status_code == expect, res.text
    return res.json()


def test_search_pages_through_config_and_register_shops(world, client, auth):
    page = call(client, auth, "GET", "/shops", params={"limit": 5})
    assert page["total"] == 28 and page["limit"] == 5 and page["offset"] == 0
    assert [s["id"] for s in page["items"]] == ["shop-a", "R001", "R002", "R003", "R004"]  # config-only first
    a = page["items"][0]
    assert (a["on_register"], a["name"], a["camera_ids"]) == (False, "Noodle House", ["cam1"])
    assert a["open_cases"] == open_cases(world, "shop-a") == 2
    assert a["responsible"] == {"kind": "merchant", "name": "Li Wei"} and "contact_phone" not in a
    assert page["streets"] == ["小营街道", "湖滨街道"]
    seen, offset = [], 0
    while offset < 28:
        seen += [s["id"] for s in call(client, auth, "GET", "/shops", params={"limit": 4, "offset": offset})["items"]]
        offset += 4
    assert len(seen) == 28 == len(set(seen)) and seen[0] == "shop-a" and seen[-1] == "shop-b"

    def ids(**params) -> list[str]:
        return [s["id"] for s in call(client, auth, "GET", "/shops", params=params | {"limit": 200})["items"]]

    assert ids(q="NOODLE") == ["shop-a", "R900"]  # the config's shop-a and the register's R900
    assert ids(q="li wei") == ["shop-a", "R900"]  # by party name
    assert ids(q="main st") == ["shop-a", "shop-b"]  # by address
    assert ids(q="r01") == [f"R{i:03d}" for i in range(10, 20)]
    assert ids(street="小营街道", community="大学路社区") == ["R006", "R012", "R018", "R024"]
    assert ids(street="湖滨街道", q="tea") == ["shop-b"]
    (b,) = call(client, auth, "GET", "/shops", params={"q": "tea"})["items"]
    assert (b["on_register"], b["street"], b["contact_person"]) == (True, "湖滨街道", "王芳")
    assert b["open_cases"] == open_cases(world, "shop-b") >= 3
    for bad in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"q": "x" * 201}):
        call(client, auth, "GET", "/shops", expect=422, params=bad)


def test_one_shop_with_frontages_cases_and_phone_for_staff(client, auth):
    a = call(client, auth, "GET", "/shops/shop-a")
    assert a["frontages"] == [{"camera_id": "cam1", "polygon": [[20, 200], [300, 200], [300, 350], [20, 350]]}]
    assert (a["on_register"], a["open_cases"], a["updated_at"], a["contact_phone"]) == (False, 2, None, "")
    r = call(client, auth, "GET", "/shops/R007", "admin")
    assert (r["contact_phone"], r["camera_ids"], r["frontages"], r["signboard_generation"]) == ("139 0000 0007", [],
                                                                                                [], 0)  # fmt: skip
    assert r["duties"] == ["sanitation", "order", "greenery"] and r["party_id"] == "R007"
    assert call(client, auth, "GET", "/shops/R007", "inspector")["contact_phone"] is None
    call(client, auth, "GET", "/shops/nowhere", expect=404)


def test_edits_are_validated_and_kept_in_the_history(client, auth):
    body = {"street": "小营街道", "contact_phone": "+86 571 8888 0007", "duties": ["order", "sanitation"]}
    out = call(client, auth, "PATCH", "/shops/R007", json=body)
    assert (out["street"], out["contact_phone"], out["duties"]) == ("小营街道", "+86 571 8888 0007",
                                                                   ["sanitation", "order"])  # fmt: skip
    call(client, auth, "PATCH", "/shops/R007", "admin", json={"lat": 30.25, "lon": 120.17})
    history = call(client, auth, "GET", "/shops/R007/history")
    assert [(h["actor"], h["action"]) for h in history] == [("ledger", "import"), ("otto", "edit"), ("ada", "edit")]
    assert history[1]["changes"] == {
        "street": ["湖滨街道", "小营街道"],
        "contact_phone": ["139 0000 0007", "+86 571 8888 0007"],
        "duties": [["sanitation", "order", "greenery"], ["sanitation", "order"]],
    }
    assert history[2]["changes"] == {"lat": [None, 30.25], "lon": [None, 120.17]}
    call(client, auth, "PATCH", "/shops/R007", json={"lat": None})
    assert call(client, auth, "GET", "/shops/R007")["lat"] is None

    refused = [
        ({"lat": 95}, ["body", "lat"]), ({"contact_phone": "call me"}, ["body", "contact_phone"]),
        ({"contact_phone": "12"}, ["body", "contact_phone"]), ({"name": "  "}, ["body", "name"]),
        ({"id": "R008"}, ["body", "id"]), ({"duties": []}, ["body", "duties"]),
        ({"party_kind": "bank"}, ["body", "party_kind"]), ({"name": None}, ["body", "name"]),
    ]  # fmt: skip
    for body, loc in refused:
        err = call(client, auth, "PATCH", "/shops/R007", expect=422, json=body)
        assert err["detail"][0]["loc"] == loc, body
    assert len(call(client, auth, "GET", "/shops/R007/history")) == 4  # the refused edits left nothing
    call(client, auth, "PATCH", "/shops/nowhere", expect=404, json={"name": "x"})
    call(client, auth, "GET", "/shops/nowhere/history", expect=404)


def test_editing_a_config_only_shop_puts_it_on_the_register(client, auth):
    assert call(client, auth, "GET", "/shops/shop-a/history") == []
    out = call(client, auth, "PATCH", "/shops/shop-a", json={"street": "湖滨街道", "contact_person": "李伟"})
    assert (out["on_register"], out["street"], out["name"], out["camera_ids"]) == (True, "湖滨街道", "Noodle House",
                                                                                   ["cam1"])  # fmt: skip
    history = call(client, auth, "GET", "/shops/shop-a/history")
    assert [(h["actor"], h["action"]) for h in history] == [("config", "config"), ("otto", "edit")]
    assert history[1]["changes"] == {"street": ["", "湖滨街道"], "contact_person": ["", "李伟"]}
    listed = call(client, auth, "GET", "/shops", params={"street": "湖滨街道", "limit": 3})["items"]
    assert [s["id"] for s in listed] == ["R001", "R003", "R005"]
    assert call(client, auth, "GET", "/shops", params={"q": "noodle house"})["items"][0]["on_register"] is True


@pytest.mark.parametrize("who", ["merchant-own", "merchant-other", "inspector"])
def test_what_merchants_and_inspectors_may_see_and_do(client, auth, who):
    page = call(client, auth, "GET", "/shops", who)
    own = {"merchant-own": ["shop-a"], "merchant-other": ["shop-b"]}.get(who)
    assert [s["id"] for s in page["items"]] == (own or [s["id"] for s in call(client, auth, "GET", "/shops")["items"]])
    if own:
        assert page["total"] == 1 and page["streets"] == ([] if own == ["shop-a"] else ["湖滨街道"])
        assert call(client, auth, "GET", f"/shops/{own[0]}", who)["contact_phone"] is None
        call(client, auth, "GET", "/shops/R001", who, expect=404)  # another shop: as if it did not exist
        assert call(client, auth, "GET", "/shops", who, params={"q": "R001"})["total"] == 0
    else:
        assert page["total"] == 28 and call(client, auth, "GET", "/shops/R001", who)["name"] == "Shop 1"
    call(client, auth, "PATCH", "/shops/R001", who, expect=403, json={"name": "mine now"})
    call(client, auth, "GET", "/shops/R001/history", who, expect=403)
    assert client.get("/shops").status_code == 401
