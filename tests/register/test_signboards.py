"""Signboard codes: valid codes resolve; revoked, rotated, guessed and garbage codes do not, with the same work."""

from __future__ import annotations

import datetime as dt
import hmac

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from dispatch.db import make_engine
from frontage.config import Config, parse_config
from register import signboards
from register.db import ShopHistoryRow, ShopRow, SignboardKeyRow
from register.signboards import SignboardError, code_for, resolve_code, revoke, rotate_key, signboard_url

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
CFG = parse_config({"dispatch": {"public_url": "http://frontage.test/"}})


def add_shop(engine, shop_id: str = "shop-1", **kw) -> ShopRow:
    row = ShopRow(
        id=shop_id, name=kw.get("name", "Noodle House"), address="1 Main St", street="Main", community="East",
        party_id="p-" + shop_id, party_name="Li Wei Ltd", contact_person="李伟", contact_phone="13800000000",
        duties=["sanitation", "order", "greenery"], signboard_generation=0, created_at=T0, updated_at=T0,
    )  # fmt: skip
    with Session(engine, expire_on_commit=False) as s, s.begin():
        s.add(row)
    return row


@pytest.fixture
def engine(db_url):
    e = make_engine(db_url)
    yield e
    e.dispose()


def test_valid_code_resolves_and_url(engine) -> None:
    shop = add_shop(engine)
    code = code_for(engine, CFG, shop)
    assert resolve_code(engine, CFG, code).id == "shop-1"
    assert signboard_url(CFG, code) == f"http://frontage.test/s/{code}"
    district = parse_config({"district": {"public_url": "https://x.example"}})
    assert signboard_url(district, "abc") == "https://x.example/s/abc"
    assert code == code_for(engine, CFG, shop)  # stable: the same key signs until rotated
    with Session(engine) as s:
        assert len(s.scalars(select(SignboardKeyRow)).all()) == 1


def test_revoke_and_rotate_void_printed_codes(engine) -> None:
    shop = add_shop(engine)
    other = add_shop(engine, "shop-2")
    old = code_for(engine, CFG, shop)
    assert revoke(engine, "shop-1", "ada", T0) == 1
    assert resolve_code(engine, CFG, old) is None
    fresh = resolve_code(engine, CFG, code_for(engine, CFG, add_generation(shop, 1)))
    assert fresh is not None and fresh.signboard_generation == 1
    with Session(engine) as s:
        hist = s.scalars(select(ShopHistoryRow).where(ShopHistoryRow.shop_id == "shop-1")).one()
    assert (hist.action, hist.actor, hist.changes) == ("signboard_revoked", "ada", {"signboard_generation": [0, 1]})
    before = code_for(engine, CFG, other)
    rotate_key(engine, T0)
    assert resolve_code(engine, CFG, before) is None
    assert resolve_code(engine, CFG, code_for(engine, CFG, other)).id == "shop-2"
    with pytest.raises(SignboardError, match="no shop"):
        revoke(engine, "nope", "ada", T0)


def add_generation(shop: ShopRow, generation: int) -> ShopRow:
    shop.signboard_generation = generation
    return shop


def test_config_key_signs_and_cannot_be_rotated_here(engine) -> None:
    cfg: Config = parse_config({"district": {"signboard_key": "k" * 40}})
    shop = add_shop(engine)
    code = code_for(engine, cfg, shop)
    assert resolve_code(engine, cfg, code).id == "shop-1"
    assert resolve_code(engine, CFG, code) is None  # the store's key did not sign it
    with pytest.raises(SignboardError, match="signboard_key"):
        rotate_key(engine, T0, cfg)


def test_guessed_and_garbage_codes_do_the_same_work(engine, monkeypatch) -> None:
    shop = add_shop(engine)
    add_shop(engine, "shop-2")
    valid = code_for(engine, CFG, shop)
    revoked = code_for(engine, CFG, add_shop(engine, "shop-3"))
    revoke(engine, "shop-3", "ada", T0)
    id_part = valid.split(".")[0]
    inputs = {
        "valid": valid,
        "revoked": revoked,
        "guessed": id_part + ".AAAAAAAAAAAAAAAA",
        "other-shop-sig": code_for(engine, CFG, add_generation(add_shop(engine, "shop-4"), 0)).split(".")[0]
        + "."
        + valid.split(".")[1],
        "missing-shop": "bm9wZQ.AAAAAAAAAAAAAAAA",
        "garbage": "../../etc/passwd",
        "empty": "",
        "long": "A" * 5000 + ".x",
    }
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    hmacs: list[int] = []
    real_new, real_cmp = hmac.new, hmac.compare_digest
    monkeypatch.setattr(signboards.hmac, "new", lambda *a, **k: hmacs.append(1) or real_new(*a, **k))
    compares: list[int] = []
    monkeypatch.setattr(signboards.hmac, "compare_digest", lambda a, b: compares.append(1) or real_cmp(a, b))
    work = {}
    for name, code in inputs.items():
        statements.clear(), hmacs.clear(), compares.clear()
        found = resolve_code(engine, CFG, code)
        assert (found is not None) == (name == "valid"), name
        work[name] = (len(statements), len(hmacs), len(compares), statements[:])
    shapes = {name: w[:3] for name, w in work.items()}
    assert set(shapes.values()) == {(1, 1, 1)}, shapes
    assert len({tuple(w[3]) for w in work.values()}) == 1  # the very same SQL text for every input
