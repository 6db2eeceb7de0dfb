"""Where and when: the statistics page's numbers, the per-camera heat map's points and the district map's shops.

Counting follows the district's headline numbers (register.stats): a case counts in the period it was OPENED
in, and only confirmed cases count (they reached `detected`, a citizen's once an operator confirmed it, and were
not dismissed), so these totals agree with GET /stats and the monthly report. Days run from local midnight to
local midnight in the deployment's timezone, not UTC.

Time to fix is the case's resolution time minus its opening time (`resolved` in the ledger minus `opened_at`),
over the confirmed cases that were resolved. A case reaches `resolved` only before any escalation (an escalated
case is closed by the city instead), so these are exactly the voluntary fixes. Median and 90th percentile use
linear interpolation between the closest ranks (numpy's default).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.db import CaseRow
from dispatch.lifecycle import OPEN311_STATUS, CaseState
from frontage.config import CaseKind, CaseSource, Config
from register.db import CreditScoreRow, ShopRow
from register.monthly import safe_cell
from register.stats import CaseOutcome, read_outcomes, summarize

DEFAULT_DAYS = 30  # the period when none is asked for: the last 30 local days, today included
MAX_DAYS = 366  # a chart of one bar per day; longer periods are the monthly report's job
MAX_HEAT_POINTS = 5000  # the newest cases of a period, enough to saturate any heat map
OPEN_STATES = frozenset(s.value for s, status in OPEN311_STATUS.items() if status == "open")
KIND_ORDER = [k.value for k in CaseKind]
SOURCE_ORDER = [s.value for s in CaseSource]


# --- the period ----------------------------------------------------------------------------------------------


class PeriodError(ValueError):
    """A period that cannot be charted; `param` names the query parameter at fault."""

    def __init__(self, param: str, msg: str):
        super().__init__(msg)
        self.param = param


def local_midnight(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(dt.UTC)


def period(
    start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime, tz: ZoneInfo, max_days: int = MAX_DAYS
) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in UTC. Without `to`: the local midnight after today; without `from`: DEFAULT_DAYS local days
    before `to`. PeriodError when `to` is not after `from`, the period covers more than `max_days` local days, or
    a bound lies so near the calendar's ends that its local date does not exist."""
    for name, bound in (("from", start), ("to", end)):
        if bound is not None and not _in_calendar(bound, tz):
            raise PeriodError(name, "the date lies outside the calendar in the deployment's timezone")
    try:
        if end is None:
            end = local_midnight(now.astimezone(tz).date() + dt.timedelta(days=1), tz)
        if start is None:
            first = (end - dt.timedelta(microseconds=1)).astimezone(tz).date() - dt.timedelta(days=DEFAULT_DAYS - 1)
            start = local_midnight(first, tz)
        if end <= start:
            raise PeriodError("to", "`to` must be after `from`")
        days = day_count(start, end, tz)
    except OverflowError:
        raise PeriodError("from", "the period lies outside the calendar") from None
    if days > max_days:
        raise PeriodError("from", f"the period covers {days} days (in {tz.key}); at most {max_days}")
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _in_calendar(t: dt.datetime, tz: ZoneInfo) -> bool:
    """A day either side of `t` is still a datetime, in UTC and in `tz`."""
    try:
        for shift in (-1, 1):
            (t + dt.timedelta(days=shift)).astimezone(tz).astimezone(dt.UTC)
    except OverflowError:
        return False
    return True


def _first_last(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> tuple[dt.date, dt.date]:
    return start.astimezone(tz).date(), (end - dt.timedelta(microseconds=1)).astimezone(tz).date()


def day_count(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> int:
    first, last = _first_last(start, end, tz)
    return (last - first).days + 1


def local_days(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> list[dt.date]:
    """Every local date [start, end) touches, in order."""
    first, last = _first_last(start, end, tz)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0..1) by linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


# --- the summary (pure) --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodCase:
    """One case of the period, as the statistics need it: where it was, and its outcome from the ledger."""

    camera_id: str  # "" for citizens' and inspectors' cases
    shop_id: str
    outcome: CaseOutcome


@dataclass(frozen=True)
class Series:
    key: str  # a case kind or a source
    counts: list[int]  # one per day of Summary.days

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Ranked:
    id: str
    name: str | None  # the shop's or camera's name, where the register or the config knows it
    cases: int


@dataclass(frozen=True)
class Summary:
    start: dt.datetime
    end: dt.datetime
    timezone: str
    days: list[dt.date]
    by_kind: list[Series]  # confirmed cases per day, one series per kind that has any
    by_source: list[Series]
    opened: int  # every case opened in the period, confirmed or not
    confirmed: int
    resolved_before_escalation: int
    escalated: int
    dismissed: int
    share_resolved_before_escalation: float | None  # of the confirmed cases; None when nothing was confirmed
    fixes: int  # confirmed cases resolved: the ones time to fix is taken over
    time_to_fix_median_s: float | None
    time_to_fix_p90_s: float | None
    top_shops: list[Ranked]
    top_cameras: list[Ranked]


def _series(keys: Iterable[tuple[str, dt.date]], days: list[dt.date], order: list[str]) -> list[Series]:
    index = {d: i for i, d in enumerate(days)}
    counts: dict[str, list[int]] = {}
    for key, day in keys:
        if day in index:
            counts.setdefault(key, [0] * len(days))[index[day]] += 1
    rank = {k: i for i, k in enumerate(order)}
    return [Series(k, counts[k]) for k in sorted(counts, key=lambda k: (rank.get(k, len(rank)), k))]


def _top(counter: Counter[str], n: int) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def summarize_period(
    cases: Iterable[PeriodCase],
    start: dt.datetime,
    end: dt.datetime,
    tz: ZoneInfo,
    top_n: int = 10,
    names: dict[str, str] | None = None,
    camera_names: dict[str, str] | None = None,
) -> Summary:
    """The page's numbers for the cases opened in [start, end) (pure). Ties in the top lists go by id."""
    rows = list(cases)
    st = summarize(c.outcome for c in rows)
    confirmed = [c for c in rows if c.outcome.confirmed]
    days = local_days(start, end, tz)

    def day(c: PeriodCase) -> dt.date:
        return c.outcome.opened_at.astimezone(tz).date()

    fix_times = [
        (c.outcome.resolved_at - c.outcome.opened_at).total_seconds()
        for c in confirmed
        if c.outcome.resolved_at is not None
    ]
    shops = _top(Counter(c.shop_id for c in confirmed), top_n)
    cameras = _top(Counter(c.camera_id for c in confirmed if c.camera_id), top_n)
    names, camera_names = names or {}, camera_names or {}
    return Summary(
        start=start,
        end=end,
        timezone=tz.key,
        days=days,
        by_kind=_series(((c.outcome.kind, day(c)) for c in confirmed), days, KIND_ORDER),
        by_source=_series(((c.outcome.source, day(c)) for c in confirmed), days, SOURCE_ORDER),
        opened=st.opened,
        confirmed=st.confirmed,
        resolved_before_escalation=st.resolved_before_escalation,
        escalated=st.escalated,
        dismissed=st.dismissed,
        share_resolved_before_escalation=st.voluntary_fix_rate,
        fixes=len(fix_times),
        time_to_fix_median_s=percentile(fix_times, 0.5),
        time_to_fix_p90_s=percentile(fix_times, 0.9),
        top_shops=[Ranked(i, names.get(i), n) for i, n in shops],
        top_cameras=[Ranked(i, camera_names.get(i) or None, n) for i, n in cameras],
    )


# --- reading the store ---------------------------------------------------------------------------------------


def _case_filters(
    start: dt.datetime, end: dt.datetime, street: str | None, camera_id: str | None, shop_id: str | None
) -> list:
    where = [CaseRow.opened_at >= start, CaseRow.opened_at < end]
    if camera_id is not None:
        where.append(CaseRow.camera_id == camera_id)
    if shop_id is not None:
        where.append(CaseRow.shop_id == shop_id)
    if street is not None:
        where.append(CaseRow.shop_id.in_(select(ShopRow.id).where(ShopRow.street == street)))
    return where


def read_period(
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    street: str | None = None,
    camera_id: str | None = None,
    shop_id: str | None = None,
) -> list[PeriodCase]:
    """The cases opened in [start, end) with their outcomes (register.stats reads the ledger), of a street's
    shops, a camera or a shop."""
    outcomes = {o.case_id: o for o in read_outcomes(session, start, end, street=street, shop_id=shop_id)}
    where = _case_filters(start, end, street, camera_id, shop_id)
    rows = session.execute(select(CaseRow.id, CaseRow.camera_id, CaseRow.shop_id).where(*where))
    return [PeriodCase(cam, shop, outcomes[cid]) for cid, cam, shop in rows if cid in outcomes]


def shop_names(session: Session, cfg: Config, ids: Iterable[str]) -> dict[str, str]:
    """Names from the register, else from the config."""
    wanted = set(ids)
    if not wanted:
        return {}
    names = {s.id: s.name for s in cfg.shops if s.id in wanted}
    rows = session.execute(select(ShopRow.id, ShopRow.name).where(ShopRow.id.in_(wanted)))
    names |= {shop_id: name for shop_id, name in rows}
    return names


def build_summary(
    session: Session,
    cfg: Config,
    start: dt.datetime,
    end: dt.datetime,
    street: str | None = None,
    camera_id: str | None = None,
    shop_id: str | None = None,
    top_n: int = 10,
) -> Summary:
    cases = read_period(session, start, end, street, camera_id, shop_id)
    names = shop_names(session, cfg, {c.shop_id for c in cases})
    cameras = {c.id: c.name for c in cfg.cameras}
    return summarize_period(cases, start, end, cfg.tz, top_n, names, cameras)


# --- CSV -----------------------------------------------------------------------------------------------------

CSV_HEADER = ["section", "item", "day", "value", "name"]


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600.0, 3)


def summary_rows(s: Summary, filters: dict[str, str | None]) -> list[list[object]]:
    """Tidy rows, one fact each: the period and filters, the totals, each day's count per kind and per source
    (zeros included), then the top shops and cameras."""
    rows: list[list[object]] = [
        ["period", "from", "", s.start.isoformat(), "UTC"],
        ["period", "to", "", s.end.isoformat(), "UTC, exclusive"],
        ["period", "timezone", "", s.timezone, "days are local to this timezone"],
    ]
    rows += [["filter", k, "", v, ""] for k, v in filters.items() if v is not None]
    share = None if s.share_resolved_before_escalation is None else round(s.share_resolved_before_escalation, 4)
    rows += [
        ["summary", "opened", "", s.opened, "every case opened, confirmed or not"],
        ["summary", "confirmed", "", s.confirmed, ""],
        ["summary", "resolved_before_escalation", "", s.resolved_before_escalation, ""],
        ["summary", "escalated", "", s.escalated, ""],
        ["summary", "dismissed", "", s.dismissed, ""],
        ["summary", "share_resolved_before_escalation", "", share, "of the confirmed cases"],
        ["summary", "fixes", "", s.fixes, "confirmed cases resolved"],
        ["summary", "time_to_fix_median_h", "", _hours(s.time_to_fix_median_s), "resolved minus opened"],
        ["summary", "time_to_fix_p90_h", "", _hours(s.time_to_fix_p90_s), "resolved minus opened"],
    ]
    for section, series in (("cases_by_kind", s.by_kind), ("cases_by_source", s.by_source)):
        for ser in series:
            rows += [[section, ser.key, d.isoformat(), n, ""] for d, n in zip(s.days, ser.counts, strict=True)]
    rows += [["top_shop", r.id, "", r.cases, r.name or ""] for r in s.top_shops]
    rows += [["top_camera", r.id, "", r.cases, r.name or ""] for r in s.top_cameras]
    return rows


def summary_csv(s: Summary, filters: dict[str, str | None]) -> str:
    """CSV with CRLF lines; text a spreadsheet would run as a formula is escaped like the monthly report's."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    for row in summary_rows(s, filters):
        w.writerow([safe_cell(v) for v in row])
    return buf.getvalue()


# --- the heat map --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeatPoint:
    case_id: int
    kind: str
    x: float  # the bottom-centre of the case's box: where the object stood on the ground
    y: float
    opened_at: dt.datetime


def ground_point(box: object) -> tuple[float, float] | None:
    """Bottom-centre of an [x1, y1, x2, y2] box; None for anything else."""
    if not isinstance(box, list | tuple) or len(box) != 4:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in box):
        return None
    x1, _, x2, y2 = box
    return (x1 + x2) / 2.0, float(y2)


def heat_points(
    session: Session, camera_id: str, start: dt.datetime, end: dt.datetime, limit: int = MAX_HEAT_POINTS
) -> tuple[list[HeatPoint], int]:
    """Where the camera's cases opened in [start, end) stood, newest first (at most `limit`), and how many there
    were. Dismissed cases (false alarms) and citizens' unconfirmed reports are left out."""
    where = [
        *_case_filters(start, end, None, camera_id, None),
        CaseRow.state.not_in([CaseState.dismissed.value, CaseState.reported.value]),
    ]
    total = session.scalar(select(func.count()).select_from(CaseRow).where(*where)) or 0
    rows = session.execute(
        select(CaseRow.id, CaseRow.kind, CaseRow.box, CaseRow.opened_at)
        .where(*where)
        .order_by(CaseRow.opened_at.desc(), CaseRow.id.desc())
        .limit(limit)
    )
    points = [HeatPoint(cid, kind, *p, at) for cid, kind, box, at in rows if (p := ground_point(box)) is not None]
    return points, total


def newest_snapshot_case(session: Session, camera_id: str) -> int | None:
    """The camera's newest case with an evidence snapshot: the heat map's background when the camera has no
    snapshot of its own."""
    return session.scalar(
        select(CaseRow.id)
        .where(CaseRow.camera_id == camera_id, CaseRow.snapshot.is_not(None))
        .order_by(CaseRow.opened_at.desc(), CaseRow.id.desc())
        .limit(1)
    )


def camera_known(session: Session, cfg: Config, camera_id: str) -> bool:
    if any(c.id == camera_id for c in cfg.cameras):
        return True
    return session.scalar(select(CaseRow.id).where(CaseRow.camera_id == camera_id).limit(1)) is not None


# --- the district map ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapShop:
    shop_id: str
    name: str
    street: str
    lat: float
    lon: float
    party_id: str
    open_cases: int
    score: float | None  # the party's credit score as the last recompute left it; None if never scored
    standing: str | None  # red | black | none


def map_shops(session: Session, cfg: Config, street: str | None = None) -> tuple[list[MapShop], int]:
    """Every shop with a position (the register's, and the config's shops not on it), with its open cases and
    its party's credit; and how many shops have no position. Four queries, whatever the number of shops."""
    q = select(ShopRow.id, ShopRow.name, ShopRow.street, ShopRow.lat, ShopRow.lon, ShopRow.party_id)
    if street is not None:
        q = q.where(ShopRow.street == street)
    shops = [tuple(row) for row in session.execute(q)]
    on_register = set(session.scalars(select(ShopRow.id)))
    if street is None:  # config shops have no street
        shops += [(s.id, s.name, "", s.lat, s.lon, s.id) for s in cfg.shops if s.id not in on_register]
    counted = session.execute(
        select(CaseRow.shop_id, func.count()).where(CaseRow.state.in_(OPEN_STATES)).group_by(CaseRow.shop_id)
    )
    open_counts = {shop_id: n for shop_id, n in counted}
    credit = {
        p: (score, standing)
        for p, score, standing in session.execute(
            select(CreditScoreRow.party_id, CreditScoreRow.score, CreditScoreRow.standing)
        )
    }
    placed = []
    for sid, name, st, lat, lon, party in shops:
        if lat is None or lon is None:
            continue
        score, standing = credit.get(party, (None, None))
        placed.append(MapShop(sid, name, st, lat, lon, party, open_counts.get(sid, 0), score, standing))
    placed.sort(key=lambda m: m.shop_id)
    return placed, len(shops) - len(placed)
