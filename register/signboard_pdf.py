"""Printable 门前三包 signboards as PDF (reportlab): one per A4 page, or four per sheet.

Chinese text uses reportlab's built-in CID font STSong-Light (no font file to ship). The QR code comes from segno
at error correction Q with its 4-module quiet zone, drawn as vector runs so it prints sharp at any size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from reportlab.lib.colors import Color, black, white
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from frontage.config import DUTY_LABELS, Config, Duty
from register.db import ShopRow
from register.qrcodes import Runs, many_qr_runs, qr_runs
from register.signboards import code_for, signboard_url, signing_key

CJK = "STSong-Light"
LATIN = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
RED = Color(0.72, 0.07, 0.07)
GREY = Color(0.35, 0.35, 0.35)
PER_PAGE = (1, 4)

_fonts_ready = False


@dataclass(frozen=True)
class Signboard:
    """What one signboard prints: plain data, so layouts are tested without a store."""

    shop_id: str
    name: str
    address: str
    street: str
    community: str
    duties: tuple[Duty, ...]
    contact_person: str  # 责任人: printed on the board, as the district asks; never the phone
    hotline: str
    district: str
    url: str


def signboards_for(
    engine: Engine, cfg: Config, *, street: str | None = None, shop_id: str | None = None
) -> list[Signboard]:
    """The signboards of one shop, one street, or the whole district (by street, then shop id)."""
    key = signing_key(engine, cfg)
    q = select(ShopRow).order_by(ShopRow.street, ShopRow.id)
    if shop_id is not None:
        q = q.where(ShopRow.id == shop_id)
    if street is not None:
        q = q.where(ShopRow.street == street)
    with Session(engine) as s:
        shops = s.scalars(q).all()
        return [_board(cfg, shop, signboard_url(cfg, code_for(engine, cfg, shop, key=key))) for shop in shops]


def _board(cfg: Config, shop: ShopRow, url: str) -> Signboard:
    listed = {str(d) for d in shop.duties or []}
    return Signboard(
        shop_id=shop.id,
        name=shop.name,
        address=shop.address,
        street=shop.street,
        community=shop.community,
        duties=tuple(d for d in Duty if d.value in listed),
        contact_person=shop.contact_person or shop.party_name,
        hotline=cfg.district.hotline,
        district=cfg.district.name,
        url=url,
    )


def _ensure_fonts() -> None:
    global _fonts_ready
    if not _fonts_ready:
        pdfmetrics.registerFont(UnicodeCIDFont(CJK))
        _fonts_ready = True


def _font(text: str, bold: bool = False) -> str:
    if text.isascii():
        return LATIN_BOLD if bold else LATIN
    return CJK


def _tokens(text: str) -> list[str]:
    """Break points for wrapping: Latin words stay whole, each CJK character stands alone."""
    out: list[str] = []
    word = ""
    for ch in text:
        if ch.isascii() and not ch.isspace():
            word += ch
            continue
        if word:
            out.append(word)
            word = ""
        out.append(ch)
    if word:
        out.append(word)
    return out


def wrap(text: str, font: str, size: float, width: float, max_lines: int = 3) -> list[str]:
    """Greedy wrap to `width` points; the last allowed line ends in an ellipsis when text is left over."""
    lines: list[str] = []
    line = ""
    for tok in _tokens(text):
        if pdfmetrics.stringWidth(line + tok, font, size) <= width or not line:
            line += tok
            continue
        lines.append(line.rstrip())
        line = tok.lstrip()
    if line:
        lines.append(line.rstrip())
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and pdfmetrics.stringWidth(last + "…", font, size) > width:
            last = last[:-1]
        lines = lines[: max_lines - 1] + [last + "…"]
    return lines


def _text(c: Canvas, x: float, y: float, text: str, size: float, *, bold: bool = False, centre: bool = False,
          colour: Color = black) -> None:  # fmt: skip
    font = _font(text, bold)
    c.setFillColor(colour)
    c.setFont(font, size)
    if centre:
        c.drawCentredString(x, y, text)
    else:
        c.drawString(x, y, text)


def _qr(c: Canvas, code: Runs, x: float, y: float, size: float) -> None:
    """The QR code with its quiet zone as a white square of `size` points, lower-left corner at (x, y).

    Drawn in module units as one filled path of integer rectangles written straight into the page stream:
    sharp at any print size, and a tenth of the time of reportlab's per-rectangle float formatting."""
    side, runs = code
    c.setFillColor(white)
    c.rect(x, y, size, size, stroke=0, fill=1)
    c.saveState()
    c.setFillColor(black)
    module = size / side
    c.transform(module, 0, 0, -module, x, y + size)  # row 0 at the top, one unit per module
    c.addLiteral(" ".join(f"{col} {r} {n} 1 re" for r, col, n in runs) + " f")
    c.restoreState()


def draw_signboard(
    c: Canvas, board: Signboard, x: float, y: float, w: float, h: float, code: Runs | None = None
) -> None:
    """One signboard in the box (x, y, w, h); every size is a share of the width, so any cell fits. `code` is
    the board's QR code when made beforehand (many_qr_runs)."""
    k = w / A4[0]  # 1.0 for a whole page, 0.5 for a quarter
    pad = 28 * k
    c.setStrokeColor(RED)
    c.setLineWidth(3 * k)
    c.rect(x + pad / 2, y + pad / 2, w - pad, h - pad, stroke=1, fill=0)
    band = 70 * k
    top = y + h - pad / 2
    c.setFillColor(RED)
    c.rect(x + pad / 2, top - band, w - pad, band, stroke=0, fill=1)
    _text(c, x + w / 2, top - band * 0.55, "门前三包责任牌", 34 * k, centre=True, colour=white)
    _text(c, x + w / 2, top - band * 0.85, "Frontage responsibility signboard", 11 * k, centre=True, colour=white)
    inner = w - 2 * pad
    cur = top - band - 34 * k
    for line in wrap(board.name, _font(board.name), 24 * k, inner, 2):
        _text(c, x + w / 2, cur, line, 24 * k, bold=True, centre=True)
        cur -= 28 * k
    place = " · ".join(p for p in (board.address, board.community, board.street) if p)
    for line in wrap(place, _font(place), 11 * k, inner, 2):
        _text(c, x + w / 2, cur, line, 11 * k, centre=True, colour=GREY)
        cur -= 14 * k
    cur -= 8 * k
    _text(c, x + pad, cur, "责任内容 Duties", 14 * k, bold=True, colour=RED)
    cur -= 20 * k
    for i, duty in enumerate(board.duties, 1):
        zh, en = DUTY_LABELS[duty]
        _text(c, x + pad + 6 * k, cur, f"{i}. {zh}", 15 * k)
        _text(c, x + pad + 130 * k, cur, en, 10 * k, colour=GREY)
        cur -= 20 * k
    cur -= 6 * k
    _text(c, x + pad, cur, "责任人 Responsible person:", 13 * k, bold=True)
    _text(c, x + pad + 185 * k, cur, board.contact_person, 15 * k)
    cur -= 22 * k
    _text(c, x + pad, cur, "监督电话 Hotline:", 13 * k, bold=True)
    _text(c, x + pad + 185 * k, cur, board.hotline, 18 * k, bold=True, colour=RED)
    bottom = y + pad / 2 + 44 * k
    room = cur - 12 * k - bottom
    qr_size = min(room, inner * 0.72)
    _qr(c, code or qr_runs(board.url), x + (w - qr_size) / 2, bottom + (room - qr_size) / 2, qr_size)
    _text(c, x + w / 2, bottom - 14 * k, "扫码查看本店责任区、举报问题 · Scan to see this frontage or report a problem",
          8.5 * k, centre=True, colour=GREY)  # fmt: skip
    _text(c, x + w / 2, bottom - 28 * k, board.url, 9 * k, centre=True)
    if board.district:
        _text(c, x + w / 2, bottom - 40 * k, board.district, 8 * k, centre=True, colour=GREY)


def _cells(per_page: int) -> list[tuple[float, float, float, float]]:
    pw, ph = A4
    if per_page == 1:
        return [(0.0, 0.0, pw, ph)]
    w, h = pw / 2, ph / 2
    return [(0.0, h, w, h), (w, h, w, h), (0.0, 0.0, w, h), (w, 0.0, w, h)]


def render_pdf(
    boards: Iterable[Signboard], out: Path | str | BinaryIO, *, per_page: int = 1, title: str = "门前三包责任牌"
) -> int:
    """Write the signboards to `out`; returns how many. Reproducible: the same boards give the same bytes."""
    if per_page not in PER_PAGE:
        raise ValueError(f"per_page must be one of {PER_PAGE}, not {per_page}")
    _ensure_fonts()
    target = str(out) if isinstance(out, Path) else out
    c = Canvas(target, pagesize=A4, invariant=1, pageCompression=1)
    c.setTitle(title)
    c.setCreator("frontage")
    cells = _cells(per_page)
    boards = list(boards)
    codes = many_qr_runs([b.url for b in boards])
    n = 0
    for n, (board, code) in enumerate(zip(boards, codes, strict=True), 1):
        draw_signboard(c, board, *cells[(n - 1) % per_page], code)
        if n % per_page == 0:
            c.showPage()
    if n == 0 or n % per_page:
        if n == 0:
            _text(c, A4[0] / 2, A4[1] / 2, "没有符合条件的商铺 · No shops matched", 16, centre=True)
        c.showPage()
    c.save()
    return n
