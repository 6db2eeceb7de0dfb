"""GET /cameras/{id}/recording-frame.jpg: the zone editor's frame from a camera's recording, t seconds in, at the
camera's frame size; staff only, each view in the camera's ledger; streams, missing and broken files and times
past the end answer with the reason."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from dispatch.baselines import camera_events
from tests.api.conftest import CFG, H, W, headers
from tests.media_helpers import COLOURS, recording


@pytest.fixture
def client(world, tmp_path):
    video = recording(tmp_path / "cam2.mp4")
    cams = [c if c.id != "cam2" else c.model_copy(update={"source": str(video)}) for c in CFG.cameras]
    cfg = CFG.model_copy(update={"cameras": cams})
    with TestClient(dataclasses.replace(world, cfg=cfg).app()) as c:
        yield c


def test_a_frame_t_seconds_in_at_the_cameras_size_and_each_view_in_the_ledger(world, client):
    for t, colour in ((0.0, COLOURS[0]), (1.25, COLOURS[1]), (2.5, COLOURS[2])):
        res = client.get(f"/cameras/cam2/recording-frame.jpg?t={t}", headers=headers("operator"))
        assert res.status_code == 200, res.text
        img = cv2.imdecode(np.frombuffer(res.content, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (H, W, 3)  # scaled to the polygons' frame
        assert np.abs(img.reshape(-1, 3).mean(axis=0) - colour).max() < 30, (t, img.reshape(-1, 3).mean(axis=0))
        assert abs(float(res.headers["X-Frame-Time"]) - t) <= 0.1
        assert res.headers["Cache-Control"] == "private, no-store"
    events = camera_events(world.engine, "cam2")
    assert [e.kind for e in events] == ["recording_frame_viewed"] * 3
    assert events[0].actor == "otto" and "cam2.mp4" in events[0].reason and "unredacted" in events[0].reason


def test_streams_missing_files_late_times_and_other_roles_are_refused_with_the_reason(client, tmp_path):
    res = client.get("/cameras/cam1/recording-frame.jpg", headers=headers("admin"))
    assert res.status_code == 409 and "its source is a live stream" in res.json()["detail"]
    res = client.get("/cameras/cam2/recording-frame.jpg?t=9", headers=headers("admin"))
    assert res.status_code == 422 and "past the end of cam2.mp4 (3.0 s)" in res.json()["detail"]
    for bad in ("-1", "x", "nan"):
        assert client.get(f"/cameras/cam2/recording-frame.jpg?t={bad}", headers=headers("admin")).status_code == 422
    assert client.get("/cameras/cam9/recording-frame.jpg", headers=headers("admin")).status_code == 404
    for who in ("merchant-own", "inspector"):
        assert client.get("/cameras/cam2/recording-frame.jpg", headers=headers(who)).status_code == 403
    (tmp_path / "cam2.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not a video at all")
    res = client.get("/cameras/cam2/recording-frame.jpg", headers=headers("operator"))
    assert res.status_code == 409 and "cam2's recording cannot be read" in res.json()["detail"]
    (tmp_path / "cam2.mp4").unlink()
    res = client.get("/cameras/cam2/recording-frame.jpg", headers=headers("operator"))
    assert res.status_code == 409 and "no such video file" in res.json()["detail"]
