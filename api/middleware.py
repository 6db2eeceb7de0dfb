"""Two ASGI wrappers: a request-body cap (a huge body costs a 413, never memory or a 500) and request counting
per route template (bounded label values, so a scanner cannot blow up the metrics)."""

from __future__ import annotations

import json
from collections.abc import Callable

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


async def _send_json(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Reads the whole body up front, up to `limit_for(scope)` bytes, and answers 413 beyond it.

    Buffering is safe because the limit bounds it, and it means the route sees a complete body: the framework's
    own parsers never meet a half-read stream they would report as a 400 or a 500.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int]):
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_json(send, 413, f"request body over {limit} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send_json(send, 413, f"request body over {limit} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class CountRequests:
    """Counts every response by method, route template and status; unmatched paths share one label."""

    def __init__(self, app: ASGIApp, counter: Counter):
        self.app, self.counter = app, counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            template = _template(scope)
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            self.counter.labels(method, template, str(status)).inc()


def _template(scope: Scope) -> str:
    """The matched route's template; a mount (the static files) by its prefix; anything else one label."""
    route = scope.get("route")
    if route is not None:
        return getattr(route, "path_format", None) or getattr(route, "path", "unmatched")
    root, app_root = scope.get("root_path", ""), scope.get("app_root_path")
    if app_root is not None and root != app_root:
        return root.removeprefix(app_root) or "unmatched"
    return "unmatched"
