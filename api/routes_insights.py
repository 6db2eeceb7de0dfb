"""Where and when, for staff: the statistics page's summary (JSON and CSV), a camera's heat map points and the
district map's shops. The numbers are register.insights'; this module only reads the query and shapes the body."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.auth import Staff
from api.context import AppContext, Ctx, invalid
from api.routes_cases import IsoDateTime, _utc
from api.routes_credit import ONE_LINE, Street
from api.schemas import errors
from api.schemas_insights import (
    HeatmapOut,
    HeatPointOut,
    MapSettingsOut,
    MapShopOut,
    RankedOut,
    SeriesOut,
    ShopsMapOut,
    SummaryOut,
    TimeToFixOut,
)
from register import insights
from register.insights import PeriodError, Summary

router = APIRouter(tags=["insights"])

From = Annotated[
    IsoDateTime | None,
    Query(alias="from", description="Opened at or after (ISO 8601 with offset). Default: 30 local days before `to`."),
]
To = Annotated[
    IsoDateTime | None,
    Query(description="Opened before (ISO 8601 with offset). Default: the local midnight after today."),
]
CameraFilter = Annotated[
    str | None, Query(min_length=1, max_length=100, pattern=ONE_LINE, description="Only this camera.")
]
ShopFilter = Annotated[str | None, Query(min_length=1, max_length=100, pattern=ONE_LINE, description="Only this shop.")]
CameraId = Annotated[str, PathParam(min_length=1, max_length=100, pattern=ONE_LINE, description="Camera id.")]
Top = Annotated[int, Query(ge=1, le=100, description="How many shops and cameras the top lists hold.")]


def _period(ctx: AppContext, from_: dt.datetime | None, to: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    start, end = _utc(from_, "from"), _utc(to, "to")
    try:
        return insights.period(start, end, ctx.workflow.clock.now(), ctx.cfg.tz)
    except PeriodError as exc:
        given = {"from": from_, "to": to}[exc.param]
        raise invalid(("query", exc.param), str(exc), given.isoformat() if given else None) from None


def _summary(
    ctx: AppContext,
    from_: dt.datetime | None,
    to: dt.datetime | None,
    street: str | None,
    camera_id: str | None,
    shop_id: str | None,
    top: int,
) -> Summary:
    start, end = _period(ctx, from_, to)
    with Session(ctx.engine) as s:
        return insights.build_summary(s, ctx.cfg, start, end, street, camera_id, shop_id, top)


@router.get("/insights/summary", response_model=SummaryOut, responses=errors(401, 403),
            summary="Cases per day by kind and source, time to fix, the share fixed before escalation, top shops "
            "and cameras")  # fmt: skip
def get_summary(
    ctx: Ctx,
    who: Staff,
    from_: From = None,
    to: To = None,
    street: Street = None,
    camera_id: CameraFilter = None,
    shop_id: ShopFilter = None,
    top: Top = 10,
) -> SummaryOut:
    """Confirmed cases (reached detected, not dismissed) count on the local day they opened, in the config's
    timezone. Time to fix is resolution time minus opening time, over the confirmed cases resolved."""
    s = _summary(ctx, from_, to, street, camera_id, shop_id, top)

    def series(items) -> list[SeriesOut]:
        return [SeriesOut(key=x.key, total=x.total, counts=x.counts) for x in items]

    def ranked(items) -> list[RankedOut]:
        return [RankedOut(id=r.id, name=r.name, cases=r.cases) for r in items]

    return SummaryOut(
        from_=s.start, to=s.end, timezone=s.timezone, street=street, camera_id=camera_id, shop_id=shop_id,
        days=s.days, by_kind=series(s.by_kind), by_source=series(s.by_source), opened=s.opened,
        confirmed=s.confirmed, resolved_before_escalation=s.resolved_before_escalation, escalated=s.escalated,
        dismissed=s.dismissed, share_resolved_before_escalation=s.share_resolved_before_escalation,
        time_to_fix=TimeToFixOut(fixes=s.fixes, median_s=s.time_to_fix_median_s, p90_s=s.time_to_fix_p90_s),
        top_shops=ranked(s.top_shops), top_cameras=ranked(s.top_cameras),
    )  # fmt: skip


@router.get("/insights/summary.csv", response_class=Response, summary="The same summary as CSV (tidy rows)",
            responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 with a BOM; one fact per row."},
                       **errors(401, 403)})  # fmt: skip
def get_summary_csv(
    ctx: Ctx,
    who: Staff,
    from_: From = None,
    to: To = None,
    street: Street = None,
    camera_id: CameraFilter = None,
    shop_id: ShopFilter = None,
    top: Top = 10,
) -> Response:
    s = _summary(ctx, from_, to, street, camera_id, shop_id, top)
    filters = {"street": street, "camera_id": camera_id, "shop_id": shop_id}
    body = "\ufeff" + insights.summary_csv(s, filters)
    name = f"frontage-insights-{s.days[0].isoformat()}-{s.days[-1].isoformat()}.csv"
    return Response(body.encode(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.get("/cameras/{camera_id}/heatmap", response_model=HeatmapOut, responses=errors(401, 403, 404),
            summary="Where a camera's cases of a period stood in the frame (bottom-centre of each box)")  # fmt: skip
def get_heatmap(camera_id: CameraId, ctx: Ctx, who: Staff, from_: From = None, to: To = None) -> HeatmapOut:
    start, end = _period(ctx, from_, to)
    cam = next((c for c in ctx.cfg.cameras if c.id == camera_id), None)
    with Session(ctx.engine) as s:
        if not insights.camera_known(s, ctx.cfg, camera_id):
            raise HTTPException(404, f"no camera {camera_id}")
        points, total = insights.heat_points(s, camera_id, start, end)
        fallback = insights.newest_snapshot_case(s, camera_id)
    return HeatmapOut(
        camera_id=camera_id, name=(cam.name or None) if cam else None, width=cam.width if cam else None,
        height=cam.height if cam else None, from_=start, to=end, total=total,
        points=[HeatPointOut(case_id=p.case_id, kind=p.kind, x=p.x, y=p.y, opened_at=p.opened_at) for p in points],
        snapshot_url=f"/cameras/{quote(camera_id, safe='')}/snapshot.jpg",
        fallback_snapshot_url=f"/cases/{fallback}/snapshot.jpg" if fallback is not None else None,
    )  # fmt: skip


@router.get("/insights/shops-map", response_model=ShopsMapOut, responses=errors(401, 403),
            summary="The district map: shops with a position, their open cases and credit; its tiles")  # fmt: skip
def get_shops_map(ctx: Ctx, who: Staff, street: Street = None) -> ShopsMapOut:
    console, credit = ctx.cfg.console, ctx.cfg.district.credit
    with Session(ctx.engine) as s:
        shops, unplaced = insights.map_shops(s, ctx.cfg, street)
    return ShopsMapOut(
        map=MapSettingsOut(tiles_url=console.map_tiles_url, attribution=console.map_attribution,
                           center=console.map_center, zoom=console.map_zoom),
        base=credit.base, red_at=credit.red_at, black_at=credit.black_at,
        shops=[MapShopOut(**m.__dict__, cases_url=f"/?shop_id={quote(m.shop_id, safe='')}") for m in shops],
        unplaced=unplaced,
    )  # fmt: skip
