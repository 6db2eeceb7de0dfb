"""Dwell rules replayed on plain detections: hours of street time in milliseconds, no sleeping."""

import datetime as dt

import pytest

from detector.types import Detection, Evidence
from frontage.config import ActiveHours, Rule, RuleKind
from zones.dwell import DwellTracker, EventType
from zones.geometry import Zone

T0 = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
FRONTAGE = Zone.from_points("shop-a", "cam", [(100, 300), (500, 300), (500, 500), (100, 500)])
NEIGHBOUR = Zone.from_points("shop-b", "cam", [(500, 300), (900, 300), (900, 500), (500, 500)])
PARKED = (200, 250, 400, 400)  # ground point (300, 400) inside shop-a


def rule(**kw) -> Rule:
    base = {"classes": ["car", "truck"], "dwell_s": 15, "entry_debounce_s": 1.0, "exit_grace_s": 6.0}
    return Rule(**{**base, **kw})


def tracker(**kw) -> DwellTracker:
    return DwellTracker("cam", RuleKind.illegal_parking, rule(**kw), [FRONTAGE, NEIGHBOUR])


def run(tr: DwellTracker, frames, start=T0):
    """Frames are (t, detections) or (t, detections, evidence)."""
    events = []
    for t, dets, *evidence in frames:
        events += tr.update(t, start + dt.timedelta(seconds=t), dets, *evidence)
    return events


def car(box=PARKED, cls="car", tid=None, conf=0.8):
    return Detection(cls, conf, box, tid)


def timeline(until, every=0.5, present=lambda t: True, det=car):
    """Frames every `every` s from 0 to `until`; `present(t)` says whether the object is detected then."""
    n = round(until / every)
    return [(i * every, [det()] if present(i * every) else []) for i in range(n + 1)]


def opened(events):
    return [e for e in events if e.type is EventType.opened]


def cleared(events):
    return [e for e in events if e.type is EventType.cleared]


def test_parked_car_opens_exactly_at_dwell_and_clears_at_last_sighting():
    ev = run(tracker(), timeline(60, present=lambda t: t < 40))
    assert [(e.shop_id, e.opened_t, e.first_seen_t) for e in opened(ev)] == [("shop-a", 15.0, 0.0)]
    (c,) = cleared(ev)
    assert c.cleared_t == 39.5  # last sighting
    assert c.t == 46.0  # first frame more than exit_grace_s (6 s) after it
    assert c.dwell_s == pytest.approx(39.5)


def test_short_stop_never_opens():
    assert run(tracker(), timeline(60, present=lambda t: t < 14)) == []


def test_drive_through_never_opens():
    # A car crossing the frontage at 60 px/s: inside for ~7 s of the 15 s dwell.
    frames = [(i * 0.5, [car((i * 30 - 100, 250, i * 30 + 100, 400), tid=1)]) for i in range(60)]
    assert run(tracker(), frames) == []


def test_dropout_shorter_than_grace_keeps_one_case():
    ev = run(tracker(), timeline(60, present=lambda t: not 20 <= t < 25))
    assert len(opened(ev)) == 1 and cleared(ev) == []


def test_dropout_longer_than_grace_splits_the_presence():
    ev = run(tracker(), timeline(80, present=lambda t: not 20 <= t < 30))
    assert [e.opened_t for e in opened(ev)] == [15.0, 45.0]  # second presence starts at 30 s
    assert [e.cleared_t for e in cleared(ev)] == [19.5]


def test_dropout_before_the_dwell_is_bridged_and_dwell_keeps_counting():
    ev = run(tracker(), timeline(40, present=lambda t: not 5 <= t < 10))
    assert [e.t for e in opened(ev)] == [15.0]


def test_identity_lost_behind_a_passer_by_is_the_same_case():
    frames = [(t, [car(tid=1 if t < 20 else 7)] if not 20 <= t < 24 else []) for t, _ in timeline(60)]
    ev = run(tracker(), frames)
    assert len(opened(ev)) == 1 and cleared(ev) == []


def test_dwell_reached_while_hidden_opens_once_seen_standing_again_with_the_original_time():
    # Hidden from 13 to 17 s: seen again at its place, it must stand still for the 3 s window before opening.
    ev = run(tracker(), timeline(30, present=lambda t: not 13 <= t < 17))
    (o,) = opened(ev)
    assert (o.t, o.opened_t) == (20.0, 15.0)


def test_opened_time_is_exact_between_sampled_frames():
    frames = [(0.3 + i * 0.7, [car()]) for i in range(40)]
    (o,) = opened(run(tracker(), frames))
    assert o.opened_t == pytest.approx(15.3) and o.t == pytest.approx(15.7)


def test_entry_jitter_restarts_the_dwell_until_the_object_is_stable():
    # Seen at 0, missed at 0.5, seen 1.0, missed 1.5, then steadily from 2.0.
    ev = run(tracker(), timeline(30, present=lambda t: t not in (0.5, 1.5)))
    assert [(e.first_seen_t, e.opened_t) for e in opened(ev)] == [(2.0, 17.0)]


def test_single_frame_false_positives_never_open():
    ev = run(tracker(dwell_s=0), timeline(30, present=lambda t: t in (3.0, 7.0, 12.0)))
    assert ev == []


def test_object_on_the_boundary_flickering_every_frame_never_opens():
    # Ground point jitters across the frontage's lower edge (y=500) from one frame to the next.
    frames = [(i * 0.5, [car((200, 350, 400, 499 if i % 2 else 501))]) for i in range(120)]
    assert run(tracker(), frames) == []


def test_object_on_the_boundary_that_entered_then_flickers_keeps_its_dwell():
    frames = [(i * 0.5, [car((200, 350, 400, 499 if i < 4 or i % 2 else 501))]) for i in range(60)]
    assert [e.opened_t for e in opened(run(tracker(), frames))] == [15.0]


def test_straddling_two_frontages_goes_to_the_one_holding_most():
    ev = run(tracker(), timeline(20, det=lambda: car((430, 300, 650, 480))))
    assert [e.shop_id for e in opened(ev)] == ["shop-b"]


def test_outside_every_frontage_never_opens():
    assert run(tracker(), timeline(60, det=lambda: car((200, 550, 400, 700)))) == []


def test_other_classes_are_ignored():
    assert run(tracker(), timeline(60, det=lambda: car(cls="person"))) == []


def test_two_cars_in_one_frontage_are_two_cases():
    frames = [(t, [car(PARKED), car((300, 300, 480, 450))]) for t, _ in timeline(20)]
    assert len(opened(run(tracker(), frames))) == 2


def test_class_flicker_between_truck_and_car_is_one_case_named_by_majority():
    frames = [(t, [car(cls="truck" if i % 3 else "car")]) for i, (t, _) in enumerate(timeline(20))]
    (o,) = opened(run(tracker(), frames))
    assert o.object_class == "truck"


def test_active_hours_dwell_counts_from_window_start():
    hours = [ActiveHours(start="18:00", end="22:00")]  # Config timezone is applied by the engine; here UTC.
    start = dt.datetime(2026, 11, 28, 17, 59, 50, tzinfo=dt.UTC)
    ev = run(tracker(active_hours=hours), timeline(60), start=start)
    assert [e.opened_t for e in opened(ev)] == [25.0]  # 18:00:00 is t=10; + 15 s dwell


def test_outside_active_hours_never_opens():
    hours = [ActiveHours(start="07:00", end="09:00")]
    assert run(tracker(active_hours=hours), timeline(60)) == []


def test_restored_violation_waits_for_the_cameras_first_frame_before_its_grace_counts():
    tr = tracker()
    tr.restore(key="k1", shop_id="shop-a", box=PARKED, object_class="car", first_seen_t=-100, opened_t=-85, t=0.0)
    # The camera only comes back 30 s later (more than the 6 s grace) and misses the car once.
    ev = run(tr, [(30.0, []), (30.5, [car()])] + [(31 + i, [car()]) for i in range(10)])
    assert ev == []  # no clearing, and no second case: the car matched its restored violation
    ev = run(tr, [(40.5 + 0.5 * i, []) for i in range(16)])  # frames keep coming; the car is gone
    assert [(e.type, e.key, e.cleared_t) for e in ev] == [(EventType.cleared, "k1", 40.0)]


def test_a_dark_camera_never_clears_a_case():
    # Frames stop for 60 s (camera offline). The first frame back misses the car (a passer-by): still one case.
    frames = timeline(30) + [(90.0, [])] + [(90.5 + 0.5 * i, [car()]) for i in range(20)]
    ev = run(tracker(), frames)
    assert [e.type for e in ev] == [EventType.opened]


def test_a_car_that_left_while_the_camera_was_dark_clears_after_the_grace_once_frames_return():
    frames = timeline(30) + [(90.0 + 0.5 * i, []) for i in range(20)]
    ev = run(tracker(), frames)
    assert [(e.type, e.cleared_t) for e in ev] == [(EventType.opened, None), (EventType.cleared, 90.0)]


# -- stillness: only standing still counts ------------------------------------------------------------------------

WIDE = Zone.from_points("shop-w", "cam", [(0, 300), (1280, 300), (1280, 700), (0, 700)])


def wide_tracker(**kw) -> DwellTracker:
    return DwellTracker("cam", RuleKind.illegal_parking, rule(**{"classes": ["car", "truck", "bus"], **kw}), [WIDE])


def at(x: float, y: float = 600, w: float = 200, h: float = 150, cls="car", tid=None) -> Detection:
    """A vehicle whose ground point is (x, y)."""
    return Detection(cls, 0.8, (x - w / 2, y - h, x + w / 2, y), tid)


def test_a_vehicle_crawling_through_a_long_frontage_never_accrues_dwell():
    # 60 s inside the frontage (four times the dwell), creeping at 20 px/s: a queue, never parked.
    frames = [(i * 0.5, [at(40 + 10 * i, tid=3)]) for i in range(120)]
    assert run(wide_tracker(), frames) == []


def test_a_chain_of_buses_with_overlapping_boxes_never_adds_up_to_a_dwell():
    # Ten minutes of buses 3 s apart, each 400 px long, driving at 120 px/s: the last box of one overlaps the
    # first box of the next (IoU well above 0.3), with and without the tracker's ids, and with one id handed on.
    for ids in ("none", "each", "handed_on"):
        frames = []
        for i in range(1200):
            t = i * 0.5
            k, into = divmod(t, 3.0)
            tid = None if ids == "none" else (1 if ids == "handed_on" else int(k))
            frames.append((t, [at(200 + 120 * into, w=400, h=220, cls="bus", tid=tid)]))
        assert run(wide_tracker(), frames) == []
        # The same frames, with the buses standing still instead of driving, do open: the rule sees buses.
        assert opened(run(wide_tracker(), [(t, [Detection("bus", 0.8, (0, 380, 400, 600), 1)]) for t, _ in frames]))


def test_stop_and_go_is_bounded_by_dwell_s():
    # Stops of 12 s, then 2 s rolling 60 px forward: 3 minutes in the frontage, never 15 s still in one place.
    def frames(stop_s):
        out, x, t = [], 100.0, 0.0
        while t < 180:
            for _ in range(round(stop_s / 0.5)):
                out.append((t, [at(x, tid=4)]))
                t += 0.5
            for _ in range(4):
                x += 15
                out.append((t, [at(x, tid=4)]))
                t += 0.5
        return out

    assert run(wide_tracker(), frames(12)) == []
    # Stops longer than dwell_s (20 s) are parking as far as the rule can tell: a case, once per stop place.
    ev = run(wide_tracker(repeat_window_s=0), frames(20))
    assert len(opened(ev)) == 1  # one object: its case stays open while it rolls on


def test_a_bus_waiting_at_a_stop_shorter_than_dwell_s_opens_nothing_and_a_longer_wait_does():
    def bus_stop(wait_s):
        arrive = [(i * 0.5, [at(100 + 25 * i, w=400, h=220, cls="bus", tid=9)]) for i in range(20)]
        x = 100 + 25 * 19
        wait = [(10 + i * 0.5, [at(x, w=400, h=220, cls="bus", tid=9)]) for i in range(round(wait_s / 0.5))]
        t0 = 10 + wait_s
        leave = [(t0 + i * 0.5, [at(x + 25 * i, w=400, h=220, cls="bus", tid=9)]) for i in range(1, 20)]
        return arrive + wait + leave

    assert run(wide_tracker(dwell_s=30), bus_stop(20)) == []
    (o,) = opened(run(wide_tracker(dwell_s=30), bus_stop(45)))
    # Dwell counts from when it stopped (10 s), not from entering (0 s); the last metre of its approach, within
    # the tolerance of where it stopped, may count too.
    assert 10 + 30 - 1.5 <= o.opened_t <= 10 + 30


def test_a_car_that_drives_off_and_a_lookalike_that_stops_in_its_place_are_two_dwells():
    # Car A stands 10 s (dwell 15), is seen rolling away for a second and lost; 2 s later car B (other track id,
    # identical box) stands at the same place for 10 s. Together 20 s: no case, because A was seen leaving.
    frames = [(i * 0.5, [at(400, tid=1)]) for i in range(20)]
    frames += [(10 + i * 0.5, [at(400 + 40 * (i + 1), tid=1)]) for i in range(2)]
    frames += [(11 + i * 0.5, []) for i in range(4)]
    frames += [(13 + i * 0.5, [at(400, tid=2)]) for i in range(20)]
    frames += [(23 + i * 0.5, []) for i in range(30)]
    assert run(wide_tracker(), frames) == []


def test_a_lost_track_comes_back_only_at_its_own_place_and_in_a_compatible_class():
    parked = [(i * 0.5, [at(400, tid=1)]) for i in range(16)]  # 8 s standing
    gap = [(8 + i * 0.5, []) for i in range(4)]  # lost for 2 s
    for back, same in (
        (at(400, tid=2), True),  # a new track id at the same place: the same car
        (at(400, cls="truck", tid=2), True),  # read as truck now: one group with car
        (at(470, tid=2), False),  # 70 px along (a third of its length): another car
        (at(400, cls="motorcycle", tid=2), False),  # another kind of vehicle
    ):
        after = [(10 + i * 0.5, [back]) for i in range(20)]
        ev = run(wide_tracker(classes=["car", "truck", "motorcycle"]), parked + gap + after)
        # The same car reaches 15 s of dwell at 15 s (the 2 s gap is bridged); another object only at 25 s.
        assert [round(e.opened_t) for e in opened(ev)] == ([15] if same else []), back


def test_box_jitter_and_a_passer_by_clipping_the_box_do_not_reset_the_dwell():
    frames = []
    for i in range(60):
        t = i * 0.5
        x = 400 + (6 if i % 2 else -6)  # a few pixels of jitter every frame
        if 12 <= t < 14:  # a passer-by hides the car's left half for 2 s: its box shrinks to the right half
            frames.append((t, [Detection("car", 0.6, (400, 450, 500, 600), 1)]))
        else:
            frames.append((t, [at(x, tid=1)]))
    (o,) = opened(run(wide_tracker(), frames))
    # Back at its place within the window: it never left, the 2 s are bridged, the dwell is timed exactly.
    assert o.opened_t == pytest.approx(15.0)


# -- evidence: only what the model saw decides -------------------------------------------------------------------


def test_carried_detections_of_a_passing_car_are_never_a_sighting():
    # The model saw a car passing at 0 and 0.5 s, then had no time for the changing picture: its stale box is
    # carried forward for a minute. No dwell, no case, however long the carry.
    frames = [(0.0, [at(300)]), (0.5, [at(330)])]
    frames += [(1 + i * 0.5, [at(330)], Evidence.carried) for i in range(40)]
    frames += [(21 + i * 0.5, [at(330)], Evidence.unknown) for i in range(80)]
    assert run(wide_tracker(), frames) == []


def test_carried_time_is_bridged_when_the_car_is_seen_at_its_place_again():
    # Under load the model sees every other frame; the frames between are carried. The dwell is timed exactly.
    frames = [(i * 0.5, [at(400)], Evidence.seen if i % 2 == 0 else Evidence.carried) for i in range(60)]
    (o,) = opened(run(wide_tracker(), frames))
    assert (o.opened_t, o.t) == (15.0, 15.0)


def test_unknown_time_adds_no_dwell():
    # 10 s seen, 4 s the model did not look at (within the grace), then seen again: the case opens 4 s late.
    frames = [(i * 0.5, [at(400)]) for i in range(20)]
    frames += [(10 + i * 0.5, [at(400)], Evidence.unknown) for i in range(8)]
    frames += [(14 + i * 0.5, [at(400)]) for i in range(30)]
    (o,) = opened(run(wide_tracker(), frames))
    assert o.opened_t == pytest.approx(19.5, abs=0.01)  # 15 s of dwell, of which 4.5 s could not be vouched for


def test_unknown_time_longer_than_the_grace_starts_the_dwell_again():
    frames = [(i * 0.5, [at(400)]) for i in range(24)]  # 12 s
    frames += [(12 + i * 0.5, [], Evidence.unknown) for i in range(40)]  # 20 s nobody looked
    frames += [(32 + i * 0.5, [at(400)]) for i in range(40)]
    (o,) = opened(run(wide_tracker(), frames))
    assert o.opened_t == pytest.approx(32 + 15)


def test_unknown_time_never_clears_a_case():
    frames = [(i * 0.5, [at(400)]) for i in range(40)]  # opens at 15 s
    frames += [(20 + i * 0.5, [], Evidence.unknown) for i in range(240)]  # two minutes unknown, nothing detected
    frames += [(140 + i * 0.5, [at(400)]) for i in range(10)]
    ev = run(wide_tracker(), frames)
    assert [e.type for e in ev] == [EventType.opened]


def test_unchanged_frames_are_sightings_but_a_case_opens_only_on_a_frame_the_model_saw():
    tr = wide_tracker()
    # The model saw the car at 0 s; the gate found every frame after it unchanged until a re-check at 20 s.
    frames = [(0.0, [at(400)])] + [(i * 0.5, [at(400)], Evidence.unchanged) for i in range(1, 40)]
    assert run(tr, frames) == []
    assert tr.awaiting_look  # the dwell is reached: the service asks the model for a look
    (o,) = opened(run(tr, [(20.0, [at(400)])]))
    assert (o.opened_t, o.t) == (15.0, 20.0)
    assert not tr.awaiting_look


def test_a_car_that_left_while_frames_were_carried_clears_at_its_last_sighting():
    frames = [(i * 0.5, [at(400)]) for i in range(40)]
    frames += [(20 + i * 0.5, [at(400)], Evidence.carried) for i in range(4)]  # stale box; the car is gone
    frames += [(22 + i * 0.5, []) for i in range(20)]
    ev = run(wide_tracker(), frames)
    assert [(e.type, e.cleared_t) for e in ev] == [(EventType.opened, None), (EventType.cleared, 19.5)]


# -- restarts ---------------------------------------------------------------------------------------------------


def test_dwell_survives_a_restart_within_the_grace():
    before = wide_tracker()
    run(before, [(i * 0.5, [at(400, tid=5)]) for i in range(21)])  # 10 s standing, then the process dies
    (state,) = before.checkpoint()
    assert state.still_s == 10.0
    # The new process counts t from its own start, 14 s later: the checkpoint's times are shifted by that.
    shifted = type(state)(state.key, state.shop_id, state.object_class, state.box, state.first_seen_t - 14,
                          state.last_seen_t - 14, state.still_s)  # fmt: skip
    after = wide_tracker()
    after.resume(shifted)
    ev = run(after, [(i * 0.5, [at(400, tid=1)]) for i in range(30)])  # back 4 s after its last sighting (-4 s)
    (o,) = opened(ev)
    assert o.key == state.key and o.opened_t == pytest.approx(15 - 14)  # the undisturbed time
    assert o.t == pytest.approx(3.0)  # once seen standing still for the window again


def test_dwell_after_a_restart_longer_than_the_grace_starts_again_and_a_car_gone_is_forgotten():
    state = None
    tr = wide_tracker()
    run(tr, [(i * 0.5, [at(400)]) for i in range(21)])
    (state,) = tr.checkpoint()
    late = wide_tracker()
    late.resume(state)
    ev = run(late, [(10 + 7 + i * 0.5, [at(400)]) for i in range(40)])  # 7 s later: more than the 6 s grace
    assert [round(e.opened_t) for e in opened(ev)] == [17 + 15]
    gone = wide_tracker()
    gone.resume(state)
    assert run(gone, [(12 + i * 0.5, []) for i in range(20)]) == [] and gone.checkpoint() == []


def test_an_open_case_keeps_the_absence_it_had_built_up_before_a_restart():
    before = wide_tracker()
    ev = run(before, [(i * 0.5, [at(400)]) for i in range(40)] + [(20 + i * 0.5, []) for i in range(8)])
    assert [e.type for e in ev] == [EventType.opened]  # the car left at 19.5 s; 4 s of its 6 s grace are gone
    states = {st.key: st for st in before.checkpoint()}
    (gone,) = states.values()
    assert gone.opened and gone.absent_s == pytest.approx(4.0)
    after = wide_tracker()
    after.restore(key=gone.key, shop_id="shop-w", box=gone.box, object_class="car", first_seen_t=-60,
                  opened_t=-45, t=0.0)  # fmt: skip
    assert after.resume(gone)
    # The camera's first frames after the restart still do not show the car: the case clears 2 s later, not 6.
    ev = run(after, [(i * 0.5, []) for i in range(10)])
    assert [(e.type, e.t) for e in ev] == [(EventType.cleared, 2.5)]


def test_an_object_not_yet_still_for_the_window_keeps_what_it_stood_across_a_restart():
    before = wide_tracker()
    run(before, [(i * 0.5, [at(400)]) for i in range(5)])  # 2 s standing: not yet at rest (window 3 s)
    (state,) = before.checkpoint()
    assert state.still_s == 2.0 and not state.opened
    after = wide_tracker()
    after.resume(state)
    (o,) = opened(run(after, [(6 + i * 0.5, [at(400)]) for i in range(30)]))  # back 4 s after its last sighting
    assert o.opened_t == pytest.approx(15.0)  # the undisturbed time: it stood from 0 s


def test_a_parked_van_whose_track_id_the_passing_traffic_takes_stays_one_object():
    # The tracker hands the parked van's id to a bus passing in front of it for a frame; the van, hidden, comes
    # back at its place without an id. The van's dwell goes on and its case opens at the undisturbed time.
    frames = [(float(i), [at(400, tid=46)]) for i in range(10)]
    frames += [(10.0, [at(250, w=300, h=200, cls="bus", tid=46)])]  # the thief, off the van's place
    frames += [(11.0 + i, [at(400)]) for i in range(3)] + [(14.0 + i, [at(400, tid=117)]) for i in range(10)]
    (o,) = opened(run(wide_tracker(), frames))
    assert o.opened_t == pytest.approx(15.0)


def test_the_next_bus_at_a_stop_gets_its_own_case_even_under_the_same_track_id():
    # The tracker gives the second bus the first one's id (a lost track picked up at the same place). The first
    # bus was seen pulling out, so the two never add up: two cases, the first cleared when its bus left.
    bus = dict(w=400, h=220, cls="bus", tid=32)
    frames = [(float(i), [at(400, **bus)]) for i in range(20)]  # bus 1 stands 20 s (dwell 15)
    frames += [(20.0, [at(470, **bus)]), (21.0, [at(560, **bus)])]  # pulls out
    frames += [(22.0 + i, []) for i in range(3)]  # gone
    frames += [(25.0 + i, [at(400, **bus)]) for i in range(20)]  # bus 2, same id, same place
    frames += [(45.0 + i, []) for i in range(12)]
    ev = run(wide_tracker(), frames)
    assert [(e.type, e.opened_t, e.cleared_t) for e in ev] == [
        (EventType.opened, 15.0, None), (EventType.cleared, 15.0, 19.0),
        (EventType.opened, 40.0, None), (EventType.cleared, 40.0, 44.0),
    ]  # fmt: skip


def test_vehicles_seen_now_and_then_at_one_spot_never_add_up_to_one_that_stands():
    # Far up the street, where vehicles crawl and vanish, a bus or truck is detected at one spot one frame in
    # two or three, each time another vehicle (no track id: none is seen long enough to get one). Their boxes
    # fall within the tolerance of each other. Five minutes of it open nothing; a vehicle seen there in every
    # frame does.
    spots = [318, 322, 315, 325, 320]
    frames = [(float(i), [at(400, y=spots[i % 5], w=180, h=90, cls="bus")] if i % 3 != 1 else []) for i in range(300)]
    assert run(wide_tracker(), frames) == []
    steady = [(float(i), [at(400, y=spots[i % 5], w=180, h=90, cls="bus")]) for i in range(30)]
    assert len(opened(run(wide_tracker(), steady))) == 1
