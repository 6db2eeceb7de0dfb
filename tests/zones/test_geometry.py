from shapely.geometry import Polygon

from frontage.config import Presence, PresenceMode
from zones.geometry import Zone, anchor, assign_zone, iou, is_inside, overlap_fraction

SQUARE = [(100, 100), (300, 100), (300, 300), (100, 300)]
ANCHOR = Presence()
OVERLAP = Presence(mode=PresenceMode.overlap, min_overlap=0.5)


def zone(points=SQUARE, shop="a"):
    return Zone.from_points(shop, "cam", points)


def test_anchor_is_bottom_centre():
    assert anchor((10, 20, 30, 60)) == (20, 60)


def test_anchor_mode_uses_ground_point_not_box_centre():
    # The box is mostly above the polygon, but its ground point stands inside: it is parked there.
    assert is_inside((150, 0, 250, 200), zone(), ANCHOR)
    # The box covers the polygon, but its ground point is below it: it stands in front, not inside.
    assert not is_inside((150, 150, 250, 350), zone(), ANCHOR)


def test_anchor_on_the_boundary_counts_as_inside():
    assert is_inside((250, 0, 350, 300), zone(), ANCHOR)  # anchor (300, 300) is the corner


def test_overlap_fraction():
    assert overlap_fraction((100, 100, 300, 300), Polygon(SQUARE)) == 1.0
    assert abs(overlap_fraction((200, 100, 400, 300), Polygon(SQUARE)) - 0.5) < 1e-9
    assert overlap_fraction((400, 400, 500, 500), Polygon(SQUARE)) == 0.0


def test_overlap_mode_threshold():
    assert is_inside((200, 100, 400, 300), zone(), OVERLAP)  # exactly half
    assert not is_inside((220, 100, 420, 300), zone(), OVERLAP)


def test_overlapping_frontages_the_one_holding_most_of_the_box_wins():
    a = zone([(0, 0), (200, 0), (200, 200), (0, 200)], "a")
    b = zone([(150, 0), (400, 0), (400, 200), (150, 200)], "b")
    # Ground point (190, 150) is in both; 70% of the box lies in b, 50% in a.
    assert assign_zone((140, 100, 240, 150), [a, b], ANCHOR).shop_id == "b"
    assert assign_zone((100, 100, 180, 150), [a, b], ANCHOR).shop_id == "a"
    assert assign_zone((500, 100, 600, 150), [a, b], ANCHOR) is None


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert abs(iou((0, 0, 10, 10), (5, 0, 15, 10)) - 1 / 3) < 1e-9
