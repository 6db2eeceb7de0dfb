"""Camera baselines, "this belongs here", view confirmation and the camera ledger, over real HTTP on a live
server with the seeded store. The camera process is a fake (conftest.FakeCameras): these tests check what the
API does with it, not what it does."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from fastapi.testclient import TestClient

from dispatch.baselines import camera_events, latest_baseline
from tests.api.conftest import PLANTER, SEEDED_AT
from tests.api.test_meta import sample

PLANTER_OUT = {**PLANTER, "polygon": [[float(x), float(y)] for x, y in PLANTER["polygon"]]}
BENCH = {"shop_id": "shop-a", "polygon": [[30, 210], [80, 210], [80, 250], [30, 250]], "note": "bench"}
BENCH_OUT = {**BENCH, "polygon": [[30.0, 210.0], [80.0, 210.0], [80.0, 250.0], [30.0, 250.0]]}
SEEDED_ISO = SEEDED_AT.isoformat().replace("+00:00", "Z")


@pytest.fixture
def client(world, cameras, serve, auth):
    """`client(who, control=True)`: an httpx client on a live server whose app has the fake camera process."""
    made: list[httpx.Client] = []

    def make(who: str | None, control: bool = True) -> httpx.Client:
        app = world.app(camera_status=cameras.camera_status, camera_control=cameras if control else None)
        made.append(httpx.Client(base_url=serve(app).url, headers=auth(who), timeout=10))
        return made[-1]

    yield make
    for c in made:
        c.close()


def reason_of(res: httpx.Response) -> str:
    detail = res.json()["detail"]
    return detail if isinstance(detail, str) else "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}"
                                                           for d in detail)  # fmt: skip


def test_the_baseline_starts_as_the_configs_fixtures(client):
    api = client("operator")
    res = api.get("/cameras/cam1/baseline")
    assert res.status_code == 200, res.text
    assert res.json() == {
        "camera_id": "cam1",
        "version": 0,
        "fixtures": [PLANTER_OUT],
        "versions": [{"version": 0, "at": None, "actor": "config", "reason": "the config's fixtures", "fixtures": 1}],
    }
    assert api.get("/cameras/cam2/baseline").json()["fixtures"] == []
    missing = api.get("/cameras/cam9/baseline")
    assert missing.status_code == 404 and missing.json() == {"detail": "no camera 'cam9'"}
    assert client("merchant-own").get("/cameras/cam1/baseline").status_code == 403
    assert client(None).get("/cameras/cam1/baseline").status_code == 401


def test_adding_a_fixture_makes_a_new_version_and_the_camera_reloads_it(client, cameras, world):
    api = client("operator")
    res = api.post("/cameras/cam1/baseline/fixtures", json=BENCH)
    assert res.status_code == 201, res.text
    body = res.json()
    assert (body["version"], body["fixtures"]) == (1, [PLANTER_OUT, BENCH_OUT])  # added on top of version 0
    assert body["versions"][1] == {"version": 1, "at": SEEDED_ISO, "actor": "otto",
                                   "reason": "fixture added: bench", "fixtures": 2}  # fmt: skip
    assert cameras.reloaded == ["cam1"]

    world.clock.advance(60)
    second = client("admin").post("/cameras/cam1/baseline/fixtures", json={**BENCH, "note": ""})
    assert second.status_code == 201 and second.json()["version"] == 2
    assert second.json()["versions"][2]["actor"] == "ada" and second.json()["versions"][2]["reason"] == (
        "fixture added: shop-a")  # fmt: skip
    assert cameras.reloaded == ["cam1", "cam1"]
    assert api.get("/cameras/cam1/baseline").json() == second.json()

    events = api.get("/cameras/cam1/events").json()
    assert [(e["kind"], e["actor"], e["data"]["version"]) for e in events] == [
        ("baseline_changed", "ada", 2),
        ("baseline_changed", "otto", 1),
    ]
    assert events[1]["data"]["added"] == BENCH_OUT and events[1]["at"] == SEEDED_ISO
    assert api.get("/cameras/cam2/events").json() == []


BAD_FIXTURES = {
    "self-intersecting": ({**BENCH, "polygon": [[30, 210], [80, 250], [80, 210], [30, 250]]}, "body.polygon: invalid "
                          "polygon: Self-intersection"),
    "no area": ({**BENCH, "polygon": [[30, 210], [30.5, 210], [30, 210.5]]}, "body.polygon: degenerate polygon"),
    "two points": ({**BENCH, "polygon": [[30, 210], [80, 210]]}, "body.polygon: List should have at least 3"),
    "outside the frame": ({**BENCH, "polygon": [[600, 300], [700, 300], [700, 350]]}, "body.polygon: points "
                          "[[700.0, 300.0], [700.0, 350.0]] lie outside the 640x360 frame of camera 'cam1'"),
    "unknown shop": ({**BENCH, "shop_id": "shop-z"}, "body.shop_id: unknown shop 'shop-z' (known: shop-a, shop-b)"),
    "shop not on this camera": ({**BENCH, "shop_id": "shop-b"}, "body.shop_id: shop 'shop-b' has no frontage on "
                                "camera 'cam1'"),
    "a point of three numbers": ({**BENCH, "polygon": [[30, 210, 1], [80, 210], [80, 250]]}, "body.polygon.0"),
    "unknown field": ({**BENCH, "colour": "green"}, "body.colour: Extra inputs are not permitted"),
    "no shop": ({"polygon": BENCH["polygon"]}, "body.shop_id: Field required"),
}  # fmt: skip


@pytest.mark.parametrize(("body", "mentions"), BAD_FIXTURES.values(), ids=BAD_FIXTURES.keys())
def test_a_bad_fixture_is_422_with_the_reason_and_changes_nothing(client, cameras, world, body, mentions):
    res = client("operator").post("/cameras/cam1/baseline/fixtures", json=body)
    assert res.status_code == 422, res.text
    assert mentions in reason_of(res), reason_of(res)
    assert latest_baseline(world.engine, "cam1") is None and camera_events(world.engine, "cam1") == []
    assert cameras.reloaded == []


def test_a_non_finite_coordinate_is_422(client, world):
    raw = json.dumps(BENCH).replace("80, 250", "NaN, 250")  # Python's json would take NaN; the API must not
    res = client("operator").post("/cameras/cam1/baseline/fixtures", content=raw,
                                  headers={"Content-Type": "application/json"})  # fmt: skip
    assert res.status_code == 422 and "finite" in reason_of(res), res.text
    assert latest_baseline(world.engine, "cam1") is None


def test_adding_to_an_unknown_camera_or_as_a_merchant_is_refused(client, world):
    assert client("operator").post("/cameras/cam9/baseline/fixtures", json=BENCH).status_code == 404
    res = client("merchant-own").post("/cameras/cam1/baseline/fixtures", json=BENCH)
    assert res.status_code == 403 and res.json() == {"detail": "operators and admins only"}
    assert latest_baseline(world.engine, "cam1") is None


def test_removing_a_fixture_is_for_admins_and_makes_a_new_version(client, cameras, world):
    for who in ("operator", "merchant-own"):
        assert client(who).delete("/cameras/cam1/baseline/fixtures/0").status_code == 403
    assert latest_baseline(world.engine, "cam1") is None
    admin = client("admin")
    res = admin.delete("/cameras/cam1/baseline/fixtures/0", params={"reason": "the planter was taken away"})
    assert res.status_code == 200, res.text
    assert (res.json()["version"], res.json()["fixtures"]) == (1, [])
    assert res.json()["versions"][-1] == {"version": 1, "at": SEEDED_ISO, "actor": "ada",
                                          "reason": "the planter was taken away", "fixtures": 0}  # fmt: skip
    assert cameras.reloaded == ["cam1"]
    (event,) = camera_events(world.engine, "cam1")
    assert event.data == {"removed_index": 0, "removed": PLANTER_OUT, "version": 1, "fixtures": 0}

    gone = admin.delete("/cameras/cam1/baseline/fixtures/0")
    assert gone.status_code == 404
    assert gone.json()["detail"] == "camera cam1's baseline version 1 has no fixture 0 (it has 0)"
    assert admin.delete("/cameras/cam9/baseline/fixtures/0").status_code == 404
    assert admin.delete("/cameras/cam1/baseline/fixtures/-1").status_code == 422
    assert len(camera_events(world.engine, "cam1")) == 1 and cameras.reloaded == ["cam1"]


def test_belongs_here_dismisses_the_case_and_adds_its_box_to_the_baseline(client, cameras, world):
    case_id = world.ids["a_reminded"]  # shop-a on cam1, box (60, 220, 180, 330)
    res = client("operator").post(f"/cases/{case_id}/belongs", json={"note": "  the café's own bench  "})
    assert res.status_code == 200, res.text
    body = res.json()
    box = {"shop_id": "shop-a", "polygon": [[60.0, 220.0], [180.0, 220.0], [180.0, 330.0], [60.0, 330.0]],
           "note": "the café's own bench"}  # fmt: skip
    assert body["baseline"]["version"] == 1 and body["baseline"]["fixtures"] == [PLANTER_OUT, box]
    assert body["case"]["state"] == "dismissed" and body["case"]["open311_status"] == "closed"
    assert cameras.reloaded == ["cam1"]

    assert world.case(case_id).state == "dismissed"
    last = world.ledger(case_id)[-1]
    assert (last.from_state, last.to_state, last.actor, last.reason, last.at) == (
        "reminded", "dismissed", "operator", "permitted fixture", SEEDED_AT)  # fmt: skip
    assert last.data == {"by": "otto", "camera_id": "cam1", "baseline_version": 1}
    assert latest_baseline(world.engine, "cam1") == (1, [PLANTER_OUT, box])
    (event,) = camera_events(world.engine, "cam1")
    assert (event.kind, event.actor, event.reason) == (
        "baseline_changed", "otto", f"permitted fixture, marked from case {case_id}")  # fmt: skip
    assert event.data == {"case_id": case_id, "added": box, "version": 1, "fixtures": 2}


def test_belongs_on_a_dismissed_case_adds_the_fixture_once_with_a_note(client, cameras, world):
    case_id = world.ids["a_dismissed"]
    api = client("admin")
    res = api.post(f"/cases/{case_id}/belongs")  # no body: the note says where it came from
    assert res.status_code == 200, res.text
    assert res.json()["baseline"]["fixtures"][-1]["note"] == f"marked from case {case_id}"
    last = world.ledger(case_id)[-1]
    assert (last.from_state, last.to_state, last.reason) == (
        "dismissed", "dismissed", "marked as a permitted fixture (camera cam1 v1)")  # fmt: skip
    again = api.post(f"/cases/{case_id}/belongs", json={})
    assert again.status_code == 409 and "already a permitted fixture (baseline v1)" in again.json()["detail"]
    assert [v["version"] for v in api.get("/cameras/cam1/baseline").json()["versions"]] == [0, 1]
    assert cameras.reloaded == ["cam1"]


@pytest.mark.parametrize(("name", "state"), [("b_escalated", "escalated"), ("a_resolved", "resolved")])
def test_belongs_refuses_a_case_handled_as_a_real_violation(client, cameras, world, name, state):
    case_id = world.ids[name]
    before = len(world.ledger(case_id))
    res = client("operator").post(f"/cases/{case_id}/belongs", json={"note": "bench"})
    assert res.status_code == 409, res.text
    assert res.json()["detail"].startswith(f"case {case_id} is {state}: it was treated as a real violation")
    assert world.case(case_id).state == state and len(world.ledger(case_id)) == before
    assert latest_baseline(world.engine, "cam1") is None and latest_baseline(world.engine, "cam2") is None
    assert cameras.reloaded == []


def test_belongs_refuses_unknown_cases_merchants_and_bad_bodies(client, world):
    case_id = world.ids["a_detected"]
    assert client("operator").post("/cases/999999/belongs", json={}).status_code == 404
    assert client("merchant-own").post(f"/cases/{case_id}/belongs", json={}).status_code == 403
    bad = client("operator").post(f"/cases/{case_id}/belongs", json={"note": "x", "shop_id": "shop-b"})
    assert bad.status_code == 422 and "shop_id" in reason_of(bad)
    long = client("operator").post(f"/cases/{case_id}/belongs", json={"note": "x" * 501})
    assert long.status_code == 422 and "note" in reason_of(long)
    assert world.case(case_id).state == "detected" and latest_baseline(world.engine, "cam1") is None


def test_confirming_a_moved_view_calls_the_camera_process_and_writes_the_camera_ledger(client, cameras, world):
    api = client("operator")
    res = api.post("/cameras/cam1/view/confirm", json={"reason": "camera re-aimed after the storm"})
    assert res.status_code == 200, res.text
    answer = {"view_state": "ok", "was": "moved", "reference": "current frame"}
    assert res.json() == {"camera_id": "cam1", "confirmed_by": "otto", "event_id": res.json()["event_id"],
                          "answer": answer}  # fmt: skip
    assert cameras.confirmed == [("cam1", "otto")]
    (event,) = api.get("/cameras/cam1/events").json()
    assert event == {
        "id": res.json()["event_id"], "camera_id": "cam1", "at": SEEDED_ISO, "kind": "view_confirmed",
        "actor": "otto", "reason": "camera re-aimed after the storm", "data": {"answer": answer},
    }  # fmt: skip

    again = api.post("/cameras/cam1/view/confirm")  # the fake's view is ok now: nothing to confirm
    assert again.status_code == 409 and again.json()["detail"] == "camera cam1: the view is ok, nothing to confirm"
    assert len(camera_events(world.engine, "cam1")) == 1 and cameras.confirmed == [("cam1", "otto")]
    assert api.post("/cameras/cam9/view/confirm").status_code == 404
    assert client("merchant-own").post("/cameras/cam1/view/confirm").status_code == 403
    assert api.post("/cameras/cam1/view/confirm", json={"reason": "x" * 2001}).status_code == 422


def test_confirming_a_view_without_a_camera_process_is_409(client, cameras, world):
    res = client("admin", control=False).post("/cameras/cam1/view/confirm", json={})
    assert res.status_code == 409
    assert res.json()["detail"].startswith("no camera process runs in this API process")
    assert camera_events(world.engine, "cam1") == [] and cameras.confirmed == []


def test_camera_events_limit(client, world):
    api = client("admin")
    for i in range(3):
        world.clock.advance(1)
        assert api.post("/cameras/cam1/baseline/fixtures", json={**BENCH, "note": f"bench {i}"}).status_code == 201
    assert [e["data"]["version"] for e in api.get("/cameras/cam1/events", params={"limit": 2}).json()] == [3, 2]
    assert api.get("/cameras/cam1/events", params={"limit": 0}).status_code == 422
    assert api.get("/cameras/cam9/events").status_code == 404


def test_cameras_and_metrics_show_the_view_alert(client):
    api = client("operator")
    cams = {c["id"]: c for c in api.get("/cameras").json()}
    assert {k: cams["cam1"][k] for k in ("state", "view_state", "view_reason", "view_since", "view_shift_px",
                                         "baseline_version", "detail")} == {
        "state": "online", "view_state": "moved", "view_reason": "view turned ~40 px to the left",
        "view_since": "2026-03-02T08:03:00Z", "view_shift_px": 41.5, "baseline_version": 0,
        "detail": {"frames_in": 10},
    }  # fmt: skip
    assert (cams["cam2"]["view_state"], cams["cam2"]["view_since"]) == ("ok", None)
    text = api.get("/metrics").text
    assert sample(text, "frontage_camera_view_alert", camera="cam1") == 1
    assert sample(text, "frontage_camera_view_alert", camera="cam2") == 0
    assert sample(text, "frontage_camera_view_shift_px", camera="cam1") == 41.5
    assert sample(text, "frontage_camera_baseline_version", camera="cam2") == 0

    assert api.post("/cameras/cam1/view/confirm").status_code == 200
    assert sample(api.get("/metrics").text, "frontage_camera_view_alert", camera="cam1") == 0
    assert api.get("/cameras").json()[0]["view_state"] == "ok"


def test_cameras_without_view_fields_and_with_odd_ones(world, serve, auth):
    status = [
        {"id": "cam1", "state": "online", "view_state": "tampered", "view_since": "not a time",
         "view_shift_px": "far", "baseline_version": True},
        {"id": "cam2", "state": "online"},
    ]  # fmt: skip
    with httpx.Client(base_url=serve(world.app(lambda: status)).url, headers=auth("admin")) as api:
        cams = api.get("/cameras").json()
        text = api.get("/metrics").text
    assert [(c["view_state"], c["view_since"], c["view_shift_px"], c["baseline_version"], c["view_reason"])
            for c in cams] == [("tampered", None, None, None, ""), (None, None, None, None, "")]  # fmt: skip
    assert sample(text, "frontage_camera_view_alert", camera="cam1") == 1
    assert sample(text, "frontage_camera_view_alert", camera="cam2") == 0


def test_the_reload_hook_failing_does_not_lose_the_saved_version(world, serve, auth, cameras):
    def broken(camera_id: str) -> None:
        raise RuntimeError("camera process busy")

    cameras.baseline_changed = broken
    app = world.app(camera_status=cameras.camera_status, camera_control=cameras)
    with httpx.Client(base_url=serve(app).url, headers=auth("operator")) as api:
        res = api.post("/cameras/cam1/baseline/fixtures", json=BENCH)
    assert res.status_code == 201 and latest_baseline(world.engine, "cam1")[0] == 1


def test_times_are_the_injected_clocks(client, world):
    world.clock.set(SEEDED_AT + dt.timedelta(hours=2))
    client("operator").post("/cameras/cam1/baseline/fixtures", json=BENCH)
    (event,) = camera_events(world.engine, "cam1")
    assert event.at == SEEDED_AT + dt.timedelta(hours=2)


def test_an_odd_answer_from_the_camera_process_is_stored_as_plain_json(world, serve, auth, cameras):
    import numpy as np

    def confirm_view(camera_id: str, actor: str) -> dict:
        return {"shift_px": np.float32(2.5), "inliers": np.int64(412), "at": SEEDED_AT, "score": float("nan"),
                "corners": (np.float64(1.5), 2), "homography": np.eye(2)}  # fmt: skip

    cameras.confirm_view = confirm_view
    app = world.app(camera_status=cameras.camera_status, camera_control=cameras)
    with httpx.Client(base_url=serve(app).url, headers=auth("operator")) as api:
        res = api.post("/cameras/cam1/view/confirm")
    assert res.status_code == 200, res.text
    answer = res.json()["answer"]
    assert {k: answer[k] for k in ("shift_px", "at", "score", "corners")} == {
        "shift_px": 2.5, "at": SEEDED_AT.isoformat(), "score": None, "corners": [1.5, 2]}  # fmt: skip
    assert answer["inliers"] == 412 and isinstance(answer["inliers"], int) and isinstance(answer["homography"], str)
    (event,) = camera_events(world.engine, "cam1")
    assert event.data == {"answer": answer}


def test_a_case_no_camera_saw_cannot_be_a_permitted_fixture(district_world, auth):
    with TestClient(district_world.app()) as c:
        res = c.post(f"/cases/{district_world.ids['b_report']}/belongs", json={"note": "x"}, headers=auth("operator"))
    assert res.status_code == 409 and "came from a citizen, not a camera" in res.json()["detail"]
