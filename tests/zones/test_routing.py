"""Routing decisions (zones.routing) on plain data, and the routing section of the config with its errors."""

import numpy as np
import pytest
import yaml

from frontage.config import ConfigError, RoutingConfig, load_config, parse_config
from zones.routing import Sighting, decide, measure, route_case

PARTIES = [{"id": "meituan-bike", "name": "Meituan Bike"}, {"id": "hellobike", "name": "Hellobike"},
           {"id": "eleme", "name": "Ele.me", "kind": "delivery_company"}]  # fmt: skip
RULES = [
    {"name": "delivery-eleme", "classes": ["motorcycle", "bicycle"], "party": "eleme",
     "colour": {"name": "blue", "region": "upper", "solid": 0.1, "min_share": 0.12}},
    {"name": "meituan", "classes": ["bicycle"], "party": "meituan-bike",
     "colour": {"name": "yellow", "min_share": 0.1}},
    {"name": "hellobike", "classes": ["bicycle"], "party": "hellobike", "colour": {"name": "blue", "min_share": 0.1},
     "shops": ["shop-a"]},
]  # fmt: skip
ROUTING = RoutingConfig.model_validate({"parties": PARTIES, "rules": RULES})


def bike(cls="bicycle", **shares) -> Sighting:
    return Sighting(cls, {"delivery-eleme": 0.0, "meituan": 0.0, "hellobike": 0.0} | shares)


def test_one_object_goes_to_the_first_rule_it_matches_and_says_why():
    r = decide(ROUTING, [bike(meituan=0.62)], "shop-a", "cam1")
    assert (r.party, r.rule) == ("meituan-bike", "meituan")
    assert r.reason == "routed to meituan-bike: bicycle, yellow 0.62 >= 0.10 (rule meituan)"
    assert r.data() == {"routed_to": "meituan-bike", "routing_rule": "meituan", "routing_share": 0.62}
    # a blue top box matches the delivery rule first, though the bike is blue enough for Hellobike as well
    r = decide(ROUTING, [bike(**{"delivery-eleme": 0.3, "hellobike": 0.4})], "shop-a", "cam1")
    assert (r.party, r.rule) == ("eleme", "delivery-eleme")
    assert r.reason.endswith("blue 0.30 >= 0.12 of its upper half (rule delivery-eleme)")


def test_nothing_matching_stays_with_the_shop():
    assert decide(ROUTING, [bike(meituan=0.05)], "shop-a", "cam1") is None  # below min_share
    assert decide(ROUTING, [bike("car", meituan=0.9)], "shop-a", "cam1") is None  # not a routed class
    assert decide(ROUTING, [bike(meituan=None)], "shop-a", "cam1") is None  # too small to tell
    assert decide(ROUTING, [], "shop-a", "cam1") is None
    assert decide(RoutingConfig(), [bike(meituan=0.9)], "shop-a", "cam1") is None


def test_shops_and_cameras_limit_where_a_rule_applies():
    assert decide(ROUTING, [bike(hellobike=0.5)], "shop-a", "cam1").party == "hellobike"
    assert decide(ROUTING, [bike(hellobike=0.5)], "shop-b", "cam1") is None  # Hellobike's rule is for shop-a only
    cams = RoutingConfig.model_validate({"parties": PARTIES, "rules": [RULES[1] | {"cameras": ["cam2"]}]})
    assert decide(cams, [bike(meituan=0.5)], "shop-a", "cam1") is None
    assert decide(cams, [bike(meituan=0.5)], "shop-a", "cam2").party == "meituan-bike"


def test_a_pile_goes_to_the_party_most_of_it_belongs_to_and_a_mixed_pile_stays():
    pile = [bike(meituan=0.5), bike(meituan=0.4), bike(meituan=0.3), bike(hellobike=0.5)]
    r = decide(ROUTING, pile, "shop-a", "cam1")
    assert (r.party, r.share) == ("meituan-bike", 0.75)
    assert r.reason == "routed to meituan-bike: 3 of 4 bicycles in the pile match (0.75 > 0.50; rule meituan)"
    mixed = [bike(meituan=0.5), bike(meituan=0.5), bike(hellobike=0.5), bike(hellobike=0.5), bike()]
    assert decide(ROUTING, mixed, "shop-a", "cam1") is None
    half = [bike(meituan=0.5), bike()]
    assert decide(ROUTING, half, "shop-a", "cam1") is None  # half is not most
    assert decide(ROUTING, [bike(), bike()], "shop-a", "cam1") is None


def test_measure_and_route_case_read_the_colours_off_the_frame():
    frame = np.full((200, 300, 3), 120, np.uint8)
    frame[50:150, 20:100:6] = (0, 200, 255)  # thin yellow strokes: a Meituan bike's frame
    frame[50:90, 160:240] = (255, 140, 0)  # a solid blue block on top of a box: a top box
    yellow_bike, top_box = (20, 50, 100, 150), (150, 50, 250, 150)
    [s] = measure(ROUTING, frame, "bicycle", [yellow_bike])
    assert s.shares["meituan"] > 0.1 and s.shares["delivery-eleme"] == 0.0
    assert route_case(ROUTING, frame, "bicycle", [yellow_bike], "shop-a", "cam1").party == "meituan-bike"
    assert route_case(ROUTING, frame, "motorcycle", [top_box], "shop-a", "cam1").party == "eleme"
    assert route_case(ROUTING, frame, "car", [yellow_bike], "shop-a", "cam1") is None  # no rule for cars: not measured
    assert route_case(ROUTING, None, "bicycle", [yellow_bike], "shop-a", "cam1") is None  # no frame (a detections file)


# ---------------------------------------------------------------- the config


BASE = {
    "cameras": [{"id": "cam1"}],
    "shops": [{"id": "shop-a", "name": "A", "responsible": {"name": "r"},
               "frontages": [{"camera_id": "cam1", "polygon": [[0, 0], [100, 0], [100, 100]]}]}],
}  # fmt: skip


def problems(routing: dict) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as exc:
        parse_config(BASE | {"routing": routing}, "routing.yaml")
    return exc.value.problems


def test_routing_config_errors_name_the_path_and_the_reason():
    rule = {"name": "r1", "classes": ["bicycle"], "party": "meituan-bike", "colour": {"name": "yellow"}}
    assert problems({"parties": PARTIES, "rules": [rule | {"party": "mobike"}]}) == [
        ("routing", "rule 'r1': unknown party 'mobike'; known: ['meituan-bike', 'hellobike', 'eleme']")
    ]
    assert problems({"parties": PARTIES, "rules": [rule | {"colour": {"hue": [30, 400]}}]}) == [
        ("routing.rules[0].colour", "hue range [30.0, 400.0]: both ends must lie in 0-360 degrees")
    ]
    assert problems({"parties": PARTIES, "rules": [rule | {"colour": {"hue": [50, 50]}}]}) == [
        ("routing.rules[0].colour", "hue range [50.0, 50.0] is empty: give two different ends")
    ]
    assert problems({"parties": PARTIES, "rules": [rule | {"colour": {"name": "yellow", "hue": [40, 70]}}]}) == [
        ("routing.rules[0].colour", "give exactly one of name (a named colour) or hue (a range in degrees)")
    ]
    assert problems({"parties": PARTIES, "rules": [rule | {"colour": {"name": "gold"}}]})[0][1].startswith(
        "unknown colour 'gold'; known: red, orange, yellow"
    )
    assert problems({"parties": PARTIES, "rules": [rule | {"colour": {"name": "blue", "min_share": 0}}]}) == [
        ("routing.rules[0].colour.min_share", "Input should be greater than 0")
    ]
    assert problems({"parties": PARTIES, "rules": [rule, rule]}) == [("routing", "duplicate rule name(s): r1")]
    assert problems({"parties": PARTIES + [{"id": "shop-a", "name": "x"}]}) == [
        ("routing.parties[3].id", "'shop-a' is also a shop id: credit would mix")
    ]
    assert problems({"parties": PARTIES, "rules": [rule | {"shops": ["shop-z"], "cameras": ["cam9"],
                                                           "classes": ["bicycle", "boat"]}]}) == [  # fmt: skip
        ("routing.rules[0].shops[0]", "unknown shop 'shop-z'"),
        ("routing.rules[0].cameras[0]", "unknown camera 'cam9'"),
        ("routing.rules[0].classes[1]", "class 'boat' is watched by no rule, so nothing of it opens a case"),
    ]
    assert problems({"parties": [{"id": "a b", "name": "x"}]})[0][0] == "routing.parties[0].id"


def test_a_bad_routing_file_names_the_file(tmp_path):
    f = tmp_path / "routes.yaml"
    rule = {"name": "r1", "classes": ["bicycle"], "party": "nobody", "colour": {"name": "yellow"}}
    f.write_text(yaml.safe_dump(BASE | {"routing": {"parties": PARTIES, "rules": [rule]}}))
    with pytest.raises(ConfigError, match=r"routes\.yaml: routing: rule 'r1': unknown party 'nobody'"):
        load_config(f)


def test_the_bundled_example_routes_delivery_before_shared_bikes():
    from pathlib import Path

    cfg = load_config(Path(__file__).resolve().parents[2] / "configs" / "routing.example.yaml")
    names = [r.name for r in cfg.routing.rules]
    assert names.index("delivery-meituan") < names.index("shared-bikes-meituan")
    assert {p.kind.value for p in cfg.routing.parties} == {"bike_operator", "delivery_company"}
    assert cfg.routing.party("hellobike").deadlines["illegal_parking"].fix_within_s == 1800
