"""Credit scores and red/black lists for staff, the public lists, /stats with the voluntary-fix rate, and the
monthly report as CSV and PDF."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.auth import Admin, Staff
from api.context import Ctx, invalid
from api.routes_cases import IsoDateTime, _utc
from api.schemas import errors
from api.schemas_credit import (
    ContributionOut,
    PartyDetail,
    PartyEventOut,
    PartyPage,
    PartySummary,
    PublicListEntry,
    PublicLists,
    PublicShop,
    RecomputeOut,
    ShopBrief,
    Standing,
    StatsOut,
)
from register.credit import standing as standing_of
from register.db import CreditScoreRow, PartyEventRow, ShopRow
from register.lists import explain, lists, party_shops, recompute
from register.monthly import MONTH_PATTERN, build_report, month_bounds, report_csv, report_pdf
from register.stats import case_stats

router = APIRouter(tags=["credit"])

ONE_LINE = r"^[^\x00-\x1f\x7f]+$"  # no control characters (PostgreSQL refuses NUL in text)
Street = Annotated[
    str | None, Query(min_length=1, max_length=100, pattern=ONE_LINE, description="Only this street (街道).")
]
Month = Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM, in the config's timezone.")]


def _briefs(rows: list[ShopRow]) -> list[ShopBrief]:
    return [ShopBrief(id=r.id, name=r.name, street=r.street) for r in rows]


@router.get("/credit/parties", response_model=PartyPage, responses=errors(401, 403),
            summary="Parties' scores and standing")  # fmt: skip
def list_parties(
    ctx: Ctx,
    who: Staff,
    standing: Annotated[Standing | None, Query(description="Only parties with this standing.")] = None,
    street: Street = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, pattern=ONE_LINE,
                                   description="Text in the party's id or name, or in one of its shops' names "
                                   "(any case).")] = None,  # fmt: skip
    order: Annotated[Literal["worst", "best"], Query(description="Lowest scores first, or highest.")] = "worst",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> PartyPage:
    where = []
    if standing is not None:
        where.append(CreditScoreRow.standing == standing)
    if street is not None:
        where.append(CreditScoreRow.party_id.in_(select(ShopRow.party_id).where(ShopRow.street == street)))
    if q is not None:
        named = select(ShopRow.party_id).where(
            or_(ShopRow.name.icontains(q, autoescape=True), ShopRow.party_name.icontains(q, autoescape=True))
        )
        where.append(or_(CreditScoreRow.party_id.icontains(q, autoescape=True), CreditScoreRow.party_id.in_(named)))
    by_score = CreditScoreRow.score if order == "worst" else CreditScoreRow.score.desc()
    with Session(ctx.engine) as s:
        total = s.scalar(select(func.count()).select_from(CreditScoreRow).where(*where)) or 0
        rows = s.scalars(
            select(CreditScoreRow)
            .where(*where)
            .order_by(by_score, CreditScoreRow.party_id)
            .limit(limit)
            .offset(offset)
        ).all()
        shops = party_shops(s, [r.party_id for r in rows])
        items = [
            PartySummary(
                party_id=r.party_id,
                party_name=shops[r.party_id][0].party_name if shops[r.party_id] else r.party_id,
                score=r.score,
                standing=r.standing,
                computed_at=r.computed_at,
                shops=_briefs(shops[r.party_id]),
            )
            for r in rows
        ]
    return PartyPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/credit/parties/{party_id}", response_model=PartyDetail, responses=errors(401, 403, 404),
            summary="One party's score now, each contribution with its case and date, and its list events")  # fmt: skip
def get_party(
    party_id: Annotated[str, PathParam(min_length=1, max_length=100, pattern=ONE_LINE)], ctx: Ctx, who: Staff
) -> PartyDetail:
    credit = ctx.cfg.district.credit
    sc = explain(ctx.engine, ctx.cfg, party_id, ctx.workflow.clock.now())
    with Session(ctx.engine) as s:
        stored = s.get(CreditScoreRow, party_id)
        shops = party_shops(s, [party_id])[party_id]
        events = s.scalars(
            select(PartyEventRow).where(PartyEventRow.party_id == party_id).order_by(PartyEventRow.at, PartyEventRow.id)
        ).all()
        if stored is None and not shops and not events and not sc.contributions:
            raise HTTPException(404, f"no party {party_id}")
        return PartyDetail(
            party_id=party_id,
            party_name=shops[0].party_name if shops else party_id,
            score=sc.score,
            standing=standing_of(sc.score, credit),
            listed_score=stored.score if stored else None,
            listed_standing=stored.standing if stored else None,
            computed_at=stored.computed_at if stored else None,
            base=credit.base,
            window_days=credit.window_days,
            red_at=credit.red_at,
            black_at=credit.black_at,
            shops=_briefs(shops),
            contributions=[
                ContributionOut(**c.__dict__, case_url=f"/cases/{c.case_id}" if c.case_id is not None else None)
                for c in sc.contributions
            ],
            events=[PartyEventOut(id=e.id, at=e.at, kind=e.kind, score=e.score, reason=e.reason) for e in events],
        )


@router.post("/credit/recompute", response_model=RecomputeOut, responses=errors(401, 403),
             summary="Recompute every party's score and list standing now (admins)")  # fmt: skip
def post_recompute(ctx: Ctx, who: Admin) -> RecomputeOut:
    s = recompute(ctx.engine, ctx.cfg, ctx.workflow.clock.now())
    return RecomputeOut(parties=s.parties, red=s.red, black=s.black, events=s.events, facts=s.facts,
                        computed_at=s.computed_at)  # fmt: skip


@router.get("/public/lists", response_model=PublicLists, summary="The red and black lists (public, no login)",
            description="Shop names, streets and scores only: no party names, contact people or phones.")  # fmt: skip
def public_lists(ctx: Ctx, response: Response, street: Street = None) -> PublicLists:
    red, black = lists(ctx.engine, street)
    with Session(ctx.engine) as s:
        computed = s.scalar(select(func.max(CreditScoreRow.computed_at)))
    credit = ctx.cfg.district.credit
    response.headers["Cache-Control"] = "public, max-age=60"

    def public(entries) -> list[PublicListEntry]:
        return [
            PublicListEntry(shops=[PublicShop(name=sh.name, street=sh.street) for sh in e.shops], score=e.score,
                            since=e.since)  # fmt: skip
            for e in entries
        ]

    return PublicLists(red=public(red), black=public(black), red_at=credit.red_at, black_at=credit.black_at,
                       computed_at=computed)  # fmt: skip


@router.get("/stats", response_model=StatsOut, responses=errors(401, 403),
            summary="Cases by kind and source, and the voluntary-fix rate, for a period, street or shop")  # fmt: skip
def get_stats(
    ctx: Ctx,
    who: Staff,
    from_: Annotated[IsoDateTime | None, Query(alias="from", description="Opened at or after (ISO 8601 with offset).")]
    = None,
    to: Annotated[IsoDateTime | None, Query(description="Opened before (ISO 8601 with offset).")] = None,
    street: Street = None,
    shop_id: Annotated[str | None, Query(min_length=1, max_length=100, pattern=ONE_LINE)] = None,
) -> StatsOut:
    start, end = _utc(from_, "from"), _utc(to, "to")  # `to` before `from` is an empty period, like GET /cases
    with Session(ctx.engine) as s:
        st = case_stats(s, start, end, street=street, shop_id=shop_id)
    return StatsOut(from_=start, to=end, street=street, shop_id=shop_id, **st.__dict__)


def _report(ctx, month: str, street: str | None):
    try:
        month_bounds(month, ctx.cfg.tz)
    except ValueError as exc:
        raise invalid(("query", "month"), str(exc), month) from None
    return build_report(ctx.engine, ctx.cfg, month, street, ctx.workflow.clock.now())


def _filename(month: str, street: str | None, ext: str) -> str:
    return f"frontage-report-{month}{'-street' if street else ''}.{ext}"  # street names may be any script


@router.get("/reports/monthly.csv", response_class=Response, summary="The monthly report as CSV (tidy rows)",
            responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 with a BOM; one fact per row."},
                       **errors(401, 403)})  # fmt: skip
def monthly_csv(ctx: Ctx, who: Staff, month: Month, street: Street = None) -> Response:
    body = "\ufeff" + report_csv(_report(ctx, month, street))
    disposition = f'attachment; filename="{_filename(month, street, "csv")}"'
    return Response(body.encode(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": disposition})  # fmt: skip


@router.get("/reports/monthly.pdf", response_class=Response, summary="The monthly report as PDF, with a chart",
            responses={200: {"content": {"application/pdf": {}}, "description": "The report."},
                       **errors(401, 403)})  # fmt: skip
def monthly_pdf(ctx: Ctx, who: Staff, month: Month, street: Street = None) -> Response:
    pdf = report_pdf(_report(ctx, month, street))
    disposition = f'attachment; filename="{_filename(month, street, "pdf")}"'
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})
