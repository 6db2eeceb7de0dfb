"""Escalation to the city's dispatch platform over Open311 GeoReport v2.

`Open311Sender` files one service request per escalated case (the outbox retries it; the `Idempotency-Key`
header and `attribute[case_id]` let the platform drop repeats). `Open311Client` polls a request until the
city closes it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from dispatch.outbox import OutboxMessage, PermanentError, RetryableError

# One Open311 service per frontage rule.
SERVICE_CODES: dict[str, str] = {
    "illegal_parking": "illegal_parking",
    "out_of_store_trading": "out_of_store_trading",
}

_SCALAR_FIELDS = (
    "service_code",
    "description",
    "address_string",
    "address_id",
    "lat",
    "long",
    "media_url",
    "email",
    "first_name",
    "last_name",
    "phone",
    "device_id",
    "account_id",
    "jurisdiction_id",
)


def form_fields(payload: dict[str, Any], case_id: int | None) -> dict[str, str]:
    """GeoReport v2 form fields from an escalation payload; `attribute` becomes `attribute[key]` entries."""
    out: dict[str, str] = {}
    code = payload.get("service_code") or SERVICE_CODES.get(str(payload.get("rule", "")))
    if not code:
        raise PermanentError(f"no service_code and no known rule in the escalation payload: {sorted(payload)}")
    out["service_code"] = str(code)
    for key in _SCALAR_FIELDS[1:]:
        value = payload.get(key)
        if value is not None and value != "":
            out[key] = str(value)
    attrs = payload.get("attribute") or {}
    if not isinstance(attrs, dict):
        raise PermanentError("escalation payload 'attribute' must be an object")
    for key, value in attrs.items():
        out[f"attribute[{key}]"] = str(value)
    if case_id is not None:
        out.setdefault("attribute[case_id]", str(case_id))
    return out


def _error_description(resp: httpx.Response) -> str:
    """The platform's own words: Open311 errors are a list of {code, description}."""
    try:
        data = resp.json()
    except ValueError:
        return resp.text[:300] or resp.reason_phrase
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return "; ".join(str(e.get("description", e)) for e in data)[:500]
    if isinstance(data, dict) and "description" in data:
        return str(data["description"])[:500]
    return json.dumps(data)[:300]


def _raise_for(resp: httpx.Response, what: str) -> None:
    code = resp.status_code
    if 200 <= code < 300:
        return
    desc = _error_description(resp)
    if code in (408, 425, 429) or code >= 500:
        raise RetryableError(f"{what}: HTTP {code}: {desc}")
    raise PermanentError(f"{what}: HTTP {code}: {desc}")


def _first(resp: httpx.Response, what: str) -> dict:
    try:
        data = resp.json()
    except ValueError as e:
        raise RetryableError(f"{what}: response is not JSON: {resp.text[:200]!r}") from e
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise RetryableError(f"{what}: unexpected response {str(data)[:200]}")
    return data[0]


class Open311Client:
    """Thin GeoReport v2 client; the same error classes as the outbox so callers retry one way."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str = "",
        jurisdiction_id: str = "",
        connect_timeout: float = 5.0,
        read_timeout: float = 5.0,
        client: httpx.Client | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.jurisdiction_id = jurisdiction_id
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def _params(self) -> dict[str, str]:
        return {"jurisdiction_id": self.jurisdiction_id} if self.jurisdiction_id else {}

    def _call(self, method: str, path: str, what: str, **kw) -> httpx.Response:
        url = f"{self.base_url}{path}"
        try:
            resp = self.client.request(method, url, **kw)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as e:
            raise PermanentError(f"{what}: bad URL {url!r}: {e}") from e
        except httpx.HTTPError as e:  # timeouts, refused, reset or dropped connections
            raise RetryableError(f"{what}: {type(e).__name__}: {e}") from e
        _raise_for(resp, what)
        return resp

    def post_request(self, fields: dict[str, str], idempotency_key: str = "") -> dict:
        """POST /requests.json; returns {"service_request_id": ...} (or {"token": ...} for deferred platforms)."""
        data = dict(fields)
        if self.api_key:
            data["api_key"] = self.api_key
        data.update(self._params())
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        resp = self._call("POST", "/requests.json", "open311 POST /requests.json", data=data, headers=headers)
        first = _first(resp, "open311 POST /requests.json")
        if first.get("service_request_id") not in (None, ""):
            return {"service_request_id": str(first["service_request_id"])}
        if first.get("token") not in (None, ""):
            return {"service_request_id": None, "token": str(first["token"])}
        raise RetryableError(f"open311 POST /requests.json: no service_request_id or token in {first}")

    def get_request(self, service_request_id: str) -> dict:
        """GET /requests/{id}.json, first element: status "open"/"closed", status_notes, updated_datetime..."""
        what = f"open311 GET /requests/{service_request_id}.json"
        resp = self._call("GET", f"/requests/{service_request_id}.json", what, params=self._params())
        return _first(resp, what)

    def request_for_token(self, token: str) -> str | None:
        """GET /tokens/{token}.json: the service_request_id once the platform has assigned one."""
        what = f"open311 GET /tokens/{token}.json"
        first = _first(self._call("GET", f"/tokens/{token}.json", what, params=self._params()), what)
        srid = first.get("service_request_id")
        return str(srid) if srid not in (None, "") else None

    def close(self) -> None:
        self.client.close()


class Open311Sender:
    """Outbox sender for escalations: one GeoReport v2 service request per case."""

    channel = "open311"

    def __init__(self, base_url: str, **client_kw):
        self.api = Open311Client(base_url, **client_kw)

    def send(self, message: OutboxMessage) -> dict:
        fields = form_fields(message.payload, message.case_id)
        return self.api.post_request(fields, idempotency_key=message.idempotency_key)

    def close(self) -> None:
        self.api.close()
