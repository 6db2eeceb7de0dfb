"""Server-rendered HTML for the public shop pages (/s/{code}), report status (/r/{code}) and inspector sign-in.

Pure functions from plain data to HTML strings: no scripts at all (the strict CSP of the review page allows
none inline), Chinese first with English beside it, phone-first CSS in /static/public.css. Every dynamic string
goes through `esc` (html.escape with quotes), so a report's text shows as text wherever it appears.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from zoneinfo import ZoneInfo

from frontage.config import DUTY_LABELS, Duty

CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("piled_materials", "堆物堆料", "Goods or materials piled up"),
    ("out_of_store_trading", "店外经营", "Trading outside the shop"),
    ("illegal_parking", "乱停车", "Vehicles parked on the pavement"),
    ("litter", "垃圾", "Litter"),
    ("other", "其他", "Something else"),
)
KIND_LABELS: dict[str, tuple[str, str]] = {
    **{value: (zh, en) for value, zh, en in CATEGORIES},
    "inspection_failed": ("巡查不合格", "Failed inspection"),
}
STATE_WORDS: dict[str, tuple[str, str]] = {
    "reported": ("已受理，等待工作人员核实", "Received; staff will check it"),
    "detected": ("已核实，已通知商户整改", "Confirmed; the shop has been asked to fix it"),
    "reminded": ("已提醒商户整改", "The shop has been reminded to fix it"),
    "resolved": ("已整改", "Fixed"),
    "escalated": ("已移交城市管理部门处理", "Passed to the city's enforcement team"),
    "closed": ("已办结", "Closed by the city"),
    "dismissed": ("经核实不属于违规，已结案", "Checked: not a violation; closed"),
}
STANDING_WORDS: dict[str, tuple[str, str, str]] = {
    "red": ("红榜", "On the red list (well kept)", "red"),
    "black": ("黑榜", "On the black list (repeated problems)", "black"),
    "none": ("未上榜", "On neither list", "none"),
}


def esc(value: object) -> str:
    """Every dynamic string on these pages passes through here."""
    return escape(str(value), quote=True)


def bi(zh: str, en: str, tag: str = "span") -> str:
    """Chinese first, English beside it (both trusted literals or escaped by the caller)."""
    return f'<{tag} class="bi"><span lang="zh-CN">{zh}</span> <span class="en" lang="en">{en}</span></{tag}>'


def page(title: str, body: str, *, banner: str = "") -> str:
    """A whole document: viewport for phones, the page's CSS, no scripts."""
    return (
        '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{esc(title)}</title>"
        '<link rel="icon" href="/favicon.svg" type="image/svg+xml">'
        '<link rel="stylesheet" href="/static/public.css"></head><body>'
        f'<header class="top">{bi("门前三包", "Frontage duties")}{banner}</header>'
        f"<main>{body}</main></body></html>"
    )


INVALID_PAGE = page(
    "二维码无效 · Code not valid",
    '<section class="card invalid">'
    + bi("此二维码已失效或无效", "This code is no longer valid", "h1")
    + bi(
        "可能已被更换。请重新扫描商铺门前的二维码，或拨打监督电话。",
        "It may have been replaced. Scan the code on the shop again, or call the hotline.",
        "p",
    )
    + "</section>",
)


def not_found_page(zh: str, en: str) -> str:
    return page("未找到 · Not found", f'<section class="card invalid">{bi(esc(zh), esc(en), "h1")}</section>')


@dataclass(frozen=True)
class ShopView:
    """What a shop's public page may show: the responsible party (the business), never a person's name (the
    责任人 is printed on the signboard only), a phone number or any other personal data."""

    code: str
    name: str
    address: str
    street: str
    community: str
    party_name: str
    duties: tuple[Duty, ...]
    open_cases: Mapping[str, int]  # kind -> how many open now
    standing: str  # red | black | none
    hotline: str
    has_view: bool


@dataclass(frozen=True)
class FormState:
    """A form re-rendered after a refusal: what was typed (photos are never echoed) and the reason."""

    error: str = ""
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InspectorSession:
    name: str
    csrf: str


def _shop_header(shop: ShopView) -> str:
    place = " · ".join(esc(p) for p in (shop.address, shop.community, shop.street) if p)
    duties = (
        "".join(f"<li>{bi(esc(DUTY_LABELS[d][0]), esc(DUTY_LABELS[d][1]))}</li>" for d in shop.duties)
        or f"<li>{bi('未登记', 'None on record')}</li>"
    )
    return (
        f'<section class="card shop"><h1 class="shop-name">{esc(shop.name)}</h1>'
        f'<p class="place">{place}</p>'
        f'<dl><dt>{bi("责任单位", "Responsible party")}</dt><dd class="party">{esc(shop.party_name)}</dd>'
        f'<dt>{bi("责任内容", "Duties")}</dt><dd><ul class="duties">{duties}</ul></dd></dl></section>'
    )


def _status(shop: ShopView) -> str:
    total = sum(shop.open_cases.values())
    if total:
        items = "".join(
            f"<li>{bi(esc(KIND_LABELS.get(k, (k, k))[0]), esc(KIND_LABELS.get(k, (k, k))[1]))}: {n}</li>"
            for k, n in sorted(shop.open_cases.items())
        )
        cases = f'<p class="open">{bi(f"正在处理的问题 {total} 件", f"{total} open case(s) now")}</p><ul>{items}</ul>'
    else:
        cases = f'<p class="clear">{bi("目前没有正在处理的问题", "No open case now")}</p>'
    zh, en, cls = STANDING_WORDS.get(shop.standing, STANDING_WORDS["none"])
    return (
        f'<section class="card status"><h2>{bi("当前状态", "Status now")}</h2>{cases}'
        f'<p class="standing standing-{cls}">{bi("红黑榜", "Red/black list")}: {bi(zh, en)}</p>'
        f'<p class="hotline">{bi("监督电话", "Hotline")}: '
        f'<a href="tel:{esc(shop.hotline)}">{esc(shop.hotline)}</a></p></section>'
    )


def _view(shop: ShopView) -> str:
    if shop.has_view:
        img = (
            f'<img class="view" src="/s/{esc(shop.code)}/view.jpg" width="640" height="360" '
            f'alt="门前责任区 · The frontage">'
        )
        note = bi("黄色区域为本店门前责任区；画面中的人已模糊处理。", "Yellow: this shop's frontage. People blurred.")
        title = bi("门前责任区", "The frontage")
        return f'<section class="card"><h2>{title}</h2>{img}<p class="hint">{note}</p></section>'
    return (
        f'<section class="card"><h2>{bi("门前责任区", "The frontage")}</h2>'
        f'<p class="hint no-view">{bi("暂无画面", "No picture yet")}</p></section>'
    )


def _error(state: FormState | None) -> str:
    if state is None or not state.error:
        return ""
    return f'<p class="error" role="alert">{esc(state.error)}</p>'


def report_form(shop: ShopView, state: FormState | None = None) -> str:
    values = state.values if state is not None else {}
    chosen = values.get("category", "")
    options = "".join(
        f'<label class="choice"><input type="radio" name="category" value="{v}" required'
        f"{' checked' if v == chosen else ''}> {bi(zh, en)}</label>"
        for v, zh, en in CATEGORIES
    )
    return (
        f'<section class="card report" id="report"><h2>{bi("我要反映问题", "Report a problem")}</h2>{_error(state)}'
        f'<form method="post" action="/s/{esc(shop.code)}/report" enctype="multipart/form-data">'
        f"<fieldset><legend>{bi('问题类型', 'What is wrong')}</legend>{options}</fieldset>"
        f'<label for="photo">{bi("照片", "Photo")}</label>'
        '<input id="photo" name="photo" type="file" accept="image/jpeg,image/png,image/webp" required>'
        f'<label for="description">{bi("情况描述", "Description")}</label>'
        f'<textarea id="description" name="description" rows="4" maxlength="2000">'
        f"{esc(values.get('description', ''))}</textarea>"
        f'<label for="contact">{bi("联系方式（选填，仅工作人员可见）", "Contact (optional, staff only)")}</label>'
        f'<input id="contact" name="contact" type="text" maxlength="200" autocomplete="off" '
        f'value="{esc(values.get("contact", ""))}">'
        f'<button type="submit">{bi("提交", "Send")}</button></form></section>'
    )


def inspection_form(shop: ShopView, who: InspectorSession, state: FormState | None = None) -> str:
    values = state.values if state is not None else {}
    rows = []
    for d in shop.duties or tuple(Duty):
        zh, en = DUTY_LABELS[d]
        picked = values.get(d.value, "")
        radios = "".join(
            f'<label class="choice"><input type="radio" name="{d.value}" value="{v}"'
            f"{' checked' if picked == v else ''}> {bi(z, e)}</label>"
            for v, z, e in (("pass", "合格", "pass"), ("fail", "不合格", "fail"))
        )
        rows.append(f"<fieldset><legend>{bi(esc(zh), esc(en))}</legend>{radios}</fieldset>")
    return (
        f'<section class="card inspect" id="inspect"><h2>{bi("巡查记录", "Record an inspection")}</h2>'
        f'<p class="hint">{bi("巡查员", "Inspector")}: {esc(who.name)}</p>{_error(state)}'
        f'<form method="post" action="/s/{esc(shop.code)}/inspection" enctype="multipart/form-data">'
        f'<input type="hidden" name="csrf" value="{esc(who.csrf)}">{"".join(rows)}'
        f'<label for="note">{bi("备注", "Note")}</label>'
        f'<textarea id="note" name="note" rows="3" maxlength="2000">{esc(values.get("note", ""))}</textarea>'
        f'<label for="ins-photo">{bi("照片（选填）", "Photo (optional)")}</label>'
        '<input id="ins-photo" name="photo" type="file" accept="image/jpeg,image/png,image/webp">'
        f'<button type="submit">{bi("保存巡查结果", "Save inspection")}</button></form>'
        f'<form method="post" action="/logout" class="logout"><input type="hidden" name="csrf" '
        f'value="{esc(who.csrf)}"><button type="submit" class="link">{bi("退出", "Sign out")}</button></form>'
        "</section>"
    )


def shop_page(
    shop: ShopView,
    *,
    report: FormState | None = None,
    inspector: InspectorSession | None = None,
    inspection: FormState | None = None,
) -> str:
    parts = [_shop_header(shop), _status(shop), _view(shop)]
    if inspector is not None:
        parts.append(inspection_form(shop, inspector, inspection))
    parts.append(report_form(shop, report))
    if inspector is None:
        parts.append(
            f'<p class="signin"><a href="/login?next=/s/{esc(shop.code)}">'
            f"{bi('巡查员登录', 'Inspector sign-in')}</a></p>"
        )
    return page(f"{shop.name} · 门前三包", "".join(parts))


def _when(at: dt.datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def status_page(status: Mapping[str, object], tz: str, description: str = "") -> str:
    """A reporter's tracking page: category, shop, when, the reporter's own words, where it stands. No contact,
    no photo, nothing of other reports."""
    category = str(status["category"])
    zh, en = KIND_LABELS.get(category, (category, category))
    state = str(status["state"])
    szh, sen = STATE_WORDS.get(state, (state, state))
    received = status["received_at"]
    when = _when(received, tz) if isinstance(received, dt.datetime) else str(received)
    shop_name = status.get("shop_name") or status.get("shop_id") or ""
    body = (
        f'<section class="card tracking"><h1>{bi("反映已收到", "Report received")}</h1>'
        f'<p class="code">{bi("查询码", "Tracking code")}: <strong>{esc(status["tracking_code"])}</strong></p>'
        f'<p class="hint">{bi("请保存本页地址，随时查看处理进度。", "Keep this page to follow your report.")}</p>'
        f"<dl><dt>{bi('商铺', 'Shop')}</dt><dd class='shop-name'>{esc(shop_name)}</dd>"
        f"<dt>{bi('问题类型', 'Category')}</dt><dd>{bi(esc(zh), esc(en))}</dd>"
        f"<dt>{bi('提交时间', 'Received')}</dt><dd>{esc(when)}</dd>"
        f'<dt>{bi("情况描述", "Description")}</dt><dd class="description">{esc(description) or "—"}</dd>'
        f"<dt>{bi('处理进度', 'Where it stands')}</dt>"
        f'<dd class="state state-{esc(state)}">{bi(esc(szh), esc(sen))}</dd>'
        "</dl>"
    )
    if status.get("duplicate"):
        joined = bi("此问题已有人反映，已合并处理。", "Someone reported this already; yours joins it.")
        body += f'<p class="hint">{joined}</p>'
    return page("反映进度 · Report status", body + "</section>")


def login_page(next_path: str, error: str = "") -> str:
    err = f'<p class="error" role="alert">{esc(error)}</p>' if error else ""
    return page(
        "巡查员登录 · Inspector sign-in",
        f'<section class="card login"><h1>{bi("巡查员登录", "Inspector sign-in")}</h1>{err}'
        '<form method="post" action="/login">'
        f'<input type="hidden" name="next" value="{esc(next_path)}">'
        f'<label for="token">{bi("令牌", "Token")}</label>'
        '<input id="token" name="token" type="password" autocomplete="current-password" required>'
        f'<button type="submit">{bi("登录", "Sign in")}</button></form></section>',
    )


def signed_in_page(name: str, next_path: str) -> str:
    return page(
        "已登录 · Signed in",
        f'<section class="card">{bi("已登录", "Signed in", "h1")}<p>{esc(name)}</p>'
        f"<p>{bi('请扫描商铺二维码开始巡查。', 'Scan a shop&#x27;s code to inspect it.')}</p>"
        f'<p><a href="{esc(next_path)}">{bi("继续", "Continue")}</a></p></section>',
    )


def inspection_done_page(shop: ShopView, passed: bool, case_id: int | None, resolved: Iterable[int],
                         not_inspected: Iterable[str] = ()) -> str:  # fmt: skip
    lines = []
    left_out = [DUTY_LABELS[Duty(d)] for d in not_inspected]
    if passed and left_out:
        lines.append(bi("部分合格", "Passed in part", "h1"))
        zh = "、".join(esc(z) for z, _ in left_out)
        en = ", ".join(esc(e) for _, e in left_out)
        said = bi(
            f"未检查：{zh}。全部合格后方可结案。", f"Not inspected: {en}. Nothing is resolved until every duty passes."
        )
        lines.append(f'<p class="partial">{said}</p>')
    elif passed:
        lines.append(bi("巡查合格", "Inspection passed", "h1"))
    else:
        lines.append(bi("巡查不合格", "Inspection failed", "h1"))
    if case_id is not None:
        lines.append(f'<p class="case">{bi(f"已立案 #{case_id}", f"Case #{case_id} opened")}</p>')
    done = list(resolved)
    if done:
        ids = ", ".join(f"#{i}" for i in done)
        lines.append(f'<p class="resolved">{bi(f"已整改结案：{ids}", f"Cases resolved: {ids}")}</p>')
    lines.append(f'<p><a href="/s/{esc(shop.code)}">{bi("返回商铺页面", "Back to the shop")}</a></p>')
    return page("巡查结果 · Inspection", f'<section class="card done"><p class="shop-name">{esc(shop.name)}</p>'
                + "".join(lines) + "</section>")  # fmt: skip
