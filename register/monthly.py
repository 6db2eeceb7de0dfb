"""The monthly report, for the district or one street: the voluntary-fix rate, confirmed cases by kind and
source, the median time to fix, and the red and black lists; as CSV (tidy rows, one file) and as a PDF with a
chart. Chinese labels use the PDF reader's own CJK font (STSong-Light, not embedded), English beside them.

The month runs from local midnight on its first day to local midnight on the next month's, in the config's
timezone. Lists are the standing the last recompute left.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from frontage.config import CaseKind, CaseSource, Config
from register.lists import ListEntry, lists
from register.stats import CaseStats, case_stats

KIND_LABELS: dict[str, tuple[str, str]] = {
    CaseKind.illegal_parking: ("违停", "Illegal parking"),
    CaseKind.out_of_store_trading: ("店外经营", "Out-of-store trading"),
    CaseKind.piled_materials: ("堆物堆料", "Piled materials"),
    CaseKind.litter: ("垃圾", "Litter"),
    CaseKind.other: ("其他", "Other"),
    CaseKind.inspection_failed: ("巡查不合格", "Failed inspection"),
}
SOURCE_LABELS: dict[str, tuple[str, str]] = {
    CaseSource.camera: ("摄像头", "Camera"),
    CaseSource.citizen: ("市民举报", "Citizen report"),
    CaseSource.inspector: ("巡查", "Inspector"),
}
SUMMARY_LABELS: dict[str, tuple[str, str]] = {
    "opened": ("立案总数", "Cases opened"),
    "confirmed": ("确认案件", "Confirmed cases"),
    "resolved_before_escalation": ("自觉整改", "Fixed before escalation"),
    "escalated": ("上报城管", "Escalated to the city"),
    "dismissed": ("撤销", "Dismissed"),
    "awaiting_confirmation": ("待确认", "Awaiting confirmation"),
    "voluntary_fix_rate": ("自觉整改率", "Voluntary-fix rate"),
    "median_time_to_fix_h": ("整改用时中位数(小时)", "Median time to fix (hours)"),
}
# YYYY-MM from 1970-01 to 9998-12 (a month's end must still be a datetime, in any timezone)
MONTH_PATTERN = r"^(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-(0[1-9]|1[0-2])$"
MONTH = re.compile(MONTH_PATTERN)


def month_bounds(month: str, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a YYYY-MM month in UTC, from local midnights in `tz`; ValueError for anything else."""
    m = MONTH.match(month)
    if m is None:
        raise ValueError(f"month must be YYYY-MM (1970-01 to 9998-12), got {month!r}")
    year, mon = int(m.group(1)), int(m.group(2))
    start = dt.datetime(year, mon, 1, tzinfo=tz)
    end = dt.datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


@dataclass(frozen=True)
class MonthlyReport:
    month: str
    street: str | None  # None: the whole district
    district: str
    timezone: str
    start: dt.datetime
    end: dt.datetime
    stats: CaseStats
    red: list[ListEntry]
    black: list[ListEntry]
    generated_at: dt.datetime

    @property
    def scope(self) -> str:
        return self.street if self.street is not None else (self.district or "district")

    def summary(self) -> list[tuple[str, float | int | None]]:
        st = self.stats
        hours = None if st.median_time_to_fix_s is None else round(st.median_time_to_fix_s / 3600.0, 2)
        rate = None if st.voluntary_fix_rate is None else round(st.voluntary_fix_rate, 4)
        return [
            ("opened", st.opened), ("confirmed", st.confirmed),
            ("resolved_before_escalation", st.resolved_before_escalation), ("escalated", st.escalated),
            ("dismissed", st.dismissed), ("awaiting_confirmation", st.awaiting_confirmation),
            ("voluntary_fix_rate", rate), ("median_time_to_fix_h", hours),
        ]  # fmt: skip

    def by_kind(self) -> list[tuple[str, int]]:
        return [(k, self.stats.by_kind.get(k, 0)) for k in KIND_LABELS]

    def by_source(self) -> list[tuple[str, int]]:
        return [(k, self.stats.by_source.get(k, 0)) for k in SOURCE_LABELS]


def build_report(engine: Engine, cfg: Config, month: str, street: str | None, now: dt.datetime) -> MonthlyReport:
    start, end = month_bounds(month, cfg.tz)
    with Session(engine) as s:
        stats = case_stats(s, start, end, street=street)
    red, black = lists(engine, street, at=min(end, now))  # the lists as they stood at the month's end
    return MonthlyReport(month, street, cfg.district.name, cfg.timezone, start, end, stats, red, black, now)


# --- CSV ----------------------------------------------------------------------------------------------------

FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")
CSV_HEADER = ["section", "item", "label_zh", "label_en", "value", "shops", "street", "since"]


def safe_cell(value: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_LEAD):
        return "'" + value
    return "" if value is None else value


def report_rows(r: MonthlyReport) -> list[list[object]]:
    """Tidy rows: one fact per row, a section naming what it is."""
    rows: list[list[object]] = [
        ["report", "month", "月份", "Month", r.month, "", "", ""],
        ["report", "scope", "范围", "Scope", r.scope, "", r.street or "", ""],
        ["report", "period_start", "起", "From (UTC)", r.start.isoformat(), "", "", ""],
        ["report", "period_end", "止", "To (UTC, exclusive)", r.end.isoformat(), "", "", ""],
        ["report", "timezone", "时区", "Timezone", r.timezone, "", "", ""],
    ]
    for key, value in r.summary():
        rows.append(["summary", key, *SUMMARY_LABELS[key], value, "", "", ""])
    rows += [["cases_by_kind", k, *KIND_LABELS[k], n, "", "", ""] for k, n in r.by_kind()]
    rows += [["cases_by_source", k, *SOURCE_LABELS[k], n, "", "", ""] for k, n in r.by_source()]
    for section, entries in (("red_list", r.red), ("black_list", r.black)):
        for e in entries:
            rows.append([
                section, e.party_id, e.party_name, "", e.score, "; ".join(s.name for s in e.shops),
                "; ".join(sorted({s.street for s in e.shops})), e.since.isoformat() if e.since else "",
            ])  # fmt: skip
    return rows


def report_csv(r: MonthlyReport) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    for row in report_rows(r):
        w.writerow([safe_cell(v) for v in row])
    return buf.getvalue()


# --- PDF ----------------------------------------------------------------------------------------------------

CJK = "STSong-Light"


def _fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CJK not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK))


def _chart(r: MonthlyReport):
    """Confirmed cases by kind and by source as bars, and the voluntary-fix rate as a bar against 100%."""
    from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    d = Drawing(480, 330)
    for x, title, pairs, labels in (
        (40, "按类型 By kind", r.by_kind(), KIND_LABELS),
        (300, "按来源 By source", r.by_source(), SOURCE_LABELS),
    ):
        chart = VerticalBarChart()
        chart.x, chart.y, chart.width = x, 120, 200 if x == 40 else 150
        chart.height = 150
        chart.data = [[n for _, n in pairs]]
        chart.categoryAxis.categoryNames = [f"{labels[k][0]}\n{labels[k][1]}" for k, _ in pairs]
        chart.categoryAxis.labels.fontName = CJK
        chart.categoryAxis.labels.fontSize = 6
        chart.categoryAxis.labels.angle = 30
        chart.categoryAxis.labels.boxAnchor = "ne"
        chart.valueAxis.valueMin = 0
        chart.valueAxis.valueMax = max([n for _, n in pairs] + [1]) * 1.2
        chart.valueAxis.labels.fontSize = 7
        chart.barLabelFormat = "%d"
        chart.barLabels.fontSize = 7
        chart.barLabels.nudge = 6
        chart.bars[0].fillColor = colors.HexColor("#1f6feb" if x == 40 else "#1a7f37")
        d.add(chart)
        d.add(String(x, 290, title, fontName=CJK, fontSize=9))
    rate = r.stats.voluntary_fix_rate
    bar = HorizontalBarChart()
    bar.x, bar.y, bar.width, bar.height = 140, 20, 300, 30
    bar.data = [[round(100 * (rate or 0.0), 1)]]
    bar.categoryAxis.categoryNames = [""]
    bar.valueAxis.valueMin, bar.valueAxis.valueMax, bar.valueAxis.valueStep = 0, 100, 20
    bar.valueAxis.labels.fontSize = 7
    bar.barLabelFormat = "%.1f%%"
    bar.barLabels.fontSize = 8
    bar.barLabels.boxAnchor = "w"
    bar.barLabels.dx = 4
    bar.bars[0].fillColor = colors.HexColor("#9a6700")
    d.add(bar)
    text = "自觉整改率 Voluntary-fix rate" + ("" if rate is not None else " (无确认案件 no confirmed cases)")
    d.add(String(0, 32, text, fontName=CJK, fontSize=8))
    return d


def report_pdf(r: MonthlyReport) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    from reportlab.platypus.flowables import KeepTogether

    _fonts()
    h1 = ParagraphStyle("h1", fontName=CJK, fontSize=16, leading=20, spaceAfter=4)
    h2 = ParagraphStyle("h2", fontName=CJK, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4)
    body = ParagraphStyle("body", fontName="Helvetica", fontSize=9, leading=12)
    cell = ParagraphStyle("cell", fontName=CJK, fontSize=8, leading=10)

    def p(text: str, style: ParagraphStyle = cell) -> Paragraph:
        return Paragraph(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), style)

    grid = TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#b0b7c3")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef0f3")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ])  # fmt: skip
    story = [
        p(f"门前三包月报 Monthly frontage report · {r.scope}", h1),
        Paragraph(f"Month {r.month} ({r.timezone}); generated {r.generated_at.isoformat(timespec='minutes')}", body),
        p(f"统计区间 Period: {r.start.isoformat()} – {r.end.isoformat()} (UTC)", cell),
        p("概况 Summary", h2),
    ]
    summary = [[p("指标 Measure"), p("数值 Value")]]
    for key, value in r.summary():
        shown = "—" if value is None else (f"{100 * value:.1f}%" if key == "voluntary_fix_rate" else f"{value:g}")
        summary.append([p(f"{SUMMARY_LABELS[key][0]} {SUMMARY_LABELS[key][1]}"), p(shown)])
    story += [Table(summary, colWidths=[90 * mm, 40 * mm], style=grid), p("案件分布 Confirmed cases", h2)]
    story.append(_chart(r))
    for title, entries in (("红榜 Red list (commended)", r.red), ("黑榜 Black list", r.black)):
        rows = [[p("责任主体 Party"), p("门店 Shops"), p("街道 Street"), p("分数 Score"), p("上榜 Since")]]
        for e in entries:
            rows.append([
                p(e.party_name), p("; ".join(s.name for s in e.shops)),
                p("; ".join(sorted({s.street for s in e.shops}))), p(f"{e.score:g}"),
                p(e.since.date().isoformat() if e.since else "—"),
            ])  # fmt: skip
        if not entries:
            rows.append([p("（无 none）"), "", "", "", ""])
        table = Table(rows, colWidths=[40 * mm, 55 * mm, 30 * mm, 20 * mm, 25 * mm], style=grid, repeatRows=1)
        story.append(KeepTogether([p(title, h2), Spacer(1, 2)]))
        story.append(table)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
        title=f"frontage monthly report {r.month} {r.scope}", author="frontage",
    )  # fmt: skip
    doc.build(story)
    return buf.getvalue()
