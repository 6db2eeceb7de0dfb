"""Who am I, cameras, health and metrics: what operators (and Prometheus) need around the cases."""

from __future__ import annotations

import datetime as dt
import math

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.auth import CurrentPrincipal, Staff
from api.context import Ctx
from api.schemas import CameraOut, HealthOut, MeOut, errors

router = APIRouter()


@router.get("/me", response_model=MeOut, responses=errors(401), tags=["meta"], summary="Who this token is")
def me(who: CurrentPrincipal, ctx: Ctx) -> MeOut:
    return MeOut(name=who.name, role=who.role, shop_id=who.shop_id, timezone=ctx.cfg.timezone)


@router.get(
    "/cameras",
    response_model=list[CameraOut],
    responses=errors(401, 403),
    tags=["cameras"],
    summary="Cameras and what their readers report (operators and admins)",
)
def list_cameras(ctx: Ctx, who: Staff) -> list[CameraOut]:
    reported: dict[str, dict] = {}
    for entry in ctx.camera_status() if ctx.camera_status else []:
        cam_id = str(entry.get("id", entry.get("camera_id", "")))
        reported[cam_id] = {k: v for k, v in entry.items() if k not in ("id", "camera_id")}
    out = []
    for cam in ctx.cfg.cameras:  # never the source: an rtsp:// URL may carry credentials
        out.append(_camera_out(cam.id, cam.name, cam.width, cam.height, reported.pop(cam.id, {})))
    for cam_id, extra in sorted(reported.items()):  # reported but not configured: show it, it is news
        out.append(_camera_out(cam_id, "", None, None, extra))
    return out


def _camera_out(cam_id: str, name: str, width: int | None, height: int | None, reported: dict) -> CameraOut:
    """One row: the reader's state and view fields lifted out of what it reports, the rest as detail."""
    extra = dict(reported)
    state = str(extra.pop("state", "unknown"))
    extra.pop("source", None)
    view_state = extra.pop("view_state", None)
    since = extra.pop("view_since", None)
    shift = extra.pop("view_shift_px", None)
    version = extra.pop("baseline_version", None)
    return CameraOut(
        id=cam_id,
        name=name,
        width=width,
        height=height,
        state=state,
        view_state=None if view_state is None else str(view_state),
        view_reason=str(extra.pop("view_reason", None) or ""),
        view_since=_time(since),
        view_shift_px=float(shift) if _is_number(shift) else None,
        baseline_version=int(version) if _is_number(version) else None,
        detail=extra,
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _time(value: object) -> dt.datetime | None:
    """An aware datetime from what the reader reports (ISO text or a datetime); anything else is not shown."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value
    return None


@router.get(
    "/healthz",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "The database does not answer."}},
    tags=["meta"],
    summary="Liveness and database check (no auth)",
)
def healthz(ctx: Ctx) -> HealthOut | JSONResponse:
    try:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        body = HealthOut(status="error", database=type(exc).__name__)
        return JSONResponse(body.model_dump(), status_code=503)
    return HealthOut(status="ok", database="ok")


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format."},
        **errors(401, 403),
    },  # fmt: skip
    tags=["meta"],
    summary="Prometheus metrics (operators and admins; scrape with a bearer token)",
)
def metrics(request: Request, who: Staff) -> Response:
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
