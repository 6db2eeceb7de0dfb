"""The scripted scenarios the end-to-end tests replay through the real model, and the `frontage demo` scene.

All use the trucks still of the Prinzipalmarkt (its own trucks stand outside every frontage) and the three
shops of configs/demo.yaml, loaded from that file so the demo config and its scenario never drift apart.
Times are chosen with margins the detector can keep: vehicles park 25 px or more inside a frontage, leave at
least 10 s (more than exit_grace_s) before the clip ends, and at most one object of interest stands in a
frontage at a time per rule, so each expected case belongs to one actor.

The traffic scenarios (`TRAFFIC`) are streets as busy as real ones: vans, lorries and buses (real cut-outs)
drive up the street through all three frontages, overlap, queue and stop. They run on `traffic_config`: the
demo shops with a parking dwell of 60 s, longer than any stop that belongs to traffic (the bus at its stop,
the queue at the lights), as a real deployment chooses it. They are rendered at 5 frames a second (the
detector samples 1): ten minutes of street stay cheap to render and replay, and the motion between two
sampled frames is the same as at 25.

The goods scenarios (`GOODS`) test the static-object detector of the out_of_store_trading rule end to end:
goods of kinds the model has no class for (furled parasols, a stand, a board: class static_object) set out in a
frontage among passers-by, and what must not become goods: a person standing for minutes, a parked van (its
own rule), dawn, street lights switching on, moving shadows, a bumped camera, a re-aimed camera, a permitted
fixture. They run on `goods_config` (dwell 60 s, one case per shop) at 2 frames a second, sampled once (dawn
every 2 s).
"""

from __future__ import annotations

import copy
import dataclasses
import random
from pathlib import Path

import yaml

from frontage.scenarios.render import Actor, CameraPose, Drop, Scenario
from frontage.scenarios.sprites import (
    BOARD,
    BUS_BLUE,
    CITYHALL_STILL,
    NIGHT_ARCADE_STILL,
    PARASOL,
    PARASOL_MIRRORED,
    PERSON_COAT,
    PERSON_DARK,
    PERSON_DARK_MIRRORED,
    PLANTER,
    STAND,
    TRUCK_GREEN,
    TRUCKS_STILL,
    VAN_WHITE,
    VAN_WHITE_MIRRORED,
    Sprite,
)

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEMO_CONFIG = REPO_ROOT / "configs" / "demo.yaml"

VAN_SCALE = 0.8  # the still's van, shrunk to the size of a van standing further up the street
PLANTER_SCALE = 1.3
PERSON_SCALE = 0.7  # passers-by close to the camera: tall enough to hide a parked van
OFF_BOTTOM = 950.0  # a bottom-centre y that puts a vehicle wholly below the frame

# Ground spots (bottom-centre x, y) inside the demo frontages, away from their edges.
SPOT_A = (985.0, 690.0)  # shop-a, the near strip
SPOT_B = (990.0, 520.0)  # shop-b, the middle strip
PLANTER_SPOT = (1030.0, 500.0)  # shop-b, by the kerb
OUTSIDE_SPOT = (760.0, 700.0)  # mid-street, left of every frontage


def demo_config() -> dict:
    """configs/demo.yaml as a dict (a fresh copy each call)."""
    try:
        return yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FileNotFoundError(f"scenario config {DEMO_CONFIG} not found: {exc.strerror}") from None


def _config(video: str) -> dict:
    data = copy.deepcopy(demo_config())
    data["cameras"][0]["source"] = video
    return data


def park_and_leave(sprite: Sprite, spot: tuple[float, float], arrive: float, leave: float, name: str = "") -> Actor:
    """Drive in from below the frame, stand at `spot` from arrive+5 s, drive back out from `leave`."""
    x, y = spot
    enter = (arrive, x + 25, OFF_BOTTOM)
    return Actor(
        sprite,
        [enter, (arrive + 5, x, y), (leave, x, y), (leave + 5, x + 25, OFF_BOTTOM)],
        scale=VAN_SCALE,
        name=name,
    )


def park_for_good(sprite: Sprite, spot: tuple[float, float], arrive: float, name: str = "") -> Actor:
    x, y = spot
    return Actor(sprite, [(arrive, x + 25, OFF_BOTTOM), (arrive + 5, x, y)], scale=VAN_SCALE, name=name)


def drive_up_the_street(sprite: Sprite, start: float, crawl_s: float = 0.0, name: str = "") -> Actor:
    """Come in from below, crawl through shop-a for crawl_s, go on up the street shrinking, vanish far off."""
    t = start + 3 + crawl_s  # when the vehicle leaves shop-a's strip (y 590)
    keys = [(start, 1000, 920, 1.0), (start + 3, 990, 700, 1.0)]
    keys += [(t, 990, 590, 1.0)] if crawl_s > 0 else []
    keys += [(t + 4, 1005, 400, 0.75), (t + 7, 1010, 300, 0.6), (t + 9, 1010, 265, 0.5)]
    return Actor(sprite, keys, visible_until=t + 9, name=name)


def set_out(
    sprite: Sprite, spot: tuple[float, float], start: float, end: float, scale: float = PLANTER_SCALE, name: str = ""
) -> Actor:
    x, y = spot
    return Actor(sprite, [(0.0, x, y)], scale=scale, visible_from=start, visible_until=end, name=name)


def passers_by(x: float, arrive: float, stay_s: float) -> list[Actor]:
    """Two people walking side by side right to left, stopping for stay_s with their middle at x."""
    walk_s, dist = 4.0, 400.0
    out = []
    for sprite, dx, y in ((PERSON_COAT, -40.0, 718.0), (PERSON_DARK, 70.0, 716.0)):
        keys = [
            (arrive - walk_s, x + dx + dist, y),
            (arrive, x + dx, y),
            (arrive + stay_s, x + dx, y),
            (arrive + stay_s + walk_s, x + dx - dist - 300, y),
        ]
        out.append(Actor(sprite, keys, scale=PERSON_SCALE, visible_from=arrive - walk_s))
    return out


def _scenario(name: str, duration_s: float, actors: list[Actor], description: str) -> Scenario:
    return Scenario(name, TRUCKS_STILL, duration_s, actors, _config(f"{name}.mp4"), description=description)


# ---------------------------------------------------------------- busy streets

TRAFFIC_DWELL_S = 60.0  # longer than any stop that belongs to traffic here (queue stops up to 25 s, bus stops 20 s)
TRAFFIC_FPS = 5
BUS_SCALE = 0.33
PLATOON_S = 1.5  # buses in a platoon enter this far apart: each box overlaps the next one's
# The street from below the frame to where vehicles vanish far off: (x, y, scale factor) and the seconds to get
# there at pace 1. It runs through shop-a's, shop-b's and shop-c's frontages in turn.
STREET = [(1000, 920, 1.0, 0.0), (990, 700, 1.0, 3.0), (995, 560, 0.9, 4.6), (1005, 400, 0.75, 7.0),
          (1010, 300, 0.6, 10.0), (1010, 265, 0.5, 12.0)]  # fmt: skip
# Lanes: sideways offset and pace (a slower lane never has a faster vehicle run through the one ahead).
LANES = {"left": (-45.0, 1.0), "middle": (0.0, 1.25), "right": (45.0, 0.9)}
VEHICLES = [(VAN_WHITE, VAN_SCALE), (VAN_WHITE_MIRRORED, VAN_SCALE), (TRUCK_GREEN, 1.0), (BUS_BLUE, BUS_SCALE)]


def traffic_config(video: str) -> dict:
    """The demo config for a busy street: parking dwell 60 s, grace 8 s, sampled once a second."""
    data = _config(video)
    data["detector"]["sample_fps"] = 1
    data["rules"]["illegal_parking"].update(dwell_s=TRAFFIC_DWELL_S, exit_grace_s=8)
    return data


def drive_by(sprite: Sprite, scale: float, start: float, lane: str = "middle", name: str = "") -> Actor:
    """Drive up the whole street in a lane, from below the frame until it vanishes far off."""
    dx, pace = LANES[lane]
    keys = [(start + t * pace, x + dx, y, f) for x, y, f, t in STREET]
    return Actor(sprite, keys, scale=scale, visible_from=start, visible_until=keys[-1][0], name=name)


def stop_on_the_way(sprite: Sprite, scale: float, start: float, stop: tuple[float, float], wait_s: float,
                    name: str = "") -> Actor:  # fmt: skip
    """Drive in from below, stand at `stop` (a point on the street) for wait_s, drive on up and vanish."""
    x, y = stop
    far = STREET[3:]
    keys = [(start, x + 10, OFF_BOTTOM, 1.0), (start + 4, x, y, 1.0), (start + 4 + wait_s, x, y, 1.0)]
    t0 = start + 4 + wait_s
    keys += [(t0 + (t - far[0][3] + 2.5), fx + (x - 995), fy, f) for fx, fy, f, t in far]
    return Actor(sprite, keys, scale=scale, visible_from=start, visible_until=keys[-1][0], name=name)


def steady_traffic(start: float, end: float, seed: int, lanes: tuple[str, ...] = ("left", "middle", "right"),
                   gap_s: tuple[float, float] = (2.0, 6.0), platoons: float = 0.25) -> list[Actor]:  # fmt: skip
    """A vehicle into the street every 2-6 s, in turn through the lanes; now and then a platoon of two or three
    buses 1.5 s apart, whose boxes overlap from one to the next."""
    rng = random.Random(seed)
    out: list[Actor] = []
    free = dict.fromkeys(lanes, start)  # when each lane can take its next vehicle
    t = start
    while t < end:
        lane = min(lanes, key=lambda name: (max(free[name], t), rng.random()))
        t0 = max(free[lane], t)
        if rng.random() < platoons:
            for k in range(rng.choice((2, 3))):
                out.append(drive_by(BUS_BLUE, BUS_SCALE, t0 + PLATOON_S * k, lane, name=f"bus_{len(out)}"))
            free[lane] = t0 + PLATOON_S * k + 2.0
        else:
            sprite, scale = rng.choice(VEHICLES)
            out.append(drive_by(sprite, scale, t0, lane, name=f"{sprite.name}_{len(out)}"))
            free[lane] = t0 + 2.0
        t = t0 + rng.uniform(*gap_s)
    return out


def stop_and_go(start: float, end: float, seed: int) -> list[Actor]:
    """A queue at the lights: every vehicle moves one place up the street in 3 s, then the queue stands 10-25 s
    (never as long as the dwell); a new vehicle joins at the back each time. The vehicle behind takes the place
    the one ahead just left, box on box."""
    rng = random.Random(seed)
    places = [(1000, OFF_BOTTOM, 1.0), (992, 760, 1.0), (990, 650, 1.0), (995, 540, 0.9), (1000, 455, 0.8),
              (1005, 385, 0.72), (1008, 325, 0.63), (1010, 285, 0.55), (1010, 262, 0.5)]  # fmt: skip
    cycles, t = [], start
    while t < end:
        stand = rng.uniform(10, 25)
        cycles.append((t, t + 3, t + 3 + stand))  # (moves off, arrives, moves off again)
        t += 3 + stand
    actors = []
    for v in range(len(cycles)):
        sprite, scale = VEHICLES[v % len(VEHICLES)]
        keys = []
        for k, (go, arrive, _) in enumerate(cycles[v : v + len(places) - 1]):
            keys += [(go, *places[k]), (arrive, *places[k + 1])]
        if keys:
            actors.append(Actor(sprite, keys, scale=scale, visible_from=keys[0][0], visible_until=keys[-1][0],
                                name=f"queue_{v}"))  # fmt: skip
    return actors


def _traffic(name: str, duration_s: float, actors: list[Actor], description: str,
             light: tuple[tuple[float, float], ...] = ()) -> Scenario:  # fmt: skip
    return Scenario(name, TRUCKS_STILL, duration_s, actors, traffic_config(f"{name}.mp4"), fps=TRAFFIC_FPS,
                    description=description, depth_order=True, light=light)  # fmt: skip


def standing_by(x: float, y: float, start: float, stay_s: float) -> list[Actor]:
    """Two people who walk up to (x, y), stand there stay_s, and walk on."""
    out = []
    for sprite, dx in ((PERSON_COAT, -35.0), (PERSON_DARK, 35.0)):
        keys = [(start, x + dx + 300, y), (start + 4, x + dx, y), (start + 4 + stay_s, x + dx, y),
                (start + 8 + stay_s, x + dx - 400, y)]  # fmt: skip
        out.append(Actor(sprite, keys, scale=0.45, visible_from=start, visible_until=start + 8 + stay_s))
    return out


# ---------------------------------------------------------------- goods of any kind

GOODS_FPS = 2  # the detector samples 1 fps; 2 keep eleven scenarios cheap to render (CI runs them all)
DAWN_FPS = 2
DAWN_SAMPLE_FPS = 0.5  # twenty minutes of nothing set out: a frame every 2 s (each sees twice the light change)
GOODS_DWELL_S = 60.0
GOODS_WARMUP_S = 8.0
FIXTURE_MARGIN = 8.0  # a fixture's polygon is its object box grown by this many pixels on every side
# Where the goods stand: (sprite, ground x, ground y, scale). Shop-a's near strip and shop-b's middle strip,
# spots where the model boxes none of them (tests/test_scenarios_goods_render.py checks every scenario's frames).
ROW_A = [(PARASOL, 905.0, 690.0, 1.2), (STAND, 965.0, 690.0, 1.0), (BOARD, 1030.0, 690.0, 0.8),
         (PARASOL_MIRRORED, 1090.0, 690.0, 1.2)]  # fmt: skip
ROW_B = [(PARASOL, 930.0, 548.0, 1.0), (STAND, 975.0, 548.0, 1.0), (PARASOL_MIRRORED, 1025.0, 548.0, 1.0)]
PARASOLS_A = [(PARASOL, 900.0, 690.0, 1.2), (PARASOL_MIRRORED, 960.0, 690.0, 1.2), (PARASOL, 1020.0, 690.0, 1.1),
              (PARASOL_MIRRORED, 1080.0, 690.0, 1.1)]  # fmt: skip
# Pavement right of the frontages, from below the frame up to where it vanishes; people walk along it.
PAVEMENT = ((1195.0, 760.0), (1105.0, 280.0))
CROSSINGS = (640.0, 480.0, 360.0)  # ground lines on which people cross the street, through the frontages
WALKERS = (PERSON_DARK, PERSON_DARK_MIRRORED, PERSON_COAT)
SHADOW = 0.5  # a passer-by's shadow is half as bright as the sunny paving at its core


def raindrops(start: float, end: float, seed: int, every: tuple[float, float] = (1.0, 4.0)) -> tuple[Drop, ...]:
    """A shower on the lens: a drop lands every 1-4 s, most of them over the frontages, 8-24 px across, and
    runs off within 2-5 s (shorter than anything must stand still to count)."""
    rng = random.Random(seed)
    out: list[Drop] = []
    t = start + rng.uniform(*every)
    while t < end:
        x, y = (
            (rng.uniform(820, 1180), rng.uniform(260, 680))
            if rng.random() < 0.7
            else (rng.uniform(0, 1280), rng.uniform(0, 720))
        )
        out.append(
            Drop(
                round(t, 2),
                round(x, 1),
                round(y, 1),
                round(rng.uniform(4, 12), 1),
                life_s=round(rng.uniform(2, 5), 2),
                run_px=round(rng.uniform(40, 160), 1),
            )
        )
        t += rng.uniform(*every)
    return tuple(out)  # fmt: skip


def goods_config(video: str) -> dict:
    """The demo shops for goods of any kind: the static-object detector on, one case per shop, dwells of 60 s
    for goods and vehicles, grace 8 s, sampled once a second. The clips set goods out from 10 s on, so the
    detector's start-up warm-up (30 s by default) is 8 s here: a box runs for days, a clip for minutes."""
    data = _config(video)
    data["detector"]["sample_fps"] = 1
    data["rules"]["out_of_store_trading"].update(
        static_objects={"enabled": True, "warmup_s": GOODS_WARMUP_S},
        one_case_per_shop=True,
        dwell_s=GOODS_DWELL_S,
        exit_grace_s=8,
        entry_debounce_s=1,
    )
    data["rules"]["illegal_parking"].update(dwell_s=GOODS_DWELL_S, exit_grace_s=8)
    return data


def person_scale(y: float) -> float:
    """A passer-by's scale at ground line y: 70 px tall far up the street, about 160 px at the frame's bottom."""
    return round(0.16 + 0.2 * (y - 300.0) / 420.0, 3)


def walk(sprite: Sprite, path: list[tuple[float, float, float]], shadow: float = 0.0, name: str = "") -> Actor:
    """Walk through (t, x, y) points, scaled for the depth of each, visible from the first to the last."""
    keys = [(t, x, y, person_scale(y)) for t, x, y in path]
    return Actor(sprite, keys, visible_from=path[0][0], visible_until=path[-1][0], shadow=shadow, name=name)


def passers_by_street(start: float, end: float, seed: int, every: tuple[float, float] = (5.0, 11.0),
                      shadow: float = 0.0, sprites: tuple[Sprite, ...] = WALKERS) -> list[Actor]:  # fmt: skip
    """People walking past all the time: along the pavement up or down the street (about 16 s in view), or
    across the street through the frontages (about 14 s); none stops. One sets off every 5-11 s."""
    rng = random.Random(seed)
    out: list[Actor] = []
    t = start + rng.uniform(0, every[0])
    while t < end:
        sprite = rng.choice(sprites)
        if rng.random() < 0.35:
            y = rng.choice(CROSSINGS)
            xs = (640.0, 1260.0) if rng.random() < 0.5 else (1260.0, 640.0)
            path = [(t, xs[0], y), (t + rng.uniform(12, 16), xs[1], y)]
        else:
            (x0, y0), (x1, y1) = PAVEMENT if rng.random() < 0.5 else PAVEMENT[::-1]
            side = rng.uniform(-12, 12)
            path = [(t, x0 + side, y0), (t + rng.uniform(14, 18), x1 + side, y1)]
        out.append(walk(sprite, path, shadow, name=f"passer_{len(out)}"))
        t += rng.uniform(*every)
    return out


def set_out_row(row: list[tuple[Sprite, float, float, float]], start: float, end: float, step_s: float = 3.0,
                prefix: str = "goods") -> list[Actor]:  # fmt: skip
    """Goods carried out one by one step_s apart from `start`, and taken in one by one from `end`."""
    return [
        Actor(sp, [(0.0, x, y)], scale=s, visible_from=start + k * step_s, visible_until=end + k * step_s,
              name=f"{prefix}_{k}_{sp.name}")
        for k, (sp, x, y, s) in enumerate(row)
    ]  # fmt: skip


def fixture_of(actor: Actor, shop_id: str, note: str, margin: float = FIXTURE_MARGIN) -> dict:
    """A camera fixture (config form) whose polygon is the actor's object box grown by `margin`."""
    t = actor.visible_from or 0.0
    x0, y0, x1, y1 = actor.object_box(t)
    x0, y0, x1, y1 = x0 - margin, y0 - margin, x1 + margin, y1 + margin
    poly = [[round(x0, 1), round(y0, 1)], [round(x1, 1), round(y0, 1)], [round(x1, 1), round(y1, 1)],
            [round(x0, 1), round(y1, 1)]]  # fmt: skip
    return {"shop_id": shop_id, "polygon": poly, "note": note}


def _goods(name: str, duration_s: float, actors: list[Actor], description: str, fps: int = GOODS_FPS,
           light: tuple[tuple[float, float], ...] = (), camera: tuple[CameraPose, ...] = (),
           fixtures: list[dict] | None = None, rain: tuple[Drop, ...] = (),
           sample_fps: float | None = None) -> Scenario:  # fmt: skip
    config = goods_config(f"{name}.mp4")
    if sample_fps is not None:
        config["detector"]["sample_fps"] = sample_fps
    if fixtures:
        config["cameras"][0]["fixtures"] = fixtures
    return Scenario(name, TRUCKS_STILL, duration_s, actors, config, fps=fps, description=description,
                    depth_order=True, light=light, camera=camera, rain=rain)  # fmt: skip


def build_goods() -> list[Scenario]:
    standing = walk(PERSON_DARK, [(20.0, 1190.0, 560.0), (30.0, 985.0, 545.0), (630.0, 985.0, 545.0),
                                  (640.0, 1180.0, 520.0), (652.0, 1115.0, 300.0)], name="standing_person")  # fmt: skip
    planter = Actor(PLANTER, [(0.0, 1040.0, 500.0)], scale=PLANTER_SCALE, visible_from=10.0, name="permitted_planter")
    parasol = Actor(PARASOL, [(0.0, 915.0, 545.0)], visible_from=10.0, name="permitted_parasol")
    beside = [(STAND, 975.0, 556.0, 1.0), (BOARD, 967.0, 478.0, 0.7)]  # clear of both fixtures' polygons
    shifted = CameraPose(55.0, dx=12.0, dy=-16.0, zoom=1.05)
    reaimed = CameraPose(70.0, background=CITYHALL_STILL,
                         actors=(Actor(VAN_WHITE_MIRRORED, [(0.0, 940.0, 715.0)], scale=VAN_SCALE, name="new_van"),
                                 Actor(STAND, [(0.0, 1060.0, 640.0)], name="new_stand")))  # fmt: skip
    pause = walk(
        PERSON_DARK_MIRRORED,
        [
            (100.0, 1195.0, 760.0),
            (104.0, 1180.0, 660.0),
            (124.0, 1180.0, 660.0),
            (134.0, 1140.0, 420.0),
            (140.0, 1115.0, 300.0),
        ],
        SHADOW,
        name="pausing",
    )
    return [
        _goods(
            "crates_out",
            300,
            [*set_out_row(ROW_A, 20.0, 220.0, step_s=4.0), *passers_by_street(0.0, 300.0, seed=21)],
            "Four goods no COCO class names (two furled parasols, a stand, a board) are carried out into shop-a's "
            "frontage one by one from 20 s and taken in one by one from 220 s, people walking past all along: "
            "one out_of_store_trading case, opened at 80 s, cleared at 232 s.",
        ),
        _goods(
            "person_stands",
            660,
            [standing, *passers_by_street(0.0, 660.0, seed=22)],
            "A person walks into shop-b's frontage and stands there for ten minutes, then walks off; others "
            "walk past: no case (a person is no goods).",
        ),
        _goods(
            "van_parks",
            300,
            [park_and_leave(VAN_WHITE, SPOT_A, 20.0, 200.0, name="parked_van"), *passers_by_street(0.0, 300.0, 23)],
            "A van parks in shop-a's frontage for three minutes among passers-by: one illegal_parking case "
            "(opened at 85 s, cleared when it drives off at 200 s) and no out_of_store_trading case.",
        ),
        _goods(
            "camera_shift",
            260,
            [*set_out_row(ROW_B, 20.0, 200.0), *passers_by_street(0.0, 260.0, seed=24)],
            "Three goods set out in shop-b's frontage at 20-26 s; at 55 s the camera is bumped (20 px shift, "
            "5 % zoom) and stays so; taken in at 200-206 s: one case, opened at 80 s, cleared at 206 s.",
            camera=(shifted,),
        ),
        _goods(
            "camera_reaimed",
            300,
            [*set_out_row(ROW_B, 30.0, 290.0), *passers_by_street(0.0, 300.0, seed=25)],
            "Goods set out in shop-b's frontage at 30 s; at 70 s, 40 s into their dwell, the camera is re-aimed "
            "at the city hall square (a van and a stand where shop-a's frontage was) for the rest of the clip: no "
            "case (the system must raise camera_moved).",
            camera=(reaimed,),
        ),
        _goods(
            "permitted_planter",
            300,
            [planter, parasol, *set_out_row(beside, 40.0, 220.0), *passers_by_street(0.0, 300.0, seed=26)],
            "Shop-b's permitted planter and parasol (camera fixtures) are set out at 10 s and stay; a stand and a "
            "board are set out beside them at 40-43 s and taken in at 220-223 s: one case from these, opened at "
            "100 s, cleared at 223 s.",
            fixtures=[
                fixture_of(planter, "shop-b", "geranium planter (permitted)"),
                fixture_of(parasol, "shop-b", "café parasol, furled (permitted)"),
            ],
        ),
        _goods(
            "parasols",
            240,
            [*set_out_row(PARASOLS_A, 15.0, 180.0), *passers_by_street(0.0, 240.0, seed=27)],
            "Four furled parasols set out in shop-a's frontage at 15-24 s and taken in at 180-189 s: one case "
            "(one reminder), opened at 75 s, cleared at 189 s.",
        ),
        _goods(
            "dawn",
            1200,
            passers_by_street(0.0, 1200.0, seed=28),
            "Twenty minutes of dawn: the light rises from 35 % to full, people walk past, nothing is set out: no case.",
            light=((0.0, 0.35), (1200.0, 1.0)),
            fps=DAWN_FPS,
            sample_fps=DAWN_SAMPLE_FPS,
        ),
        _goods(
            "street_lights",
            300,
            passers_by_street(0.0, 300.0, seed=29),
            "Dusk at 55 % light; at 150 s the street lights come on at once (80 %); people walk past, nothing is "
            "set out: no case.",
            light=((0.0, 0.55), (150.0, 0.55), (150.0, 0.8)),
        ),
        _goods(
            "shadows",
            300,
            [
                pause,
                *passers_by_street(
                    0.0, 300.0, seed=30, every=(4.0, 8.0), shadow=SHADOW, sprites=(PERSON_DARK, PERSON_DARK_MIRRORED)
                ),
            ],  # fmt: skip
            "Low sun: passers-by cast long shadows that sweep across the frontages, one waits 20 s on the "
            "pavement with its shadow in shop-a's frontage; nothing is set out: no case.",
        ),
        _goods(
            "rain",
            300,
            passers_by_street(0.0, 300.0, seed=31),
            "A shower: drops land on the lens every 1-4 s, most over the frontages, blur what is behind them and "
            "run off within 2-5 s; people walk past; nothing is set out: no case.",
            rain=raindrops(0.0, 300.0, seed=32),
        ),
    ]


def build() -> dict[str, Scenario]:
    s = [
        _scenario(
            "park",
            60,
            [park_and_leave(VAN_WHITE, SPOT_A, 2, 38)],
            "A van drives in, parks in shop-a's frontage for 30 s and drives away: one case opens and clears.",
        ),
        _scenario(
            "drive_through",
            45,
            [drive_up_the_street(TRUCK_GREEN, 3, crawl_s=6)],
            "A lorry crawls through shop-a's frontage for about 8 s and drives on up the street: no case.",
        ),
        _scenario(
            "occluded_park",
            60,
            [park_for_good(VAN_WHITE, SPOT_A, 2), *passers_by(SPOT_A[0], 30, 2)],
            "A van parks in shop-a's frontage to the end; two passers-by hide it for about 4 s "
            "(they walk up, stop 2 s, walk on): one case, never cleared.",
        ),
        _scenario(
            "goods",
            60,
            [set_out(PLANTER, PLANTER_SPOT, 6, 44)],
            "A planter is set out in shop-b's frontage for 38 s and taken in: one out_of_store_trading case.",
        ),
        _scenario(
            "neighbours",
            62,
            [park_and_leave(VAN_WHITE, SPOT_B, 2, 44), park_and_leave(TRUCK_GREEN, SPOT_A, 10, 38)],
            "A van parks in shop-b's frontage and a lorry in shop-a's, next to each other: each case names its "
            "own shop.",
        ),
        _scenario(
            "outside",
            45,
            [Actor(VAN_WHITE_MIRRORED, [(0.0, *OUTSIDE_SPOT)], scale=VAN_SCALE)],
            "A van stands mid-street, outside every frontage, for the whole clip: no case.",
        ),
        _scenario(
            "camera_loop",
            10,
            [
                Actor(VAN_WHITE, [(0.0, *SPOT_A)], scale=VAN_SCALE),
                Actor(VAN_WHITE_MIRRORED, [(0.0, *OUTSIDE_SPOT)], scale=VAN_SCALE),
            ],
            "A short loop for live-camera tests: a van stands in shop-a's frontage and another mid-street the "
            "whole time, so a looping RTSP stream shows a car parked for as long as it plays.",
        ),
        _scenario(
            "demo",
            90,
            [
                Actor(VAN_WHITE_MIRRORED, [(0.0, *OUTSIDE_SPOT)], scale=VAN_SCALE, name="van_outside"),
                park_and_leave(VAN_WHITE, SPOT_A, 3, 50, name="van_parked"),
                set_out(PLANTER, PLANTER_SPOT, 10, 72, name="planter"),
                drive_up_the_street(TRUCK_GREEN, 57, name="lorry_passing"),
            ],
            "Three shops: a van parks in shop-a's frontage (case), a planter stands in shop-b's (case), a lorry "
            "drives through all three and a van waits mid-street outside them (no case).",
        ),
    ]
    bus_stop = (990.0, 520.0)  # in shop-b's frontage
    s += [
        _traffic(
            "traffic_lane",
            600,
            steady_traffic(1.0, 585.0, seed=8),
            "Ten minutes of a busy lane: a vehicle every 2-6 s drives up the street through all three frontages, "
            "platoons of buses whose boxes overlap from one to the next among them: no case.",
        ),
        _traffic(
            "stop_and_go",
            240,
            [*stop_and_go(1.0, 225.0, seed=5), *standing_by(1060.0, 700.0, 30.0, 90.0)],
            "A queue creeping up the street: each vehicle moves one place in 3 s, then stands 10-25 s, into the "
            "place the one ahead just left; every vehicle spends minutes in the frontages. Two people stand 90 s "
            "at the kerb; clouds dim the light over a minute and street lights come on at once: no case.",
            light=((0.0, 1.0), (60.0, 1.0), (120.0, 0.65), (150.0, 0.65), (150.0, 0.85)),
        ),
        _traffic(
            "bus_stop",
            150,
            [
                *steady_traffic(1.0, 140.0, seed=3, lanes=("left",), gap_s=(5.0, 9.0), platoons=0.0),
                stop_on_the_way(BUS_BLUE, BUS_SCALE, 20.0, bus_stop, 20, name="stop_bus_1"),
                stop_on_the_way(BUS_BLUE, BUS_SCALE, 49.0, bus_stop, 20, name="stop_bus_2"),
                stop_on_the_way(BUS_BLUE, BUS_SCALE, 78.0, bus_stop, 20, name="stop_bus_3"),
            ],
            "Three buses in turn stop 20 s at a stop in shop-b's frontage, the next arriving 5 s after the last "
            "left (70 s of bus at the stop in all); cars pass beside them: no case.",
        ),
        _traffic(
            "double_park",
            300,
            [
                *steady_traffic(1.0, 290.0, seed=11, lanes=("left",), gap_s=(3.0, 6.0), platoons=0.1),
                stop_on_the_way(VAN_WHITE_MIRRORED, VAN_SCALE, 21.0, (1025.0, 520.0), 180, name="delivery_van"),
            ],
            "A delivery van double-parks in shop-b's frontage for 3 minutes while traffic passes beside it and "
            "in front of it: one case, opened 60 s after it stopped, cleared when it leaves.",
        ),
    ]
    s += build_goods()
    return {sc.name: sc for sc in s}


SCENARIOS: dict[str, Scenario] = build()
TRAFFIC = ("traffic_lane", "stop_and_go", "bus_stop", "double_park")
GOODS = ("crates_out", "person_stands", "van_parks", "camera_shift", "camera_reaimed", "permitted_planter",
         "parasols", "dawn", "street_lights", "shadows", "rain")  # fmt: skip


# ---------------------------------------------------------------- the right responsible party
# Shared bikes and delivery e-bikes go to the company that answers for them (frontage.config RoutingConfig). The
# scenes show the night arcade still's pavement up close (its `view`, zoomed 2x: 640x360 frames, so the model sees
# the still's real parked bike as large as it needs it) with the arcade shop's frontage along it. The still's own
# parked bike stands in that frontage: painted in place in an operator's livery (sprites.recolour, its texture
# kept), as it is (a private bike), or carrying a top box in a delivery company's colour. Verified with
# yolov8n-coco-int8-640.onnx on the H.264 frames: bicycle 0.56 as it is, 0.67 blue, 0.63 green, yellow reads as
# motorcycle 0.44 and bicycle 0.30 (so the shared-bike rules route both classes), with the blue top box bicycle
# 0.47. Colour shares measured there (detector.colour): yellow 0.09, blue 0.26, green 0.16 of the whole box, the
# private bike at most 0.03 of any; the blue top box 0.22 of the upper half in solid blocks, the blue bike 0.02.

ROUTING_VIEW = (500, 300, 820, 480)  # the part of the night arcade still the camera shows
ROUTING_ZOOM = 2.0
ROUTING_SIZE = (640, 360)
ROUTING_DWELL_S = 6.0
ARCADE_FRONTAGE = [[160, 120], [300, 95], [420, 250], [280, 275]]  # the pavement band, kerb to columns
# The still's parked bike (bicycle 0.62-0.74 in its own surroundings at 1.5-3x), its object box at (601, 351, 648,
# 384) in the still: in the view its ground point is (249, 168), inside the frontage. The still's other bike (by
# the kerb) and the scooter rider stay outside it.
ARCADE_BIKE = Sprite("bike_arcade", NIGHT_ARCADE_STILL, (597, 347, 652, 388), "bicycle", (4, 4, 51, 37))
BIKE_SPOT = ((624.5 - ROUTING_VIEW[0]) * ROUTING_ZOOM, (384.0 - ROUTING_VIEW[1]) * ROUTING_ZOOM)
# Liveries (hue in degrees, least saturation): Meituan yellow, Hellobike blue, Qingju green.
LIVERY = {"yellow": (45.0, 0.9), "blue": (212.0, 0.85), "green": (140.0, 0.8)}
TOP_BOX_SPOT = ((613.0 - ROUTING_VIEW[0]) * ROUTING_ZOOM, (363.0 - ROUTING_VIEW[1]) * ROUTING_ZOOM)
TOP_BOX_SCALE = 0.7  # the red-and-white stand, a crate-sized box, as a top box on the bike's rack


def routing_config(video: str) -> dict:
    """The arcade shop, parking of bicycles and motorcycles (e-bikes) for 6 s, and the routing rules of
    configs/routing.example.yaml with their thresholds measured on this camera."""
    deadline = {"remind_after_s": 0, "fix_within_s": 30}
    parties = [
        {"id": "meituan-bike", "name": "Meituan Bike", "kind": "bike_operator",
         "contact": {"mqtt_topic": "operators/meituan-bike"},
         "deadlines": {"illegal_parking": {"remind_after_s": 0, "fix_within_s": 120}}},
        {"id": "hellobike", "name": "Hellobike", "kind": "bike_operator",
         "deadlines": {"illegal_parking": {"remind_after_s": 0, "fix_within_s": 90}}},
        {"id": "qingju", "name": "Qingju (DiDi)", "kind": "bike_operator"},
        {"id": "eleme", "name": "Ele.me delivery", "kind": "delivery_company",
         "deadlines": {"illegal_parking": {"remind_after_s": 0, "fix_within_s": 15}}},
    ]  # fmt: skip
    two = ["bicycle", "motorcycle"]
    rules = [
        {"name": "delivery-eleme", "classes": two, "party": "eleme",
         "colour": {"name": "blue", "region": "upper", "solid": 0.1, "min_saturation": 0.6, "min_share": 0.12}},
        {"name": "shared-bikes-meituan", "classes": two, "party": "meituan-bike",
         "colour": {"name": "yellow", "min_share": 0.05}},
        {"name": "shared-bikes-hellobike", "classes": two, "party": "hellobike",
         "colour": {"name": "blue", "min_share": 0.12}},
        {"name": "shared-bikes-qingju", "classes": two, "party": "qingju",
         "colour": {"name": "green", "min_share": 0.08}},
    ]  # fmt: skip
    w, h = ROUTING_SIZE
    return {
        "timezone": "Asia/Shanghai",
        "detector": {"weights": "yolov8n.pt", "imgsz": 640, "conf": 0.25, "sample_fps": 1},
        "cameras": [{"id": "arcade", "source": video, "width": w, "height": h, "name": "Arcade pavement, night"}],
        "shops": [
            {"id": "shop-arcade", "name": "Modehaus Arkade", "address": "Prinzipalmarkt 20 (fictional), Münster",
             "responsible": {"kind": "merchant", "name": "Petra Arndt", "contact": {"phone": "+49 251 5550120"}},
             "frontages": [{"camera_id": "arcade", "polygon": ARCADE_FRONTAGE}]},
        ],  # fmt: skip
        "rules": {
            "illegal_parking": {"classes": two, "dwell_s": ROUTING_DWELL_S, "entry_debounce_s": 1,
                                "exit_grace_s": 4, "deadline": deadline},
            "out_of_store_trading": {"enabled": False, "classes": ["chair"], "dwell_s": 60},
        },  # fmt: skip
        "routing": {"parties": parties, "rules": rules},
        "dispatch": {"reminder_channels": ["log"]},
    }


def parked_bike(livery: str | None = None, name: str = "parked_bike") -> Actor:
    """The still's parked bike where it stands, the whole clip; in a livery, or as it is (a private bike)."""
    sprite = ARCADE_BIKE if livery is None else dataclasses.replace(ARCADE_BIKE, name=f"bike_{livery}",
                                                                    tint=LIVERY[livery])  # fmt: skip
    return Actor(sprite, [(0.0, *BIKE_SPOT)], scale=ROUTING_ZOOM, name=name)


def top_box(livery: str) -> Actor:
    box = dataclasses.replace(STAND, name=f"top_box_{livery}", tint=LIVERY[livery], tint_whole=True)
    return Actor(box, [(0.0, *TOP_BOX_SPOT)], scale=TOP_BOX_SCALE, name=f"top_box_{livery}")


def wheeled_through(livery: str, start: float) -> Actor:
    """A bike in a livery wheeled from the street across the frontage into the arcade in 6 s, never stopping."""
    sprite = dataclasses.replace(ARCADE_BIKE, name=f"bike_{livery}_moving", tint=LIVERY[livery], mask="grabcut")
    keys = [(start, 200.0, 330.0), (start + 6.0, 430.0, 190.0)]
    return Actor(sprite, keys, scale=ROUTING_ZOOM, visible_from=start, visible_until=start + 6.0,
                 name=f"bike_{livery}_moving")  # fmt: skip


def _routed(name: str, actors: list[Actor], description: str, duration_s: float = 10.0) -> Scenario:
    return Scenario(name, NIGHT_ARCADE_STILL, duration_s, actors, routing_config(f"{name}.mp4"), fps=2,
                    size=ROUTING_SIZE, description=description, view=ROUTING_VIEW)  # fmt: skip


def build_routing() -> list[Scenario]:
    return [
        _routed("bikes_meituan", [parked_bike("yellow")],
                "A Meituan-yellow shared bike stands in the arcade shop's frontage: one case, routed to Meituan Bike "
                "(rule shared-bikes-meituan), on Meituan's own deadline."),  # fmt: skip
        _routed("bikes_hellobike", [parked_bike("blue")],
                "A Hellobike-blue shared bike in the frontage: one case, routed to Hellobike."),
        _routed("bikes_qingju", [parked_bike("green")],
                "A Qingju-green shared bike in the frontage: one case, routed to Qingju."),
        _routed("bikes_private_passing", [parked_bike(), wheeled_through("yellow", 3.0)],
                "A private bike (no livery) stands in the frontage: one case for the shop. A Meituan-yellow bike "
                "is wheeled across the frontage in 6 s without stopping: nothing."),  # fmt: skip
        _routed("delivery_eleme", [parked_bike(), top_box("blue")],
                "An e-bike with an Ele.me-blue top box on its rack in the frontage: one case, routed to Ele.me "
                "delivery (rule delivery-eleme: a solid blue block in the upper half), not to Hellobike."),
    ]


ROUTING_SCENES: dict[str, str | None] = {  # scenario -> the party its case goes to (None: the shop)
    "bikes_meituan": "meituan-bike",
    "bikes_hellobike": "hellobike",
    "bikes_qingju": "qingju",
    "bikes_private_passing": None,
    "delivery_eleme": "eleme",
}
# Apart from SCENARIOS (the demo street's scenes, which tests/test_scenarios_render.py checks one by one).
ROUTED_SCENARIOS: dict[str, Scenario] = {sc.name: sc for sc in build_routing()}
