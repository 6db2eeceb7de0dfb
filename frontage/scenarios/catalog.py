"""The scripted scenarios the end-to-end tests replay through the real model, and the `frontage demo` scene.

All use the trucks still of the Prinzipalmarkt (its own trucks stand outside every frontage) and the three
shops of configs/demo.yaml, loaded from that file so the demo config and its scenario never drift apart.
Times are chosen with margins the detector can keep: vehicles park 25 px or more inside a frontage, leave at
least 10 s (more than exit_grace_s) before the clip ends, and at most one object of interest stands in a
frontage at a time per rule, so each expected case belongs to one actor.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from frontage.scenarios.render import Actor, Scenario
from frontage.scenarios.sprites import (
    PERSON_COAT,
    PERSON_DARK,
    PLANTER,
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
    return {sc.name: sc for sc in s}


SCENARIOS: dict[str, Scenario] = build()
