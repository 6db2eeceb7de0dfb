"""The frontage polygon rules the config and the zone editor share (frontage.polygons): each problem names the
entry, the vertex or edges, and the point to show; the config's own messages stay as they were."""

import pytest

from frontage.config import ConfigError, parse_config
from frontage.polygons import Outline, check_frontages, overlap, shape_flaw

W, H = 640, 360
A = [(20, 200), (300, 200), (300, 350), (20, 350)]
B = [(320, 200), (600, 200), (600, 350), (320, 350)]


def test_good_frontages_have_no_problem():
    assert check_frontages(W, H, [Outline("a", A), Outline("b", B)], {"a", "b"}) == []
    assert check_frontages(W, H, []) == []


def test_two_crossing_edges_are_named_with_the_crossing_point():
    (p,) = check_frontages(W, H, [Outline("a", [(20, 200), (300, 350), (300, 200), (20, 350)])])
    assert (p.shop_id, p.index, p.where, p.point, p.vertex) == ("a", 0, "edges 0 and 2", (160.0, 275.0), None)
    assert p.reason == "invalid polygon: Self-intersection[160 275] (edges 0 and 2 cross there)"


def test_a_ring_that_touches_itself_names_the_vertex():
    flaw = shape_flaw([(0, 0), (10, 0), (10, 10), (0, 0), (0, 10), (-5, 5)])
    assert (flaw.where, flaw.vertex, flaw.point) == ("vertex 0", 0, (0.0, 0.0))


@pytest.mark.parametrize(
    ("points", "why", "where"),
    [
        ([(1, 1), (5, 5)], "at least 3 points, got 2", "polygon"),
        ([(1, 1), (5, float("nan")), (1, 5)], "finite numbers", "vertex 1"),
        ([(1, 1), (5, float("inf")), (1, 5)], "finite numbers", "vertex 1"),
        ([(100, 300), (100.5, 300), (100.5, 300.5)], "degenerate polygon", "vertex 0"),
        ([(100, 300), (200, 300), (300, 300)], "invalid polygon", "vertex 1"),  # collinear: back on itself
    ],
)
def test_unusable_shapes(points, why, where):
    (p,) = check_frontages(W, H, [Outline("a", points)])
    assert why in p.reason and p.where == where


def test_vertices_outside_the_frame_name_the_first_and_list_them_all():
    (p,) = check_frontages(W, H, [Outline("a", [(20, 200), (700, 200), (700, 380), (20, 350)])])
    assert (p.where, p.vertex, p.point) == ("vertex 1", 1, (700.0, 200.0))
    assert p.reason == "vertex 1 (700, 200), 2 (700, 380) outside the 640x360 frame"
    assert check_frontages(W, H, [Outline("a", [(0, 0), (640, 0), (640, 360)])]) == []  # the frame's edge is in


def test_overlap_between_shops_names_both_entries_and_a_point_inside_it():
    inner = [(250, 250), (400, 250), (400, 300), (250, 300)]
    (p,) = check_frontages(W, H, [Outline("a", A), Outline("b", inner)])
    assert (p.shop_id, p.index, p.where, p.point) == ("b", 1, "overlap with entry 0", (275.0, 275.0))
    assert p.reason.startswith("overlaps shop 'a''s frontage (entry 0) by 2500 px²")
    assert check_frontages(W, H, [Outline("a", A), Outline("b", inner, allow_overlap=True)]) == []
    assert check_frontages(W, H, [Outline("a", A), Outline("b", [(300, 200), (400, 200), (400, 350), (300, 350)])]) \
        == []  # a shared edge is no overlap  # fmt: skip
    assert overlap(A, B) == (0.0, None)


def test_unknown_shops_and_a_second_polygon_of_one_shop():
    problems = check_frontages(W, H, [Outline("z", A), Outline("a", A), Outline("a", B)], known_shops={"a"})
    assert [(p.index, p.where, p.reason) for p in problems] == [
        (0, "shop_id", "unknown shop 'z'"),
        (2, "shop_id", "shop 'a' already has a frontage on this camera (entry 1): one polygon per shop and camera"),
    ]


def test_every_problem_comes_back_in_list_order_and_a_broken_polygon_is_no_overlap():
    bowtie = [(20, 200), (300, 350), (300, 200), (20, 350)]
    problems = check_frontages(W, H, [Outline("a", A), Outline("b", bowtie), Outline("c", [(0, 0), (900, 0), (0, 9)])])
    assert [(p.index, p.where) for p in problems] == [(1, "edges 0 and 2"), (2, "vertex 1")]


def test_the_config_keeps_its_messages_with_the_shared_rules():
    base = {
        "cameras": [{"id": "cam1", "width": W, "height": H}],
        "shops": [{"id": "a", "name": "A", "responsible": {"name": "a"},
                   "frontages": [{"camera_id": "cam1", "polygon": [list(p) for p in A]}]}],
    }  # fmt: skip
    base["shops"][0]["frontages"][0]["polygon"] = [[20, 200], [300, 350], [300, 200], [20, 350]]
    with pytest.raises(ConfigError) as exc:
        parse_config(base)
    ((path, reason),) = exc.value.problems
    assert path == "shops[0].frontages[0].polygon"
    assert reason == "invalid polygon: Self-intersection[160 275] (edges 0 and 2 cross there)"


def test_the_zones_config_section_refuses_a_bad_url_or_a_short_token():
    with pytest.raises(ConfigError) as exc:
        parse_config({"zones": {"url": "ftp://console", "token": "short", "poll_s": 0}})
    assert sorted(exc.value.problems) == [
        ("zones.poll_s", "Input should be greater than 0"),
        ("zones.token", "token must be at least 16 characters"),
        ("zones.url", "expected an http:// or https:// URL, got 'ftp://console'"),
    ]
    assert parse_config({"zones": {"url": "https://console.example/"}}).zones.url == "https://console.example"
