"""The merchant's "fixed" photo, through a real uvicorn server: size cap, content sniffing, stored name, ledger."""

from __future__ import annotations

import cv2
import httpx
import numpy as np
import pytest

LIMIT = 200_000  # api.max_upload_bytes in the test config


@pytest.fixture
def http(world, serve) -> httpx.Client:
    server = serve(world.app())
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def post_photo(http, auth, case_id: int, name: str, data: bytes, ctype: str = "image/jpeg", who="merchant-own"):
    return http.post(f"/cases/{case_id}/fixed", headers=auth(who), files={"photo": (name, data, ctype)})


def untouched(world, case_id: int) -> bool:
    return world.case(case_id).state == "reminded" and not any(world.upload_dir.glob("*"))


def test_a_real_jpeg_resolves_the_case_and_lands_in_the_ledger(world, http, auth, jpeg):
    cid = world.ids["a_reminded"]
    photo = {"photo": ("../../etc/evil.jpg", jpeg, "image/jpeg")}
    res = http.post(f"/cases/{cid}/fixed", headers=auth("merchant-own"), files=photo, data={"reason": "moved the car"})
    assert res.status_code == 200, res.text
    assert res.json()["state"] == "resolved"
    last = world.ledger(cid)[-1]
    assert (last.from_state, last.to_state, last.actor, last.reason) == (
        "reminded",
        "resolved",
        "merchant",
        "moved the car",
    )
    assert last.data["by"] == "li"
    stored = world.upload_dir / last.data["photo"]
    assert stored.parent == world.upload_dir and stored.read_bytes() == jpeg  # our name, not the client's
    assert stored.name.startswith(f"case-{cid:06d}-fixed-") and stored.suffix == ".jpg"
    assert res.json()["ledger"][-1]["data"]["photo"] == stored.name


def test_a_png_is_accepted_too(world, http, auth):
    ok, buf = cv2.imencode(".png", np.zeros((20, 30, 3), np.uint8))
    res = post_photo(http, auth, world.ids["a_reminded"], "fixed.png", buf.tobytes(), "image/png")
    assert res.status_code == 200 and world.ledger(world.ids["a_reminded"])[-1].data["photo"].endswith(".png")


def test_too_big_is_413(world, http, auth, jpeg):
    cid = world.ids["a_reminded"]
    big = jpeg + b"\0" * (LIMIT + 1 - len(jpeg))
    res = post_photo(http, auth, cid, "big.jpg", big)
    assert res.status_code == 413 and str(LIMIT) in res.json()["detail"]
    assert untouched(world, cid)


def test_a_huge_streamed_body_is_cut_off_at_413(world, http, auth):
    cid = world.ids["a_reminded"]
    chunks = (b"\xff" * 65536 for _ in range(64))  # 4 MiB, chunked, no Content-Length to trust
    res = http.post(f"/cases/{cid}/fixed", headers=auth("merchant-own") | {"Content-Type": "multipart/form-data; "
                    "boundary=x"}, content=chunks)  # fmt: skip
    assert res.status_code == 413
    assert untouched(world, cid)


@pytest.mark.parametrize(
    ("name", "data", "ctype"),
    [
        ("notes.jpg", b"this is a text file, renamed\n" * 10, "image/jpeg"),
        ("empty.jpg", b"", "image/jpeg"),
        ("page.png", b"<html><body>not a png</body></html>", "image/png"),
        ("gif.jpg", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/jpeg"),
    ],
)
def test_not_an_image_by_content_is_415(world, http, auth, name, data, ctype):
    cid = world.ids["a_reminded"]
    res = post_photo(http, auth, cid, name, data, ctype)
    assert res.status_code == 415 and "JPEG or PNG" in res.json()["detail"]
    assert untouched(world, cid)


def test_refused_move_keeps_no_photo(world, http, auth, jpeg):
    cid = world.ids["a_resolved"]
    res = post_photo(http, auth, cid, "fixed.jpg", jpeg)
    assert res.status_code == 409 and "resolved case cannot become resolved" in res.json()["detail"]
    assert not any(world.upload_dir.glob("*"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"files": {"picture": ("fixed.jpg", b"\xff\xd8\xff", "image/jpeg")}},
        {"json": {"photo": "aGVsbG8="}},
        {"content": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
    ],
    ids=["wrong-field", "json-not-multipart", "broken-multipart"],
)
def test_malformed_uploads_are_4xx_with_a_reason(world, http, auth, kwargs):
    cid = world.ids["a_reminded"]
    headers = auth("merchant-own") | kwargs.pop("headers", {})
    res = http.post(f"/cases/{cid}/fixed", headers=headers, **kwargs)
    assert 400 <= res.status_code < 500 and res.json()["detail"], res.text
    assert untouched(world, cid)
