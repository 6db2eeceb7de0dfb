"""Public HTML pages behind a shop's signboard QR code, a reporter's tracking page, and the inspector's sign-in.

No login for citizens. Any code that does not resolve (revoked, rotated, guessed, garbage) gets the very same
invalid page and status on every route, after the same work (register.signboards.resolve_code). Inspectors sign
in with their token once; the cookie holds a session (it names the token's holder and role and expires), never the
token, signed with a key derived from the district's signboard key in the store, so every `frontage serve` worker
accepts it and a restart keeps people signed in. Every inspection form, and the sign-out form, carries a CSRF token
derived from the cookie. Pages that carry that token or the inspector's name are sent `private, no-store`; the
others `no-cache`. These are pages, not API: their JSON twins are /public/reports and /shops/{id}/inspections.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
from pathlib import Path
from urllib.parse import urlsplit

import cv2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from api.auth import Principal
from api.context import AppContext
from api.pages import HEADERS
from api.public_pages import (
    INVALID_PAGE,
    FormState,
    InspectorSession,
    ShopView,
    inspection_done_page,
    login_page,
    not_found_page,
    shop_page,
    signed_in_page,
    status_page,
)
from dispatch.db import CaseRow
from dispatch.evidence import public_view
from dispatch.lifecycle import CaseState
from frontage.config import Duty, Role
from register.db import CitizenReportRow, CreditScoreRow, ShopRow
from register.inspections import InspectionRefused, record_inspection
from register.reports import ReportRefused, report_status, submit_report
from register.signboards import resolve_code, signing_key

router = APIRouter(include_in_schema=False)

COOKIE = "frontage_session"
SESSION_S = 12 * 3600  # one working day; then sign in again
OPEN_STATES = [s.value for s in (CaseState.reported, CaseState.detected, CaseState.reminded, CaseState.escalated)]
FORM_LIMITS = {"max_files": 2, "max_fields": 12, "max_part_size": 64 * 1024}
SIGN_IN_ROLES = (Role.inspector, Role.admin)
PRIVATE = {"Cache-Control": "private, no-store"}  # pages with a CSRF token or the signed-in inspector's name


def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx


def html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers={**HEADERS, **(headers or {})})


def invalid_code() -> HTMLResponse:
    """The one answer to every code that does not resolve."""
    return html(INVALID_PAGE, 404)


# --- sessions -----------------------------------------------------------------------------------------------


def session_key(base: bytes) -> bytes:
    return hmac.new(base, b"frontage-session", hashlib.sha256).digest()


def _key(request: Request) -> bytes:
    """The session key: HMAC(the district's signboard signing key, "frontage-session"), read from the store (or
    the config) once per request, so every worker process and every restart agree on it. Rotating the signboard
    key (`frontage signboards rotate`, or a new district.signboard_key) therefore signs every inspector out, and
    the CSRF tokens derived from their cookies die with them."""
    key = getattr(request.state, "session_key", None)
    if key is None:
        ctx = _ctx(request)
        key = request.state.session_key = session_key(signing_key(ctx.engine, ctx.cfg, ctx.workflow.clock.now()))
    return key


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _sign(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())


def make_session(key: bytes, who: Principal, now_s: float) -> str:
    body = {"n": who.name, "r": who.role.value, "s": who.shop_id, "e": int(now_s) + SESSION_S}
    payload = _b64(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{payload}.{_sign(key, payload)}"


def read_session(key: bytes, value: str | None, now_s: float) -> Principal | None:
    """The principal a cookie names, when its signature holds and it has not expired."""
    if not value or len(value) > 2000 or value.count(".") != 1:
        return None
    payload, sig = value.split(".")
    if not hmac.compare_digest(_sign(key, payload), sig):
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        who = Principal(str(body["n"]), Role(body["r"]), body.get("s"))
        expires = float(body["e"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
    return who if now_s < expires else None


def csrf_for(key: bytes, cookie: str) -> str:
    return _sign(key, "csrf|" + cookie)[:32]


def _now_s(ctx: AppContext) -> float:
    return ctx.workflow.clock.now().timestamp()


def _inspector(request: Request, ctx: AppContext) -> tuple[Principal, str] | None:
    """The signed-in inspector (or admin) and the cookie, or None."""
    cookie = request.cookies.get(COOKIE)
    who = read_session(_key(request), cookie, _now_s(ctx))
    if who is None or who.role not in SIGN_IN_ROLES:
        return None
    return who, cookie or ""


def _safe_next(path: str | None) -> str:
    """Only this site's own paths: no open redirect to another host. Browsers drop tabs and newlines from a URL
    and read a backslash as a slash, so "/<TAB>/evil.example" would become //evil.example: any control character,
    space or backslash refuses the path, and what is left must parse with no scheme, no host and one leading "/"."""
    if not path or len(path) > 600 or "\\" in path or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in path):
        return "/login"
    try:
        parts = urlsplit(path)
    except ValueError:
        return "/login"
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return "/login"
    return path


# --- the shop page ------------------------------------------------------------------------------------------


def _frontage_camera(ctx: AppContext, shop_id: str) -> tuple[str, list[list[tuple[float, float]]]] | None:
    """The shop's first frontage camera and the shop's polygons on it (from the config)."""
    shop = next((s for s in ctx.cfg.shops if s.id == shop_id), None)
    if shop is None or not shop.frontages:
        return None
    cam = shop.frontages[0].camera_id
    return cam, [[tuple(p) for p in f.polygon] for f in shop.frontages if f.camera_id == cam]


def view_file(ctx: AppContext, camera_id: str) -> Path:
    return ctx.snapshot_dir / "views" / f"{camera_id}.jpg"


def _shop_view(ctx: AppContext, shop: ShopRow, code: str) -> ShopView:
    with Session(ctx.engine) as s:
        counts = s.execute(
            select(CaseRow.kind, func.count())
            # a case routed to another party (a shared bike's operator) stands here, but is not the shop's doing
            .where(CaseRow.shop_id == shop.id, CaseRow.state.in_(OPEN_STATES), CaseRow.routed_by.is_(None))
            .group_by(CaseRow.kind)
        ).all()
        standing = s.scalar(select(CreditScoreRow.standing).where(CreditScoreRow.party_id == shop.party_id))
    cam = _frontage_camera(ctx, shop.id)
    listed = {str(d) for d in shop.duties or []}
    return ShopView(
        code=code,
        name=shop.name,
        address=shop.address,
        street=shop.street,
        community=shop.community,
        party_name=shop.party_name,
        duties=tuple(d for d in Duty if d.value in listed),
        open_cases={kind: n for kind, n in counts},
        standing=standing or "none",
        hotline=ctx.cfg.district.hotline,
        has_view=cam is not None and view_file(ctx, cam[0]).is_file(),
    )


def _session_view(request: Request, ctx: AppContext) -> InspectorSession | None:
    found = _inspector(request, ctx)
    if found is None:
        return None
    who, cookie = found
    return InspectorSession(who.name, csrf_for(_key(request), cookie))


@router.get("/s/{code}")
def shop_public_page(code: str, request: Request) -> HTMLResponse:
    ctx = _ctx(request)
    shop = resolve_code(ctx.engine, ctx.cfg, code)
    if shop is None:
        return invalid_code()
    session = _session_view(request, ctx)
    body = shop_page(_shop_view(ctx, shop, code), inspector=session)
    return html(body, headers=PRIVATE if session is not None else {"Vary": "Cookie"})


@router.get("/s/{code}/view.jpg")
def shop_view_picture(code: str, request: Request) -> Response:
    """The latest public view of the shop's frontage camera (people blurred by the camera process) with this
    shop's polygon drawn on it."""
    ctx = _ctx(request)
    shop = resolve_code(ctx.engine, ctx.cfg, code)
    if shop is None:
        return invalid_code()
    cam = _frontage_camera(ctx, shop.id)
    path = view_file(ctx, cam[0]) if cam is not None else None
    img = cv2.imread(str(path)) if path is not None and path.is_file() else None
    if img is None:
        return html(not_found_page("暂无画面", "No picture yet"), 404)
    jpeg = public_view(img, [], cam[1])
    return Response(jpeg, media_type="image/jpeg", headers={**HEADERS, "Cache-Control": "no-cache"})


# --- citizens' reports --------------------------------------------------------------------------------------


async def _photo(form, limit: int) -> bytes | None:
    item = form.get("photo")
    if not isinstance(item, UploadFile):
        return None
    data = await item.read(limit + 1)  # the register answers 413 for limit + 1
    return data or None


def _text(form, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@router.post("/s/{code}/report")
async def shop_report(code: str, request: Request) -> Response:
    ctx = _ctx(request)
    shop = resolve_code(ctx.engine, ctx.cfg, code)
    if shop is None:
        return invalid_code()
    values = {"category": "", "description": "", "contact": ""}
    try:
        form = await request.form(**FORM_LIMITS)
    except Exception as exc:  # starlette's MultiPartException and the like: a malformed form
        return _report_refused(request, ctx, shop, code, values, ReportRefused(400, f"malformed form: {exc}"))
    values = {k: _text(form, k) for k in values}
    try:
        receipt = submit_report(
            ctx.engine, ctx.workflow, ctx.cfg, shop_id=shop.id, category=values["category"],
            description=values["description"], contact=values["contact"],
            photo=await _photo(form, ctx.cfg.district.reports.max_photo_bytes),
            client=request.client.host if request.client is not None else "unknown",
            snapshot_dir=ctx.snapshot_dir, now=ctx.workflow.clock.now(), limiter=request.app.state.limiter,
        )  # fmt: skip
    except ReportRefused as exc:
        return _report_refused(request, ctx, shop, code, values, exc)
    return RedirectResponse(f"/r/{receipt.tracking_code}", status_code=303, headers=HEADERS)


def _report_refused(request: Request, ctx: AppContext, shop: ShopRow, code: str, values: dict[str, str],
                    exc: ReportRefused) -> HTMLResponse:  # fmt: skip
    headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))} if exc.retry_after_s else {}
    session = _session_view(request, ctx)
    body = shop_page(_shop_view(ctx, shop, code), report=FormState(exc.reason, values), inspector=session)
    return html(body, exc.status, {**headers, **(PRIVATE if session is not None else {})})


@router.get("/r/{tracking_code}")
def report_tracking_page(tracking_code: str, request: Request) -> HTMLResponse:
    ctx = _ctx(request)
    found = report_status(ctx.engine, tracking_code[:40], shop_name=ctx.shop_name)
    if found is None:
        return html(not_found_page("没有这个查询码", "No report with that tracking code"), 404)
    with Session(ctx.engine) as s:
        said = s.scalar(
            select(CitizenReportRow.description).where(CitizenReportRow.tracking_code == found["tracking_code"])
        )
    return html(status_page(found, ctx.cfg.timezone, said or ""))


# --- inspectors ---------------------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, next: str = "/login") -> HTMLResponse:
    ctx = _ctx(request)
    found = _inspector(request, ctx)
    if found is not None:
        return html(signed_in_page(found[0].name, _safe_next(next)), headers=PRIVATE)
    return html(login_page(_safe_next(next)))


@router.post("/login")
async def login(request: Request) -> Response:
    ctx = _ctx(request)
    try:
        form = await request.form(**FORM_LIMITS)
    except Exception:
        return html(login_page("/login", "表单有误 · Malformed form"), 400)
    token, next_path = _text(form, "token"), _safe_next(_text(form, "next"))
    who = request.app.state.tokens.lookup(token) if token else None
    if who is None:
        return html(login_page(next_path, "令牌无效 · Token not valid"), 401)
    if who.role not in SIGN_IN_ROLES:
        return html(login_page(next_path, "此处仅供巡查员登录 · This sign-in is for inspectors"), 403)
    response = RedirectResponse(next_path, status_code=303, headers={**HEADERS, **PRIVATE})
    response.set_cookie(COOKIE, make_session(_key(request), who, _now_s(ctx)), max_age=SESSION_S, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https", path="/")  # fmt: skip
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Sign out: the form's CSRF field must match the cookie's (403 without it), so no other site can sign an
    inspector out. Without a valid session there is nothing to protect: the cookie is cleared either way."""
    ctx = _ctx(request)
    found = _inspector(request, ctx)
    if found is not None:
        try:
            form = await request.form(**FORM_LIMITS)
        except Exception:
            form = None
        expected = csrf_for(_key(request), found[1])
        if form is None or not hmac.compare_digest(_text(form, "csrf").encode(), expected.encode()):
            return html(not_found_page("表单已过期，请返回重试", "The form expired; go back and try again"), 403)
    response = RedirectResponse("/login", status_code=303, headers={**HEADERS, **PRIVATE})
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


@router.post("/s/{code}/inspection")
async def shop_inspection(code: str, request: Request) -> Response:
    ctx = _ctx(request)
    shop = resolve_code(ctx.engine, ctx.cfg, code)
    if shop is None:
        return invalid_code()
    found = _inspector(request, ctx)
    if found is None:
        return html(login_page(f"/s/{code}", "请先登录 · Please sign in first"), 401)
    who, cookie = found
    try:
        form = await request.form(**FORM_LIMITS)
    except Exception:
        form = None
    expected = csrf_for(_key(request), cookie)
    if form is None or not hmac.compare_digest(_text(form, "csrf").encode(), expected.encode()):
        return html(not_found_page("表单已过期，请返回重试", "The form expired; go back and try again"), 403)
    results = {d: _text(form, d.value) == "pass" for d in Duty if _text(form, d.value) in ("pass", "fail")}
    values = {d.value: _text(form, d.value) for d in Duty} | {"note": _text(form, "note")}
    view = _shop_view(ctx, shop, code)
    try:
        done = record_inspection(
            ctx.engine, ctx.workflow, ctx.cfg, shop_id=shop.id, inspector=who.name, results=results,
            note=values["note"], photo=await _photo(form, ctx.cfg.district.reports.max_photo_bytes),
            snapshot_dir=ctx.snapshot_dir, now=ctx.workflow.clock.now(),
        )  # fmt: skip
    except InspectionRefused as exc:
        session = InspectorSession(who.name, expected)
        body = shop_page(view, inspector=session, inspection=FormState(exc.reason, values))
        return html(body, exc.status, PRIVATE)
    body = inspection_done_page(view, done.passed, done.case_id, done.resolved, done.not_inspected)
    return html(body, headers=PRIVATE)


@router.api_route("/s/{rest:path}", methods=["GET", "POST"])
def any_other_code_path(rest: str, request: Request) -> HTMLResponse:
    """Codes with a slash in them and paths under a code that do not exist: the same invalid page, same work."""
    ctx = _ctx(request)
    resolve_code(ctx.engine, ctx.cfg, rest)
    return invalid_code()
