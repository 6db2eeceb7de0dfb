import datetime as dt
from zoneinfo import ZoneInfo

from frontage.config import ActiveHours
from zones.hours import active_since

TZ = ZoneInfo("Asia/Shanghai")


def at(h, m=0, day=28):
    return dt.datetime(2026, 11, day, h, m, tzinfo=TZ)


def test_no_windows_means_always():
    assert active_since(at(3), []) is not None


def test_day_window():
    w = [ActiveHours(start="07:00", end="22:00")]
    assert active_since(at(6, 59), w) is None
    assert active_since(at(7), w) == at(7)
    assert active_since(at(21, 59), w) == at(7)
    assert active_since(at(22), w) is None


def test_window_past_midnight():
    w = [ActiveHours(start="22:00", end="06:00")]
    assert active_since(at(23), w) == at(22)
    assert active_since(at(2), w) == at(22, day=27)
    assert active_since(at(6), w) is None
    assert active_since(at(12), w) is None


def test_two_windows_pick_the_one_containing_now():
    w = [ActiveHours(start="07:00", end="10:00"), ActiveHours(start="16:00", end="19:00")]
    assert active_since(at(17), w) == at(16)
    assert active_since(at(12), w) is None


def test_touching_windows_run_as_one():
    w = [ActiveHours(start="08:00", end="12:00"), ActiveHours(start="12:00", end="20:00")]
    assert active_since(at(12, 5), w) == at(8)
    w = [ActiveHours(start="22:00", end="02:00"), ActiveHours(start="01:00", end="06:00")]
    assert active_since(at(5), w) == at(22, day=27)
