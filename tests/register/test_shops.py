"""The shop register on SQLite and PostgreSQL (one store per kind, emptied before each test): idempotent bulk
upsert with history, validated edits, search, config shops on the register, and the lookup the workflow uses for
shops only the register knows."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dispatch.directory import ShopCard
from dispatch.workflow import Workflow
from frontage.clock import ManualClock
from frontage.config import Duty, ResponsibleKind, parse_config
from register import shops
from register.db import ShopHistoryRow, ShopRow
from register.shops import Counts, InvalidShop, ShopNotFound, ShopRecord
from tests.register.shop_store import engine_fixture, store_fixture  # noqa: F401  (a store per database kind)

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(hours=1)


def rec(i: int, **kw) -> ShopRecord:
    base = {"id": f"S{i:05d}", "name": f"Shop {i}", "street": "东街道" if i % 2 else "西街道", "community": f"C{i % 5}"}
    return ShopRecord(**(base | kw))


def history_count(engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(ShopHistoryRow))


def test_record_defaults_and_validation():
    r = ShopRecord(id=" S1 ", name="面馆", duties=["order", "sanitation", "order"], contact_phone="+86 138-0000 0000")
    assert (r.id, r.party_id, r.party_name) == ("S1", "S1", "面馆")  # the shop answers for itself by default
    assert r.duties == [Duty.sanitation, Duty.order] and r.party_kind is ResponsibleKind.merchant
    assert ShopRecord(id="S2", name="x").duties == list(Duty)
    bad = [
        ({"lat": 91}, "lat"), ({"lon": float("nan")}, "lon"), ({"contact_phone": "call me"}, "contact_phone"),
        ({"contact_phone": "12"}, "contact_phone"), ({"duties": []}, "duties"), ({"duties": ["cooking"]}, "duties"),
        ({"name": "  "}, "name"), ({"id": "a/b"}, "id"), ({"party_kind": "bank"}, "party_kind"),
        ({"colour": "red"}, "colour"), ({"name": "two\nlines"}, "name"),
    ]  # fmt: skip
    for change, field in bad:
        with pytest.raises(ValueError) as exc:
            ShopRecord(**({"id": "S1", "name": "ok"} | change))
        assert field in str(exc.value), change


def test_upsert_is_idempotent_and_writes_history_only_for_changes(engine):
    records = [rec(i) for i in range(2345)]  # more than one bulk chunk
    with Session(engine) as s, s.begin():
        assert shops.upsert(s, records, "ledger", T0) == Counts(2345, 0, 0)
        s.execute(update(ShopRow).where(ShopRow.id == "S00007").values(signboard_generation=3))
    assert history_count(engine) == 2345
    first = shops.history(engine, "S00001")
    assert len(first) == 1 and first[0].action == "import" and first[0].actor == "ledger"
    assert first[0].changes["name"] == [None, "Shop 1"] and first[0].changes["street"] == [None, "东街道"]

    with Session(engine) as s, s.begin():
        assert shops.upsert(s, records, "ledger", T1) == Counts(0, 0, 2345)
    assert history_count(engine) == 2345  # nothing changed, nothing written

    changed = [*records[:7], rec(7, name="Shop 7 (new owner)", lat=31.25), *records[8:]]
    with Session(engine) as s, s.begin():
        assert shops.upsert(s, changed, "ledger", T1) == Counts(0, 1, 2344)
    last = shops.history(engine, "S00007")[-1]
    new_name = ["Shop 7", "Shop 7 (new owner)"]  # the party's name follows: none is given, so it is the shop's
    assert last.changes == {"name": new_name, "lat": [None, 31.25], "party_name": new_name} and last.at == T1
    with Session(engine) as s:
        row = s.get(ShopRow, "S00007")
        assert row.signboard_generation == 3 and row.updated_at == T1 and row.created_at == T0

    with Session(engine) as s, pytest.raises(InvalidShop, match="duplicate id 'S00001'"):
        shops.upsert(s, [rec(1), rec(1)], "ledger", T1)


def test_fields_a_source_does_not_hold_stay_as_they_are(engine):
    with Session(engine) as s, s.begin():
        shops.upsert(s, [rec(1, contact_person="张三", contact_phone="13800000000")], "ledger", T0)
    with Session(engine) as s, s.begin():  # a ledger with only id, name and street: the phone stays
        assert shops.upsert(s, [rec(1, street="北街道")], "ledger", T1, only={"name", "street"}) == Counts(0, 1, 0)
    r = shops.get(engine, "S00001")
    assert (r.street, r.contact_person, r.contact_phone) == ("北街道", "张三", "13800000000")
    assert shops.history(engine, "S00001")[-1].changes == {"street": ["东街道", "北街道"]}


def test_edit_is_validated_and_keeps_history(engine):
    with Session(engine) as s, s.begin():
        shops.upsert(s, [rec(1), rec(2)], "ledger", T0)
    assert shops.edit(engine, "S00001", {"contact_phone": "021-5555 0101", "duties": ["order"]}, "otto", T1) == {
        "contact_phone": ["", "021-5555 0101"],
        "duties": [["sanitation", "order", "greenery"], ["order"]],
    }
    assert shops.edit(engine, "S00001", {"contact_phone": "021-5555 0101"}, "otto", T1) == {}  # no change, no entry
    for change, field in [({"lat": 95}, "lat"), ({"id": "S9"}, "id"), ({"signboard_generation": 0}, "signboard"),
                          ({"name": ""}, "name"), ({"contact_phone": "0x55"}, "contact_phone")]:  # fmt: skip
        with pytest.raises(InvalidShop) as exc:
            shops.edit(engine, "S00001", change, "otto", T1)
        assert exc.value.problems[0][0].startswith(field), exc.value.problems
    with pytest.raises(ShopNotFound):
        shops.edit(engine, "S99999", {"name": "x"}, "otto", T1)
    assert shops.edit(engine, "S00001", {"party_id": ""}, "otto", T1) == {}  # empty party: the shop itself, as before
    entries = shops.history(engine, "S00001")
    assert [(e.actor, e.action) for e in entries] == [("ledger", "import"), ("otto", "edit")]
    assert shops.get(engine, "S00001").duties == [Duty.order]
    assert shops.history(engine, "S00002")[-1].actor == "ledger"


def test_search_matches_text_in_any_case_and_filters(engine):
    records = [rec(i) for i in range(30)] + [
        rec(100, name="Noodle HOUSE", address="1 Main St"),
        rec(101, name="茶馆", party_name="Wang Tea Co.", street="南街道"),
        rec(102, name="100% Juice", address="Lane_5"),
    ]
    with Session(engine) as s, s.begin():
        shops.upsert(s, records, "ledger", T0)
    assert [r.id for r in shops.search(engine, "noodle")[1]] == ["S00100"]
    assert [r.id for r in shops.search(engine, "main st")[1]] == ["S00100"]
    assert [r.id for r in shops.search(engine, "TEA CO")[1]] == ["S00101"]
    assert [r.id for r in shops.search(engine, "茶")[1]] == ["S00101"]
    assert [r.id for r in shops.search(engine, "s0010")[1]] == ["S00100", "S00101", "S00102"]
    assert [r.id for r in shops.search(engine, "0%")[1]] == ["S00102"]  # % and _ are text, not wildcards
    assert [r.id for r in shops.search(engine, "e_5")[1]] == ["S00102"]
    assert [r.id for r in shops.search(engine, "nood\x00le", street="西\x00街道")[1]] == ["S00100"]  # NUL: dropped
    total, page = shops.search(engine, street="东街道", limit=4, offset=4)
    assert total == 15 and [r.id for r in page] == ["S00009", "S00011", "S00013", "S00015"]
    total, page = shops.search(engine, street="东街道", community="C1", limit=50)
    assert total == 3 and {r.community for r in page} == {"C1"}
    assert shops.search(engine, only_ids=["S00003", "S99999"])[0] == 1
    assert shops.streets(engine) == sorted(["东街道", "西街道", "南街道"])
    assert shops.registered(engine, ["S00003", "S99999"]) == {"S00003"}


def test_config_shops_go_on_the_register_and_the_workflow_finds_register_shops(engine):
    cfg = parse_config({
        "cameras": [{"id": "cam1"}],
        "shops": [{"id": "cfg-1", "name": "Corner Café", "address": "2 Main St", "lat": 51.9, "lon": 7.6,
                   "responsible": {"name": "Ada Ltd", "kind": "merchant", "contact": {"phone": "+49 251 1234"}},
                   "frontages": [{"camera_id": "cam1", "polygon": [[0, 0], [100, 0], [100, 100]]}]}],
    })  # fmt: skip
    assert shops.register_config_shops(engine, cfg, T0) == Counts(1, 0, 0)
    shops.edit(engine, "cfg-1", {"street": "东街道", "party_id": "P-ada", "address": "2 Main St, rear"}, "otto", T1)
    assert shops.register_config_shops(engine, cfg, T1) == Counts(0, 0, 1)  # the next start changes nothing
    r = shops.get(engine, "cfg-1")
    assert (r.party_name, r.contact_phone, r.street, r.party_id) == ("Ada Ltd", "+49 251 1234", "东街道", "P-ada")
    assert r.address == "2 Main St, rear"  # the operator's edit is not undone by the config
    assert [c.actor for c in shops.history(engine, "cfg-1")] == ["config", "otto"]

    with Session(engine) as s, s.begin():
        shops.upsert(s, [rec(5, address="5 Side St", lat=31.2, lon=121.5, party_name="Li Wei")], "ledger", T0)
        assert shops.party_of(s, "cfg-1") == "P-ada"
        assert shops.party_of(s, "S00005") == "S00005"
        assert shops.party_of(s, "nowhere") == "nowhere"
    wf = Workflow(engine, cfg, ManualClock(T1), shops=shops.shop_lookup(engine))
    assert wf.shop("S00005") == ShopCard(
        id="S00005", name="Shop 5", address="5 Side St", lat=31.2, lon=121.5, party_name="Li Wei", party_id="S00005"
    )
    assert wf.shop("cfg-1").name == "Corner Café"  # the config's card wins (it has the reminder channels)
    with pytest.raises(KeyError):
        wf.shop("nowhere")


def test_the_config_never_overwrites_an_imported_shop_and_skips_what_the_register_cannot_hold(engine, caplog):
    with Session(engine) as s, s.begin():
        shops.upsert(s, [rec(1, address="1 Ledger Rd", party_name="Owner Co", contact_phone="13800000000")],
                     "ledger", T0)  # fmt: skip
    cfg = parse_config({
        "cameras": [{"id": "cam1"}],
        "shops": [{"id": "S00001", "name": "Cfg name", "responsible": {"name": "cfg party"},
                   "frontages": [{"camera_id": "cam1", "polygon": [[0, 0], [100, 0], [100, 100]]}]},
                  {"id": "a/b", "name": "Slash", "responsible": {"name": "x"},
                   "frontages": [{"camera_id": "cam1", "polygon": [[200, 0], [300, 0], [300, 100]]}]}],
    })  # fmt: skip
    assert shops.register_config_shops(engine, cfg, T1) == Counts(0, 0, 1)
    r = shops.get(engine, "S00001")
    assert (r.address, r.party_name, r.contact_phone) == ("1 Ledger Rd", "Owner Co", "13800000000")
    assert shops.get(engine, "a/b") is None and "a/b: not put on the register" in caplog.text
