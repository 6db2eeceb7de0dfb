"""The statistics page's numbers as pure functions over plain case outcomes, with answers worked out by hand: days
counted in the deployment's timezone (not UTC), median and 90th percentile of the time to fix, the share fixed
before escalation, the top lists, the period's defaults and limits, the CSV's formula escaping."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest

from register.insights import (
    PeriodCase,
    PeriodError,
    ground_point,
    local_days,
    percentile,
    period,
    summarize_period,
    summary_csv,
)
from register.stats import CaseOutcome

SH = ZoneInfo("Asia/Shanghai")  # UTC+8, no daylight saving
UTC = dt.UTC
START = dt.datetime(2026, 3, 1, tzinfo=SH).astimezone(UTC)  # local midnight 03-01 = 02-28T16:00Z
END = dt.datetime(2026, 3, 4, tzinfo=SH).astimezone(UTC)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def case(cid, kind="illegal_parking", source="camera", opened=None, *, camera="cam1", shop="shop-a",
         state="detected", confirmed=True, fixed_after_s=None, escalated=False) -> PeriodCase:  # fmt: skip
    opened = opened or at(2, 4)
    resolved = opened + dt.timedelta(seconds=fixed_after_s) if fixed_after_s is not None else None
    outcome = CaseOutcome(
        case_id=cid, kind=kind, source=source, state="resolved" if resolved else state, opened_at=opened,
        detected_at=opened if confirmed else None, escalated_at=opened + dt.timedelta(hours=1) if escalated else None,
        resolved_at=resolved,
    )  # fmt: skip
    return PeriodCase(camera if source == "camera" else "", shop, outcome)


CASES = [
    # 23:59 on 03-01 in Shanghai and 00:00 on 03-02: one UTC day (03-01), two local days; at(3, h) is 03-03 local
    case(1, opened=at(1, 15, 59), fixed_after_s=600),
    case(2, opened=at(1, 16, 0), fixed_after_s=1200),
    case(3, "out_of_store_trading", opened=at(2, 3), fixed_after_s=1800, shop="shop-b", camera="cam2"),
    case(4, "out_of_store_trading", opened=at(2, 5), fixed_after_s=3600, shop="shop-b", camera="cam2"),
    case(5, opened=at(3, 1), fixed_after_s=7200, shop="shop-c"),
    case(6, opened=at(3, 2), state="escalated", escalated=True, shop="shop-c"),
    case(7, "litter", "citizen", opened=at(3, 3), shop="shop-c"),
    case(8, "litter", "citizen", opened=at(3, 4), state="reported", confirmed=False, shop="shop-d"),  # unconfirmed
    case(9, opened=at(3, 5), state="dismissed", shop="shop-d"),  # a false alarm
    # 00:30 on 03-01 in Shanghai is still 02-28 in UTC; it opened in the period and counts on 03-01
    case(10, opened=dt.datetime(2026, 2, 28, 16, 30, tzinfo=UTC), shop="shop-b", camera="cam2"),
]


def test_days_are_local_to_the_deployment_not_utc():
    s = summarize_period(CASES, START, END, SH)
    assert s.days == [dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)]
    by_kind = {x.key: x.counts for x in s.by_kind}
    assert by_kind == {"illegal_parking": [2, 1, 2], "out_of_store_trading": [0, 2, 0], "litter": [0, 0, 1]}
    assert [x.key for x in s.by_kind] == ["illegal_parking", "out_of_store_trading", "litter"]  # CaseKind order
    assert {x.key: x.counts for x in s.by_source} == {"camera": [2, 3, 2], "citizen": [0, 0, 1]}
    in_utc = summarize_period(CASES, START, END, ZoneInfo("UTC"))  # the same cases by UTC day: another answer
    assert in_utc.days[0] == dt.date(2026, 2, 28)
    assert {x.key: x.counts for x in in_utc.by_kind}["illegal_parking"] == [1, 2, 0, 2]


def test_time_to_fix_share_and_totals():
    s = summarize_period(CASES, START, END, SH)
    assert (s.opened, s.confirmed, s.dismissed, s.escalated) == (10, 8, 1, 1)
    assert s.resolved_before_escalation == s.fixes == 5
    assert s.share_resolved_before_escalation == pytest.approx(5 / 8)
    assert s.time_to_fix_median_s == 1800  # 600, 1200, 1800, 3600, 7200
    assert s.time_to_fix_p90_s == pytest.approx(5760)  # rank 3.6: 3600 + 0.6 * (7200 - 3600)


def test_top_lists_rank_by_cases_then_id_and_stop_at_n():
    s = summarize_period(CASES, START, END, SH, top_n=2, names={"shop-a": "Noodle House"},
                         camera_names={"cam1": "Main St east"})  # fmt: skip
    assert [(r.id, r.name, r.cases) for r in s.top_shops] == [("shop-b", None, 3), ("shop-c", None, 3)]
    assert [(r.id, r.name, r.cases) for r in s.top_cameras] == [("cam1", "Main St east", 4), ("cam2", None, 3)]
    everyone = summarize_period(CASES, START, END, SH, top_n=10)
    assert [r.id for r in everyone.top_shops] == ["shop-b", "shop-c", "shop-a"]  # shop-d: nothing confirmed
    assert "" not in [r.id for r in everyone.top_cameras]  # citizens' cases have no camera


def test_nothing_in_the_period():
    s = summarize_period([], START, END, SH)
    assert s.by_kind == [] and s.by_source == [] and s.top_shops == []
    assert s.share_resolved_before_escalation is None and s.time_to_fix_median_s is None
    assert s.time_to_fix_p90_s is None and s.days[0] == dt.date(2026, 3, 1)


def test_percentile():
    assert percentile([], 0.5) is None
    assert percentile([42.0], 0.9) == 42.0
    assert percentile([4, 1, 3, 2], 0.5) == 2.5
    assert percentile([1, 2, 3, 4], 0.9) == pytest.approx(3.7)


def test_local_days_across_a_daylight_saving_change():
    berlin = ZoneInfo("Europe/Berlin")  # 2026-03-29 has 23 hours
    start = dt.datetime(2026, 3, 28, tzinfo=berlin)
    end = dt.datetime(2026, 3, 31, tzinfo=berlin)
    assert local_days(start, end, berlin) == [dt.date(2026, 3, d) for d in (28, 29, 30)]


def test_period_defaults_and_limits():
    now = dt.datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 01:00 on 03-03 in Shanghai
    start, end = period(None, None, now, SH)
    assert end == dt.datetime(2026, 3, 4, tzinfo=SH)  # the local midnight after today
    assert start == dt.datetime(2026, 2, 2, tzinfo=SH) and len(local_days(start, end, SH)) == 30
    assert period(START, None, now, SH) == (START, end)
    with pytest.raises(PeriodError, match="after") as bad:
        period(END, START, now, SH)
    assert bad.value.param == "to"
    with pytest.raises(PeriodError, match="367 days") as long:
        period(START, START + dt.timedelta(days=367), now, SH)
    assert long.value.param == "from"
    with pytest.raises(PeriodError, match="calendar") as edge:
        period(None, dt.datetime(9999, 12, 31, 20, tzinfo=UTC), now, SH)
    assert edge.value.param == "to"


def test_csv_escapes_formulas_and_lists_every_day():
    s = summarize_period(CASES, START, END, SH, names={"shop-b": '=HYPERLINK("http://evil","x")'},
                         camera_names={"cam1": "@SUM(1+1)"})  # fmt: skip
    text = summary_csv(s, {"street": "-1+2", "camera_id": None, "shop_id": None})
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "item", "day", "value", "name"]
    assert ["top_shop", "shop-b", "", "3", '\'=HYPERLINK("http://evil","x")'] in rows
    assert ["top_camera", "cam1", "", "4", "'@SUM(1+1)"] in rows
    assert ["filter", "street", "", "'-1+2", ""] in rows
    assert not any(r[0] == "filter" and r[1] == "camera_id" for r in rows)
    litter = [r for r in rows if r[:2] == ["cases_by_kind", "litter"]]
    assert [(r[2], r[3]) for r in litter] == [("2026-03-01", "0"), ("2026-03-02", "0"), ("2026-03-03", "1")]
    assert ["summary", "time_to_fix_median_h", "", "0.5", "resolved minus opened"] in rows
    assert text.endswith("\r\n")


def test_ground_point_is_the_bottom_centre():
    assert ground_point([100, 50, 200, 150]) == (150.0, 150.0)
    for bad in (None, [1, 2, 3], [0, 0, "x", 1], [0, 0, float("nan"), 1], [True, 0, 1, 1], {"x": 1}):
        assert ground_point(bad) is None
