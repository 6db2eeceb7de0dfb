"""Broken requests get a 4xx that says why, never a 500, and never change a case."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(world):
    with TestClient(world.app(), raise_server_exceptions=False) as c:
        yield c


def reason_of(res) -> str:
    detail = res.json()["detail"]
    return (
        detail if isinstance(detail, str) else "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in detail)
    )


JSON = {"Content-Type": "application/json"}
BAD_BODIES = {
    "malformed json": (b'{"action": "confirm",', JSON, 422, "JSON"),
    "json array": (b'["confirm"]', JSON, 422, "body"),
    "json null": (b"null", JSON, 422, "body"),
    "empty body": (b"", JSON, 422, "body"),
    "unknown action": (b'{"action": "nuke", "reason": "x"}', JSON, 422, "action"),
    "action of wrong type": (b'{"action": 5}', JSON, 422, "action"),
    "reason of wrong type": (b'{"action": "confirm", "reason": ["a"]}', JSON, 422, "reason"),
    "unknown field": (b'{"action": "confirm", "by": "someone else"}', JSON, 422, "by"),
    "reason too long": (json.dumps({"action": "confirm", "reason": "x" * 2001}).encode(), JSON, 422, "reason"),
    "not json at all": (b"action=confirm", {"Content-Type": "text/plain"}, 422, "body"),
    "huge body": (b'{"action": "confirm", "reason": "' + b"x" * 100_000 + b'"}', JSON, 413, "bytes"),
    "bad utf-8": (b'{"action": "confirm", "reason": "\xff\xfe"}', JSON, 400, "parsing"),
    "deep nesting": (b'{"action": "confirm", "reason": ' + b"[" * 5000 + b"]" * 5000 + b"}", JSON, 400, "parsing"),
}


@pytest.mark.parametrize(("body", "headers", "status", "mentions"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_action_bodies(world, client, auth, body, headers, status, mentions):
    cid = world.ids["a_detected"]
    res = client.post(f"/cases/{cid}/actions", content=body, headers=auth("operator") | headers)
    assert res.status_code == status, res.text
    assert mentions in reason_of(res)
    assert len(world.ledger(cid)) == 1 and world.case(cid).confirmed_at is None


BAD_QUERIES = {
    "limit=-1": "limit", "limit=0": "limit", "limit=201": "limit", "limit=ten": "limit", "offset=-1": "offset",
    f"offset={10**30}": "offset", "opened_from=yesterday": "opened_from", "opened_to=2026-13-01T00:00:00Z": "opened_to",
    "opened_from=2026-03-02T08:00:00": "offset", "opened_to=0.5": "ISO 8601", "opened_to=1700000000": "ISO 8601",
    "opened_from=9999-12-31T23:59:59-23:59": "range",
    "opened_to=0001-01-01T00:00:00%2B23:59": "range", "state=lost": "state", "kind=littering": "kind",
    "open=perhaps": "open", f"shop_id={'s' * 101}": "shop_id",
}  # fmt: skip


@pytest.mark.parametrize(("query", "mentions"), BAD_QUERIES.items(), ids=BAD_QUERIES.keys())
def test_bad_query_params(client, auth, query, mentions):
    res = client.get(f"/cases?{query}", headers=auth("operator"))
    assert res.status_code == 422, res.text
    assert mentions in reason_of(res)


@pytest.mark.parametrize("path", ["/cases/abc", "/cases/0", "/cases/-3", f"/cases/{2**63}", "/cases/1e3/snapshot.jpg",
                                  f"/shops/{'x' * 101}"])  # fmt: skip
def test_bad_path_params(client, auth, path):
    res = client.get(path, headers=auth("admin"))
    assert res.status_code == 422 and reason_of(res)


@pytest.mark.parametrize(
    "value", [b"Basic b3BlcmF0b3I6cHc=", b"Bearer", b"Bearer ", b"bearer \xff\xfe\xfd", b"Bearer a b c", b"x" * 8000]
)
def test_odd_authorization_headers_are_401(client, value):
    res = client.get("/cases", headers=[(b"authorization", value)])
    assert res.status_code == 401 and res.headers["www-authenticate"].startswith("Bearer")


def test_unknown_routes_and_methods(client, auth):
    assert client.get("/nope", headers=auth("admin")).status_code == 404
    res = client.delete("/cases/1", headers=auth("admin"))
    assert res.status_code == 405 and "GET" in res.headers["allow"]
