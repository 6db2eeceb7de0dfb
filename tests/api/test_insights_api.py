"""The insights routes over the district world plus cases on other days (tests/insights_seed.py): the summary as
JSON and CSV (formula cells escaped), a camera's heat map points, the district map's shops, the /map page's CSP
with and without tiles, and every bad query refused with 422 and its reason."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from api.app import create_app
from frontage.config import ConfigError, parse_config
from register.db import ShopRow
from tests.api.conftest import CONFIG, TOKENS
from tests.insights_seed import HEAT_POINTS, place_shops, seed_cases

PERIOD = {"from": "2026-02-27T00:00:00+08:00", "to": "2026-03-03T00:00:00+08:00"}  # local days 02-27 .. 03-02
OPERATOR = {"Authorization": f"Bearer {TOKENS['operator']}"}


@pytest.fixture
def client(district_world):
    seed_cases(district_world)
    place_shops(district_world)
    with TestClient(district_world.app(), headers=OPERATOR) as c:
        yield c


def test_summary_counts_local_days_and_ranks(client):
    body = client.get("/insights/summary", params=PERIOD).json()
    assert body["days"] == ["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]
    assert (body["from"], body["to"], body["timezone"]) == (
        "2026-02-26T16:00:00Z", "2026-03-02T16:00:00Z", "Asia/Shanghai")  # fmt: skip
    kinds = {s["key"]: s["counts"] for s in body["by_kind"]}
    # x3 opened at 17:00 UTC on 03-01, 01:00 on 03-02 in Shanghai: it counts on 03-02
    assert kinds == {"illegal_parking": [1, 0, 2, 5], "out_of_store_trading": [0, 1, 0, 2],
                     "inspection_failed": [0, 0, 0, 1]}  # fmt: skip
    assert {s["key"]: s["total"] for s in body["by_source"]} == {"camera": 11, "inspector": 1}
    assert (body["opened"], body["confirmed"], body["dismissed"], body["escalated"]) == (14, 12, 1, 1)
    assert body["share_resolved_before_escalation"] == pytest.approx(2 / 12)
    assert body["time_to_fix"] == {"fixes": 2, "median_s": 1810.0, "p90_s": pytest.approx(3242.0)}  # 20 s, 1 h
    assert body["top_shops"][0] == {"id": "shop-a", "name": "Noodle House", "cases": 6}
    assert [(r["id"], r["cases"]) for r in body["top_cameras"]] == [("cam1", 6), ("cam2", 4), ("cam3", 1)]


def test_summary_filters(client):
    def confirmed(**params) -> int:
        return client.get("/insights/summary", params=PERIOD | params).json()["confirmed"]

    assert confirmed(camera_id="cam2") == 4
    assert confirmed(shop_id="shop-b") == 5  # the citizen's report about shop-b is not confirmed yet
    assert confirmed(street="Side St") == 1  # shop-r, the register-only shop, and its failed inspection
    assert confirmed(camera_id="cam9") == 0
    top = client.get("/insights/summary", params=PERIOD | {"top": 1}).json()
    assert len(top["top_shops"]) == len(top["top_cameras"]) == 1


def test_summary_csv_escapes_formula_cells(client, district_world):
    evil = '=HYPERLINK("http://evil.example","click")'
    with Session(district_world.engine) as s, s.begin():
        s.execute(update(ShopRow).where(ShopRow.id == "shop-a").values(name=evil))
    res = client.get("/insights/summary.csv", params=PERIOD | {"street": "+SUM(1)"})
    assert res.status_code == 200
    assert res.headers["content-type"] == "text/csv; charset=utf-8"
    assert res.headers["content-disposition"] == 'attachment; filename="frontage-insights-2026-02-27-2026-03-02.csv"'
    text = res.content.decode("utf-8")
    assert text.startswith("\ufeffsection,item,day,value,name\r\n")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert ["filter", "street", "", "'+SUM(1)", ""] in rows  # nothing matches that street: an empty period
    res = client.get("/insights/summary.csv", params=PERIOD)
    rows = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert ["top_shop", "shop-a", "", "6", "'" + evil] in rows
    assert not any(cell.startswith("=") for row in rows for cell in row)
    per_day = [r for r in rows if r[0] == "cases_by_kind" and r[1] == "illegal_parking"]
    assert [(r[2], r[3]) for r in per_day] == [("2026-02-27", "1"), ("2026-02-28", "0"), ("2026-03-01", "2"),
                                               ("2026-03-02", "5")]  # fmt: skip


def test_heatmap_points_are_ground_points(client, district_world):
    body = client.get("/cameras/cam1/heatmap", params=PERIOD).json()
    assert (body["camera_id"], body["name"], body["width"], body["height"]) == ("cam1", "Main St east", 640, 360)
    assert body["total"] == len(body["points"]) == 6  # the dismissed case is left out
    assert {(p["x"], p["y"]) for p in body["points"]} == HEAT_POINTS
    assert body["points"][0]["opened_at"] >= body["points"][-1]["opened_at"]  # newest first
    assert body["snapshot_url"] == "/cameras/cam1/snapshot.jpg"
    fallback = body["fallback_snapshot_url"]
    assert fallback == f"/cases/{district_world.ids['a_dismissed']}/snapshot.jpg"  # the newest with a snapshot
    assert client.get(fallback).headers["content-type"] == "image/jpeg"
    narrow = client.get("/cameras/cam1/heatmap", params={"from": "2026-02-27T00:00:00+08:00",
                                                          "to": "2026-02-28T00:00:00+08:00"}).json()  # fmt: skip
    assert [(p["x"], p["y"], p["kind"]) for p in narrow["points"]] == [(500.0, 250.0, "illegal_parking")]
    unconfigured = client.get("/cameras/cam3/heatmap", params=PERIOD).json()  # only its cases know it
    assert (unconfigured["width"], unconfigured["height"], unconfigured["fallback_snapshot_url"]) == (None, None, None)
    assert [(p["x"], p["y"]) for p in unconfigured["points"]] == [(650.0, 400.0)]
    missing = client.get("/cameras/cam9/heatmap")
    assert missing.status_code == 404 and missing.json()["detail"] == "no camera cam9"


def test_shops_map_counts_open_cases_and_credit(client):
    body = client.get("/insights/shops-map").json()
    assert body["map"] == {"tiles_url": "", "attribution": "", "center": None, "zoom": 15}
    assert (body["base"], body["red_at"], body["black_at"], body["unplaced"]) == (100.0, 105.0, 80.0, 0)
    shops = {s["shop_id"]: s for s in body["shops"]}
    assert {k: (s["open_cases"], s["standing"]) for k, s in shops.items()} == {
        "shop-a": (4, "none"), "shop-b": (6, "red"), "shop-r": (1, "black")}  # fmt: skip
    assert shops["shop-r"] == {
        "shop_id": "shop-r", "name": "Corner Store", "street": "Side St", "lat": 51.9575, "lon": 7.6265,
        "party_id": "party-r", "open_cases": 1, "score": 70.0, "standing": "black", "cases_url": "/?shop_id=shop-r",
    }  # fmt: skip
    assert client.get("/insights/shops-map", params={"street": "Side St"}).json()["shops"][0]["shop_id"] == "shop-r"


def test_map_page_allows_only_the_configured_tile_origin(district_world):
    tiles = {"map_tiles_url": "https://{s}.tile.example.org/{z}/{x}/{y}.png", "map_attribution": "© Example"}
    cfg = parse_config({**CONFIG, "console": tiles})
    app = create_app(cfg, district_world.engine, district_world.workflow, snapshot_dir=district_world.snapshot_dir,
                     upload_dir=district_world.upload_dir)  # fmt: skip
    with TestClient(app) as c:
        csp = c.get("/map").headers["content-security-policy"]
        assert "img-src 'self' blob: https://*.tile.example.org;" in csp
        assert "tile.example.org" not in c.get("/insights").headers["content-security-policy"]
        assert c.get("/insights/shops-map", headers=OPERATOR).json()["map"]["tiles_url"] == tiles["map_tiles_url"]
    with TestClient(district_world.app()) as c:  # no tiles: the map page loads images from nowhere else
        assert "img-src 'self' blob:;" in c.get("/map").headers["content-security-policy"]


@pytest.mark.parametrize(
    ("url", "loc", "reason"),
    [
        ("/insights/summary?from=yesterday", ["query", "from"], "ISO 8601"),
        ("/insights/summary?to=2026-03-01T00:00:00", ["query", "to"], "offset"),
        ("/insights/summary?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", ["query", "to"], "after"),
        ("/insights/summary?from=2024-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", ["query", "from"], "at most 366"),
        ("/insights/summary?to=9999-12-31T23:00:00Z", ["query", "to"], "calendar"),
        ("/insights/summary?top=0", ["query", "top"], "greater than or equal to 1"),
        ("/insights/summary?camera_id=", ["query", "camera_id"], "at least 1"),
        ("/insights/summary?shop_id=a%00b", ["query", "shop_id"], "pattern"),
        ("/insights/summary.csv?from=2026-03-02T00:00:00Z&to=2026-03-02T00:00:00Z", ["query", "to"], "after"),
        ("/cameras/cam1/heatmap?from=2026-13-01T00:00:00Z", ["query", "from"], "ISO 8601"),
        ("/cameras/a%01b/heatmap", ["path", "camera_id"], "pattern"),
        ("/insights/shops-map?street=", ["query", "street"], "at least 1"),
    ],
)
def test_bad_queries_are_refused_with_the_reason(client, url, loc, reason):
    res = client.get(url)
    assert res.status_code == 422, res.text
    (error,) = res.json()["detail"]
    assert error["loc"] == loc and reason in error["msg"], error


def test_config_refuses_a_tile_url_that_is_not_one():
    for url, reason in [("javascript:alert(1)//{z}/{x}/{y}", "http(s)://host"),
                        ("https://tiles.example.org/map.png", "{z}, {x} and {y}"),
                        ("https://a.b;script-src *.x/{z}/{x}/{y}", "http(s)://host")]:  # fmt: skip
        with pytest.raises(ConfigError, match="console.map_tiles_url") as exc:
            parse_config({"console": {"map_tiles_url": url}})
        assert reason in str(exc.value)
