"""Behind a reverse proxy on the same host (nginx in front of `frontage serve`): uvicorn trusts the proxy's
X-Forwarded-For and X-Forwarded-Proto from 127.0.0.1 (FORWARDED_ALLOW_IPS widens that), so each citizen keeps
their own report limit instead of all sharing the proxy's address, and the inspector's session cookie is Secure
when the public side is https. Real uvicorn on a real socket: the proxy headers are its doing, not the app's."""

from __future__ import annotations

import httpx
from sqlalchemy.orm import Session

from register.db import ShopRow
from register.signboards import code_for
from tests.api.conftest import CFG, TOKENS, LiveServer, jpeg_bytes


def _report(url: str, code: str, client: str) -> httpx.Response:
    return httpx.post(
        f"{url}/public/reports",
        data={"code": code, "category": "litter", "description": "bags"},
        files={"photo": ("p.jpg", jpeg_bytes((320, 180)), "image/jpeg")},
        headers={"X-Forwarded-For": client},
        timeout=10,
    )


def test_each_citizen_behind_the_proxy_has_their_own_limit_and_the_session_is_secure(district_world):
    with Session(district_world.engine) as s:
        code = code_for(district_world.engine, CFG, s.get(ShopRow, "shop-a"))
    per_client = CFG.district.reports.per_client
    with LiveServer(district_world.app()) as live:
        first = [_report(live.url, code, "198.51.100.7").status_code for _ in range(per_client + 1)]
        assert first == [201] * per_client + [429]
        assert _report(live.url, code, "198.51.100.8").status_code == 201  # another citizen, the same proxy
        login = httpx.post(f"{live.url}/login", data={"token": TOKENS["inspector"], "next": "/"},
                           headers={"X-Forwarded-Proto": "https"}, timeout=10)  # fmt: skip
    assert login.status_code == 303
    cookie = login.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
