"""The operator API: `create_app` wires config, store, workflow and folders into one FastAPI app.

Nothing here reads the OS clock or global state: time comes from the workflow's injected clock, and each app
has its own token store and metrics registry, so tests can build as many apps as they like.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from starlette.routing import Match
from starlette.types import Scope

from api import (
    pages,
    routes_cameras,
    routes_cases,
    routes_credit,
    routes_evidence,
    routes_frames,
    routes_insights,
    routes_meta,
    routes_public,
    routes_reports,
    routes_shops,
    routes_upload,
    routes_zones,
)
from api.auth import TokenStore
from api.context import AppContext, CameraControl
from api.metrics import make_registry
from api.middleware import BodyLimit, CountRequests
from dispatch.workflow import Workflow
from frontage.config import Config
from register.reports import RateLimiter

log = logging.getLogger(__name__)

JSON_BODY_LIMIT = 64 * 1024  # an action is a word and a reason; anything near this is not one
ZONES_BODY_LIMIT = 1024 * 1024  # a camera's frontages: up to 100 polygons of up to 100 points, or their YAML
_ZONES_PATH = re.compile(r"^/cameras/[^/]+/zones(/check|\.yaml)?/?$")
FORM_OVERHEAD = 64 * 1024  # multipart boundaries, part headers and the optional reason around the photo
# Routes that take a photo: a merchant's fix, a citizen's report, an inspector's visit, a camera's latest frame.
_UPLOAD_PATH = re.compile(
    r"^/(cases/[^/]+/fixed|public/reports|s/[^/]+/(report|inspection)|shops/[^/]+/inspections"
    r"|cameras/[^/]+/snapshot\.jpg)/?$"
)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 in FastAPI's documented shape, without echoing the input back (it may be megabytes)."""
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
         "type": str(e.get("type", "value_error"))}
        for e in exc.errors()
    ]  # fmt: skip
    return JSONResponse(jsonable_encoder({"detail": detail}), status_code=422)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
    """405 whose Allow header lists every method of the path (Starlette names only the first route's, and a path
    such as /shops/{shop_id}/inspections has a GET route and a POST route)."""
    routes = request.app.router.routes
    allowed = [m for m in _METHODS if any(r.matches({**request.scope, "method": m})[0] is Match.FULL for r in routes)]
    return JSONResponse({"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": ", ".join(allowed)})


def create_app(
    cfg: Config,
    engine: Engine,
    workflow: Workflow,
    *,
    snapshot_dir: Path,
    upload_dir: Path,
    camera_status: Callable[[], list[dict[str, Any]]] | None = None,
    camera_control: CameraControl | None = None,
) -> FastAPI:
    """`camera_status()` lists what the running cameras report; `camera_control` lets operators confirm a moved
    camera's view and makes the camera process reload a changed baseline. Both None when no cameras run here."""
    app = FastAPI(
        title="frontage operator API",
        version="1.0.0",
        description="Cases from the frontage cameras, their ledger and evidence, and the actions people take on "
        "them. Authenticate with `Authorization: Bearer <token>` (tokens and roles come from the config's "
        "api.tokens). Merchants see only their own shop; other shops' cases answer 404.",
    )
    app.state.ctx = AppContext(
        cfg, engine, workflow, Path(snapshot_dir), Path(upload_dir), camera_status, camera_control
    )
    app.state.tokens = TokenStore(cfg.api.tokens)
    app.state.limiter = RateLimiter(cfg.district.reports)  # citizen reports: the JSON API and the HTML form
    app.state.registry, requests = make_registry(engine, camera_status)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(405, _method_not_allowed)

    upload_limit = cfg.api.max_upload_bytes + FORM_OVERHEAD

    def body_limit(scope: Scope) -> int:
        if _ZONES_PATH.match(scope["path"]):
            return ZONES_BODY_LIMIT
        return upload_limit if _UPLOAD_PATH.match(scope["path"]) else JSON_BODY_LIMIT

    app.add_middleware(BodyLimit, limit_for=body_limit)
    app.add_middleware(CountRequests, counter=requests)
    routers = (routes_cases, routes_upload, routes_meta, routes_shops, routes_cameras, routes_reports, routes_credit,
               routes_evidence)  # fmt: skip
    for module in (*routers, routes_insights, routes_zones, routes_frames, routes_public, pages):
        app.include_router(module.router)
    pages.mount_static(app)
    return app
