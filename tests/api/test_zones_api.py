"""The zone editor's API on the seeded world: versions with author and time, checks that say where, the race
between two editors, YAML out and back in, the cameras' pushed frames, and every bad input answered clearly with
nothing saved."""

from __future__ import annotations

import json

import cv2
import pytest
import yaml
from fastapi.testclient import TestClient

from dispatch.baselines import camera_events
from register.frontages import ZONES_CHANGED, history
from tests.api.conftest import CONFIG, H, W, headers, stills

A = [[20.0, 200.0], [300.0, 200.0], [300.0, 350.0], [20.0, 350.0]]  # shop-a on cam1, from the config
A2 = [[40.0, 210.0], [280.0, 210.0], [280.0, 340.0], [40.0, 340.0]]
B_ON_CAM1 = [[320.0, 200.0], [600.0, 200.0], [600.0, 350.0], [320.0, 350.0]]
BOWTIE = [[20.0, 200.0], [300.0, 350.0], [300.0, 200.0], [20.0, 350.0]]
ADMIN, OPERATOR = headers("admin"), headers("operator")


@pytest.fixture
def client(world):
    with TestClient(world.app()) as c:
        yield c


def fr(shop: str, polygon, **kw) -> dict:
    return {"shop_id": shop, "polygon": polygon, **kw}


def put(client, frontages, base=1, note="door moved", who=ADMIN, camera="cam1"):
    return client.put(f"/cameras/{camera}/zones", json={"frontages": frontages, "note": note, "base_version": base},
                      headers=who)  # fmt: skip


def versions(world, camera="cam1") -> list[int]:
    return [v.version for v in history(world.engine, camera)]


def test_version_1_is_the_configs_and_each_save_is_the_next_with_author_time_and_ledger(world, client):
    first = client.get("/cameras/cam1/zones", headers=OPERATOR).json()
    assert (first["version"], first["author"], first["width"], first["height"]) == (1, "config", W, H)
    assert first["frontages"] == [fr("shop-a", A, allow_overlap=False)]
    res = put(client, [fr("shop-a", A2), fr("shop-b", B_ON_CAM1)])
    assert res.status_code == 201, res.text
    saved = res.json()
    assert (saved["version"], saved["author"], saved["note"], saved["at"]) == (2, "ada", "door moved",
                                                                               "2026-03-02T08:05:00Z")  # fmt: skip
    assert client.get("/cameras/cam1/zones", headers=OPERATOR).json() == saved
    assert client.get("/cameras/cam1/zones/1", headers=OPERATOR).json() == first
    listed = client.get("/cameras/cam1/zones/versions", headers=OPERATOR).json()
    assert [(v["version"], v["author"], v["frontages"]) for v in listed] == [(2, "ada", 2), (1, "config", 1)]
    (entry,) = [e for e in camera_events(world.engine, "cam1") if e.kind == ZONES_CHANGED]
    assert (entry.actor, entry.reason, entry.data["version"], entry.data["changed_shops"]) == (
        "ada", "door moved", 2, ["shop-a", "shop-b"])  # fmt: skip
    assert client.get("/cameras/cam2/zones", headers=OPERATOR).json()["version"] == 1  # per camera


def test_a_save_based_on_an_old_version_is_refused_409_and_saves_nothing(world, client):
    assert put(client, [fr("shop-a", A2)], base=1).status_code == 201  # the first editor
    late = put(client, [fr("shop-a", A)], base=1, note="the second editor")
    assert late.status_code == 409 and "version 2 now, not 1" in late.json()["detail"]
    assert versions(world) == [2, 1]
    assert put(client, [fr("shop-a", A)], base=2).status_code == 201  # after a reload it goes through


PROBLEMS = {
    "self-intersection": ([fr("shop-a", BOWTIE)], ["body", "frontages", 0, "polygon"], "edges 0 and 2 cross",
                          [160.0, 275.0]),
    "outside the frame": ([fr("shop-a", [[20, 200], [300, 200], [300, 380], [20, 350]])],
                          ["body", "frontages", 0, "polygon", 2], "vertex 2 (300, 380) outside the 640x360 frame",
                          [300.0, 380.0]),
    "overlap": ([fr("shop-a", A), fr("shop-b", [[250, 250], [400, 250], [400, 300], [250, 300]])],
                ["body", "frontages", 1, "polygon"], "overlaps shop 'shop-a''s frontage (entry 0) by 2500 px²",
                [275.0, 275.0]),
    "unknown shop": ([fr("shop-z", A)], ["body", "frontages", 0, "shop_id"], "unknown shop 'shop-z'", None),
    "two polygons of one shop": ([fr("shop-a", A), fr("shop-a", B_ON_CAM1)], ["body", "frontages", 1, "shop_id"],
                                 "one polygon per shop and camera", None),
    "no area": ([fr("shop-a", [[20, 200], [20.5, 200], [20, 200.5]])], ["body", "frontages", 0, "polygon", 0],
                "degenerate polygon", [20.0, 200.0]),
}  # fmt: skip


@pytest.mark.parametrize("case", PROBLEMS, ids=PROBLEMS)
def test_an_edit_that_breaks_the_configs_rules_says_where_and_saves_nothing(world, client, case):
    frontages, loc, why, point = PROBLEMS[case]
    checked = client.post("/cameras/cam1/zones/check", json={"frontages": frontages}, headers=ADMIN).json()
    assert checked["ok"] is False
    (problem,) = checked["problems"]
    assert why in problem["reason"] and problem["point"] == point, problem
    res = put(client, frontages)
    assert res.status_code == 422
    (err,) = res.json()["detail"]
    assert err["loc"] == loc and why in err["msg"], err
    assert versions(world) == [1]


def test_the_check_of_good_frontages_is_ok_and_saves_nothing(world, client):
    res = client.post("/cameras/cam1/zones/check", json={"frontages": [fr("shop-a", A2), fr("shop-b", B_ON_CAM1)]},
                      headers=ADMIN)  # fmt: skip
    assert res.json() == {"ok": True, "problems": []}
    assert versions(world) == []  # not even version 1: a check writes nothing


BAD = {
    "two points": ({"frontages": [fr("shop-a", [[1, 1], [5, 5]])], "base_version": 1}, 422, "at least 3"),
    "a point of three numbers": ({"frontages": [fr("shop-a", [[1, 1, 1], [5, 5], [1, 5]])], "base_version": 1}, 422,
                                 "at most 2"),
    "infinite": ({"frontages": [fr("shop-a", [[1e400, 1], [5, 5], [1, 5]])], "base_version": 1}, 422, "finite"),
    "too many frontages": ({"frontages": [fr(f"s{i}", A) for i in range(101)], "base_version": 1}, 422, "at most 100"),
    "no base version": ({"frontages": [fr("shop-a", A)]}, 422, "Field required"),
    "base version 0": ({"frontages": [fr("shop-a", A)], "base_version": 0}, 422, "greater than or equal to 1"),
    "unknown field": ({"frontages": [fr("shop-a", A, colour="red")], "base_version": 1}, 422, "Extra inputs"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD, ids=BAD)
def test_bad_bodies_are_refused_with_the_reason(world, client, case):
    body, status, why = BAD[case]
    res = client.put("/cameras/cam1/zones", content=json.dumps(body), headers={**ADMIN, "Content-Type":
                                                                                "application/json"})  # fmt: skip
    assert res.status_code == status and why in res.text, res.text
    assert versions(world) in ([], [1])


def test_nan_a_huge_body_unknown_cameras_and_versions(world, client):
    nan = '{"frontages": [{"shop_id": "shop-a", "polygon": [[NaN, 1], [5, 5], [1, 5]]}], "base_version": 1}'
    res = client.put("/cameras/cam1/zones", content=nan, headers={**ADMIN, "Content-Type": "application/json"})
    assert res.status_code == 422 and "finite" in res.text
    assert put(client, [fr("shop-a", [[float(i), 1.0] for i in range(100_000)])]).status_code == 413
    long = put(client, [fr("shop-a", [[float(i % 600), float(i // 600)] for i in range(101)])])
    assert long.status_code == 422 and "at most 100" in long.text
    unknown = client.get("/cameras/cam9/zones", headers=OPERATOR)
    assert unknown.status_code == 404 and "no camera 'cam9' (known: cam1, cam2)" in unknown.json()["detail"]
    assert put(client, [fr("shop-a", A)], camera="cam9").status_code == 404
    missing = client.get("/cameras/cam1/zones/7", headers=OPERATOR)
    assert missing.status_code == 404 and "no zones version 7 (latest: 1)" in missing.json()["detail"]
    assert client.get("/cameras/cam1/zones.yaml?version=7", headers=OPERATOR).status_code == 404
    assert client.get("/cameras/cam1/zones/0", headers=OPERATOR).status_code == 422
    assert versions(world, "cam9") == []


def test_yaml_round_trip_export_import_gives_identical_polygons(world, client):
    put(client, [fr("shop-a", A2), fr("shop-b", B_ON_CAM1, allow_overlap=True)])
    res = client.get("/cameras/cam1/zones.yaml", headers=OPERATOR)
    assert res.status_code == 200 and res.headers["content-type"].startswith("application/yaml")
    assert 'filename="zones-cam1-v2.yaml"' in res.headers["content-disposition"]
    text = res.text
    assert text.startswith("# frontages of camera cam1, zones version 2, saved by ada")
    exported = {"camera_id": "cam1", "polygon": [[int(x), int(y)] for x, y in A2]}
    assert yaml.safe_load(text)["shops"][0] == {"id": "shop-a", "frontages": [exported]}
    back = client.post("/cameras/cam1/zones.yaml?note=round+trip", content=text,
                       headers={**ADMIN, "Content-Type": "application/yaml"})  # fmt: skip
    assert back.status_code == 201, back.text
    assert back.json()["version"] == 3 and back.json()["note"] == "round trip"
    assert back.json()["frontages"] == client.get("/cameras/cam1/zones/2", headers=OPERATOR).json()["frontages"]
    v1 = client.get("/cameras/cam1/zones.yaml?version=1", headers=OPERATOR).text
    as_json = client.post("/cameras/cam1/zones.yaml", json={"yaml": v1, "base_version": 3}, headers=ADMIN)
    assert as_json.status_code == 201 and as_json.json()["frontages"] == [fr("shop-a", A, allow_overlap=False)]


def test_a_whole_config_file_imports_its_frontages_on_the_camera(world, client):
    res = client.post("/cameras/cam2/zones.yaml", content=yaml.safe_dump(CONFIG), headers={**ADMIN,
                      "Content-Type": "application/yaml"})  # fmt: skip
    assert res.status_code == 201 and [f["shop_id"] for f in res.json()["frontages"]] == ["shop-b"]


YAML_BAD = {
    "syntax": ("shops: [", ["body", "yaml"], "YAML syntax error at line 1"),
    "not the config's format": ("cameras: []", ["body", "yaml"], "shops: list"),
    "a short point": ("shops: [{id: shop-a, frontages: [{camera_id: cam1, polygon: [[1, 2], [3]]}]}]",
                      ["body", "yaml", "shops", 0, "frontages", 0, "polygon", 1], "[x, y]"),
    "self-intersection": (yaml.safe_dump({"shops": [{"id": "shop-a", "frontages": [{"camera_id": "cam1",
                                                                                     "polygon": BOWTIE}]}]}),
                          ["body", "yaml", "shops", 0, "frontages", 0, "polygon"], "edges 0 and 2 cross"),
    "unknown shop": ("shops: [{id: shop-z, frontages: [{camera_id: cam1, polygon: [[1, 2], [30, 2], [30, 40]]}]}]",
                     ["body", "yaml", "shops", 0, "id"], "unknown shop 'shop-z'"),
    "aliases": ("base: &p [[1, 2], [30, 2], [30, 40]]\nshops: [{id: shop-a, frontages: [{camera_id: cam1, "
                "polygon: *p}]}]", ["body", "yaml"], "anchors and aliases (& and *) are not taken at line 1"),
    "nested too deep (was a 500)": ("shops: " + "[" * 5000, ["body", "yaml"], "nested deeper than 16 levels"),
    "nothing on this camera": ("shops: [{id: shop-a, frontages: [{camera_id: cam2, polygon: [[1, 2], [3, 4], "
                               "[5, 1]]}]}]", ["body", "yaml", "shops"], "no frontage on camera 'cam1'"),
}  # fmt: skip


@pytest.mark.parametrize("case", YAML_BAD, ids=YAML_BAD)
def test_bad_yaml_is_refused_with_its_place_in_the_yaml(world, client, case):
    text, loc, why = YAML_BAD[case]
    res = client.post("/cameras/cam1/zones.yaml", content=text, headers={**ADMIN, "Content-Type": "text/yaml"})
    assert res.status_code == 422, res.text
    (err,) = res.json()["detail"]
    assert err["loc"] == loc and why in err["msg"], err
    assert versions(world) in ([], [1])


def test_yaml_import_refuses_other_content_types_and_stale_versions(world, client):
    wrong = client.post("/cameras/cam1/zones.yaml", content=b"<xml/>", headers={**ADMIN, "Content-Type": "text/xml"})
    assert wrong.status_code == 415 and "application/yaml" in wrong.json()["detail"]
    text = client.get("/cameras/cam1/zones.yaml", headers=OPERATOR).text
    stale = client.post("/cameras/cam1/zones.yaml?base_version=5", content=text,
                        headers={**ADMIN, "Content-Type": "application/yaml"})  # fmt: skip
    assert stale.status_code == 409
    bad_json = client.post("/cameras/cam1/zones.yaml", json={"yaml": text, "extra": 1}, headers=ADMIN)
    assert bad_json.status_code == 422 and bad_json.json()["detail"][0]["loc"] == ["body", "extra"]
    assert versions(world) == [1]


def jpeg(size=(W, H)) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.resize(stills()[0], size))
    assert ok
    return buf.tobytes()


def test_a_camera_process_pushes_its_frame_and_the_editor_gets_it(world, client):
    none_yet = client.get("/cameras/cam1/snapshot.jpg", headers=OPERATOR)
    assert none_yet.status_code == 404 and "no snapshot of camera cam1 yet" in none_yet.json()["detail"]
    frame = jpeg()
    res = client.put("/cameras/cam1/snapshot.jpg", content=frame, headers={**ADMIN, "Content-Type": "image/jpeg"})
    assert res.status_code == 200, res.text
    assert res.json() == {"camera_id": "cam1", "at": "2026-03-02T08:05:00Z", "width": W, "height": H,
                          "bytes": len(frame)}  # fmt: skip
    got = client.get("/cameras/cam1/snapshot.jpg", headers=OPERATOR)
    assert got.content == frame and got.headers["x-captured-at"] == "2026-03-02T08:05:00+00:00"
    assert got.headers["cache-control"] == "private, no-store"
    assert client.get("/cameras/cam2/snapshot.jpg", headers=OPERATOR).status_code == 404  # per camera


SNAP_BAD = {
    "not a JPEG": (b"GIF89a" + b"\0" * 100, 415, "must be a JPEG"),
    "a PNG": (cv2.imencode(".png", stills()[0][:50, :50])[1].tobytes(), 415, "must be a JPEG"),
    "broken JPEG": (b"\xff\xd8\xff\xe0" + b"\0" * 200, 422, "cannot be read"),
    "wrong size": (None, 422, "the snapshot is 320x180 pixels; camera cam1's frame"),
    "too big": (b"\xff\xd8\xff" + b"\0" * 200_001, 413, "over 200000 bytes"),
}  # fmt: skip


@pytest.mark.parametrize("case", SNAP_BAD, ids=SNAP_BAD)
def test_a_bad_snapshot_is_refused_and_keeps_the_last_good_one(world, client, case):
    data, status, why = SNAP_BAD[case]
    good = jpeg()
    client.put("/cameras/cam1/snapshot.jpg", content=good, headers={**ADMIN, "Content-Type": "image/jpeg"})
    res = client.put("/cameras/cam1/snapshot.jpg", content=data or jpeg((320, 180)),
                     headers={**ADMIN, "Content-Type": "image/jpeg"})  # fmt: skip
    assert res.status_code == status and why in res.text, res.text
    assert client.get("/cameras/cam1/snapshot.jpg", headers=OPERATOR).content == good
    assert client.put("/cameras/cam1/snapshot.jpg", content=good, headers=OPERATOR).status_code == 403
