"""Colour signatures (detector.colour): the share of a box in a colour, on synthetic pixels and on real crops of
the street stills."""

import numpy as np
import pytest

from detector.colour import box_share, colour_mask, colour_share, crop, region_box, solid_part
from frontage.config import COLOUR_HUES
from tests.scenario_helpers import needs_media

YELLOW_BGR = (0, 200, 255)  # Meituan yellow, about 47 degrees
BLUE_BGR = (255, 140, 0)  # Hellobike blue, about 207 degrees
PAVING = (120, 122, 125)  # grey: no saturation to speak of


def canvas(h=60, w=80, colour=PAVING) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = colour
    return img


def test_a_painted_block_counts_by_its_area_and_grey_paving_never():
    img = canvas()
    img[0:30, 0:40] = YELLOW_BGR  # a quarter of the box
    assert colour_share(img, COLOUR_HUES["yellow"]) == pytest.approx(0.25, abs=0.03)
    assert colour_share(img, COLOUR_HUES["blue"]) == 0.0
    assert colour_share(canvas(), COLOUR_HUES["yellow"], min_saturation=0.2) == 0.0


def test_shadow_keeps_the_hue_only_the_brightness_floor_drops_it():
    img = canvas()
    img[:, :40] = YELLOW_BGR
    shaded = (img.astype(np.float32) * 0.35).astype(np.uint8)  # dusk or a building's shadow: every channel x0.35
    assert colour_share(shaded, COLOUR_HUES["yellow"], min_value=0.2) == pytest.approx(0.5, abs=0.03)
    night = (img.astype(np.float32) * 0.1).astype(np.uint8)  # too dark to have a hue: no evidence of paint
    assert colour_share(night, COLOUR_HUES["yellow"], min_value=0.2) == 0.0


def test_hue_ranges_wrap_through_red():
    img = canvas()
    img[:, :20] = (0, 0, 230)  # red, 0 degrees
    img[:, 20:40] = (60, 0, 230)  # crimson, about 344 degrees
    assert colour_share(img, COLOUR_HUES["red"]) == pytest.approx(0.5, abs=0.03)
    assert colour_share(img, (350.0, 10.0)) == pytest.approx(0.25, abs=0.05)


def test_too_few_pixels_is_no_evidence_and_empty_crops_are_safe():
    img = canvas(6, 6, YELLOW_BGR)
    assert colour_share(img, COLOUR_HUES["yellow"]) is None  # 36 pixels: a box far off
    assert colour_share(canvas(8, 8, YELLOW_BGR), COLOUR_HUES["yellow"]) == 1.0
    assert box_share(canvas(), (500, 500, 600, 600), COLOUR_HUES["yellow"]) is None  # off the frame
    assert crop(canvas(), (-10, -10, 5, 5)).shape == (5, 5, 3)
    assert colour_mask(np.zeros((0, 0, 3), np.uint8), (40, 70), 0.4, 0.2).shape == (0, 0)


def test_regions_measure_the_upper_or_lower_half():
    img = canvas(100, 100)
    img[10:40, 20:80] = BLUE_BGR  # a top box over the rear wheel
    box = (0, 0, 100, 100)
    assert region_box(box, "upper") == (0, 0, 100, 50.0)
    assert box_share(img, box, COLOUR_HUES["blue"], region="upper") == pytest.approx(0.36, abs=0.05)
    assert box_share(img, box, COLOUR_HUES["blue"], region="lower") == 0.0
    assert box_share(img, box, COLOUR_HUES["blue"]) == pytest.approx(0.18, abs=0.02)
    with pytest.raises(ValueError, match="unknown region"):
        region_box(box, "left")


def test_solid_keeps_a_block_and_erases_strokes_of_the_same_colour():
    frame = canvas(100, 100)
    for x in range(5, 95, 15):  # a painted frame: tubes 3 px wide
        frame[:, x : x + 3] = YELLOW_BGR
    boxed = canvas(100, 100)
    boxed[10:40, 30:60] = YELLOW_BGR  # a top box
    hue = COLOUR_HUES["yellow"]
    assert colour_share(frame, hue) > 0.15
    assert colour_share(frame, hue, solid=0.1) == 0.0
    assert colour_share(boxed, hue, solid=0.1) == pytest.approx(0.09, abs=0.02)
    mask = np.zeros((20, 20), bool)
    assert solid_part(mask, 0.0) is mask  # 0: unchanged


# ---------------------------------------------------------------- real crops


@needs_media
def test_real_crops_green_lorry_blue_unit_on_a_van_grey_asphalt():
    """The trucks still in the sun: the green Böll lorry's side, the white van with the blue cooling unit on its
    cab's roof (a real box on top: solid blue in the upper half of the van's box, little in the lower), asphalt."""
    from frontage.scenarios.sprites import TRUCKS_STILL, load_image

    still = load_image(TRUCKS_STILL)
    lorry, van, asphalt = (790, 230, 860, 320), (455, 410, 575, 580), (800, 600, 900, 700)
    assert box_share(still, lorry, COLOUR_HUES["green"]) > 0.3
    assert all(box_share(still, lorry, COLOUR_HUES[c]) < 0.02 for c in ("yellow", "blue", "red"))
    assert box_share(still, van, COLOUR_HUES["blue"], region="upper", solid=0.1) > 0.12
    assert box_share(still, van, COLOUR_HUES["blue"], region="lower", solid=0.1) < 0.06
    assert all(box_share(still, asphalt, hue) == 0.0 for hue in COLOUR_HUES.values())


@needs_media
def test_real_bike_as_it_is_and_repainted_in_each_livery():
    """The night arcade still's parked bike: no livery on it; repainted (frontage.scenarios.sprites.recolour) it
    carries its operator's colour and no other."""
    from frontage.scenarios.catalog import ARCADE_BIKE, LIVERY
    from frontage.scenarios.sprites import flipped_box, load_sprite, recolour

    pixels = np.asarray(load_sprite(ARCADE_BIKE))
    box = flipped_box(ARCADE_BIKE)
    for name in LIVERY:
        assert box_share(pixels, box, COLOUR_HUES[name]) < 0.04, name
    ibox = tuple(round(v) for v in box)
    for name, (hue, sat) in LIVERY.items():
        painted = recolour(pixels, ibox, hue, sat)
        assert box_share(painted, box, COLOUR_HUES[name]) > 0.06, name  # thin yellow strokes read weakest
        assert all(box_share(painted, box, COLOUR_HUES[o]) < 0.04 for o in LIVERY if o != name), name
        assert box_share(painted, box, COLOUR_HUES[name], region="upper", solid=0.1, min_saturation=0.6) < 0.05
