"""The camera streams' truth: stands moved onto a looping stream, and opened cases judged against them."""

import pytest

from bench.streams import Opened, Stand, expected, judge, merge, position, recall, sessions, unroll

VAN = Stand("shop-b", "illegal_parking", "truck", 25.0, 205.2)


def case(at: float, shop: str = "shop-b") -> Opened:
    return Opened("cam00", shop, "illegal_parking", at, f"snap-{at}.jpg")


def test_a_stand_moves_with_the_offset_and_repeats_every_loop():
    got = unroll([VAN], clip_s=300, offset_s=20, length_s=700)
    assert [(s.start_s, round(s.end_s, 1)) for s in got] == [(5.0, 185.2), (305.0, 485.2), (605.0, 700)]


def test_a_stand_the_stream_starts_in_begins_at_zero_and_a_negative_offset_wraps():
    assert [(s.start_s, round(s.end_s, 1)) for s in unroll([VAN], 300, 100, 120)] == [(0.0, 105.2)]
    assert [(s.start_s, round(s.end_s, 1)) for s in unroll([VAN], 300, -10, 100)] == [(35.0, 100)]


def test_a_van_parked_for_the_whole_clip_is_one_stand_across_the_seams():
    whole = Stand("shop-a", "illegal_parking", "truck", 0.0, 10.0)
    assert [(s.start_s, s.end_s) for s in unroll([whole], 10, 3, 45)] == [(0.0, 45)]


def test_merge_keeps_other_shops_apart():
    a = Stand("shop-a", "illegal_parking", "truck", 0.0, 5.0)
    b = Stand("shop-b", "illegal_parking", "truck", 5.0, 9.0)
    assert merge([a, b]) == [a, b]
    assert merge([a, Stand("shop-a", "illegal_parking", "truck", 5.2, 9.0)])[0].end_s == 9.0


def test_only_stands_as_long_as_the_dwell_are_due():
    short = Stand("shop-b", "illegal_parking", "truck", 10.0, 24.0)
    assert expected([short, VAN], 15) == [VAN]


def test_a_case_on_time_or_late_while_the_van_stands_matches_and_a_second_is_a_duplicate():
    v = judge([case(38.5), case(120.0)], [VAN], dwell_s=15, tol_s=3, late_s=0)
    assert v.matched == {0: case(38.5)} and v.duplicates == [case(120.0)] and not v.false


def test_cases_too_early_at_another_shop_or_after_the_van_left_are_false():
    v = judge([case(30.0), case(45.0, "shop-a"), case(212.0)], [VAN], dwell_s=15, tol_s=3, late_s=2)
    assert [c.at_s for c, _ in v.false] == [30.0, 45.0, 212.0]
    assert "under the dwell" in v.false[0][1] and "nothing stood" in v.false[1][1]
    assert not judge([case(212.0)], [VAN], 15, 3, late_s=5).false  # a camera that lagged 5 s opens that late


def test_recall_counts_the_cases_due_inside_the_window_with_a_margin():
    due = [VAN, Stand("shop-a", "illegal_parking", "truck", 50.0, 90.0)]
    v = judge([case(41.0)], due, 15, 3, 0)
    assert recall(due, v, 15, window=(20.0, 70.0), margin_s=5) == (1, 2)
    assert recall(due, v, 15, window=(20.0, 69.0), margin_s=5) == (1, 1)  # due at 65 s: too close to the end


def test_position_interpolates_polls_and_runs_at_real_speed_outside_them():
    polls = [(100.0, 2.0), (101.0, 3.0), (103.0, 4.0)]
    assert position(polls, 102.0) == pytest.approx(3.5)
    assert position(polls, 90.0) == pytest.approx(-8.0)
    assert position(polls, 110.0) == pytest.approx(11.0)


def test_a_reconnect_starts_the_stream_again_from_its_first_frame():
    polls = [(0.0, 0, 0), (1.0, 25, 0), (2.0, 50, 0), (3.0, 60, 1), (4.0, 85, 1)]
    assert sessions(polls) == [(0.0, 0.0), (1.0, 1.0), (2.0, 2.0), (3.0, 0.4), (4.0, 1.4)]


def test_busy_cameras_spread_evenly_and_each_double_park_van_falls_due_inside_the_window():
    from bench.cameras import DWELL_S, busy_offset, is_busy

    assert [is_busy(i, 50) for i in range(4)] == [False, True, False, True]
    assert sum(is_busy(i, 25) for i in range(16)) == 4 and not any(is_busy(i, 0) for i in range(8))
    plans = [busy_offset(k, warmup_s=20, seconds=40) for k in range(16)]
    assert [name for name, _ in plans[:4]] == ["double_park", "traffic_lane"] * 2
    assert len({(name, round(o, 1)) for name, o in plans}) == 16  # no two cameras show the same moment
    for _, offset in plans[::2]:  # the van stops 25 s into double_park
        assert 20 <= 25 - offset + DWELL_S <= 20 + 40 - 5
