from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.gate import ChangeGate

STILL = Path(__file__).resolve().parents[3] / "shared/media/muenster-webcam/trucks-stopped-by-arcade-shops.jpg"


@pytest.fixture(scope="module")
def street():
    img = cv2.imread(str(STILL)) if STILL.is_file() else None
    if img is None:  # a textured synthetic street keeps the test meaningful without the shared stills
        rng = np.random.default_rng(1)
        img = cv2.GaussianBlur(rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8), (9, 9), 3)
    return img


def noisy(img, seed, sigma=3.0):
    rng = np.random.default_rng(seed)
    return np.clip(img.astype(np.float32) + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def test_first_frame_goes_to_the_model(street):
    assert ChangeGate().decide("cam1", street, 0.0).reason == "first"


def test_sensor_noise_is_not_a_change(street):
    gate = ChangeGate(recheck_s=10)
    gate.decide("cam1", noisy(street, 0), 0.0)
    decisions = [gate.decide("cam1", noisy(street, i), 0.5 * i) for i in range(1, 19)]
    assert [d.infer for d in decisions] == [False] * 18


def test_an_object_arriving_is_a_change(street):
    gate = ChangeGate()
    gate.decide("cam1", street, 0.0)
    moved = street.copy()
    cv2.rectangle(moved, (900, 560), (1040, 700), (240, 240, 240), -1)  # a white van's worth of pixels
    d = gate.decide("cam1", moved, 0.5)
    assert d.infer and d.reason == "changed"


def test_forced_recheck_keeps_parked_objects_confirmed(street):
    gate = ChangeGate(recheck_s=10)
    gate.decide("cam1", street, 0.0)
    infers = [t for t in np.arange(0.5, 30.5, 0.5) if gate.decide("cam1", street, float(t)).infer]
    assert infers == [10.0, 20.0, 30.0]


def test_cameras_are_gated_apart(street):
    gate = ChangeGate()
    gate.decide("cam1", street, 0.0)
    assert gate.decide("cam2", street, 0.1).reason == "first"


def test_a_resolution_change_of_the_same_picture_is_not_a_change(street):
    gate = ChangeGate()
    gate.decide("cam1", street, 0.0)
    assert gate.decide("cam1", cv2.resize(street, (640, 360)), 0.5).reason == "unchanged"


SHOP_FRONT = [[(850, 560), (1145, 560), (1130, 715), (850, 715)]]  # bottom right of a 1280x720 frame


def with_box(img, box, colour=(240, 240, 240)):
    out = img.copy()
    cv2.rectangle(out, box[:2], box[2:], colour, -1)
    return out


def test_change_outside_the_frontages_does_not_wake_the_model(street):
    gate = ChangeGate(recheck_s=60)
    gate.set_region("cam1", SHOP_FRONT, (1280, 720))
    gate.decide("cam1", street, 0.0)
    far_lane = with_box(street, (100, 100, 400, 300))  # a bus's worth of change, far from the shop
    assert gate.decide("cam1", far_lane, 1.0).reason == "unchanged"
    at_the_door = with_box(street, (900, 600, 1040, 700))
    assert gate.decide("cam1", at_the_door, 2.0).reason == "changed"


def test_the_region_reaches_a_margin_past_the_polygon(street):
    gate = ChangeGate(recheck_s=60)
    gate.set_region("cam1", SHOP_FRONT, (1280, 720))
    gate.decide("cam1", street, 0.0)
    # a van body just above the polygon (its wheels, the anchor, will be inside next): already counts
    assert gate.decide("cam1", with_box(street, (880, 470, 1100, 555)), 1.0).infer


def test_the_region_follows_a_camera_that_sends_another_size(street):
    gate = ChangeGate(recheck_s=60)
    gate.set_region("cam1", SHOP_FRONT, (1280, 720))
    small = cv2.resize(street, (640, 360))
    gate.decide("cam1", small, 0.0)
    assert gate.decide("cam1", with_box(small, (50, 50, 200, 150)), 1.0).reason == "unchanged"
    assert gate.decide("cam1", with_box(small, (450, 300, 520, 350)), 2.0).reason == "changed"


def test_a_frame_held_back_stays_due_until_sent(street):
    gate = ChangeGate(recheck_s=10)
    first = gate.decide("cam1", street, 0.0, commit=False)
    assert first.infer and gate.decide("cam1", street, 1.0, commit=False).reason == "first"  # nothing sent yet
    gate.sent("cam1", first)
    assert gate.decide("cam1", street, 2.0, commit=False).reason == "unchanged"
    assert gate.decide("cam1", street, 10.0, commit=False).reason == "recheck"
    assert gate.decide("cam1", street, 12.0, commit=False).reason == "recheck"  # still due: not sent


def test_priority_puts_new_cameras_then_changes_first_yet_starves_no_one(street):
    gate = ChangeGate(recheck_s=10)
    moved = with_box(street, (900, 600, 1040, 700))
    for cam in ("changed", "recheck"):
        gate.decide(cam, street, 0.0)
    gate.decide("recheck-starved", street, -30.0)  # has waited 42 s for the model by t=12: over 3 periods
    gate.decide("changed-long-ago", street, -5.0)
    gate.decide("recheck-overdue", street, -10.0)
    decisions = {
        "new": gate.decide("new", street, 12.0, commit=False),
        "changed": gate.decide("changed", moved, 12.0, commit=False),
        "changed-long-ago": gate.decide("changed-long-ago", moved, 12.0, commit=False),
        "recheck": gate.decide("recheck", street, 12.0, commit=False),
        "recheck-overdue": gate.decide("recheck-overdue", street, 12.0, commit=False),
        "recheck-starved": gate.decide("recheck-starved", street, 12.0, commit=False),
    }
    order = sorted(decisions, key=lambda k: decisions[k].priority)
    assert order == ["new", "recheck-starved", "changed-long-ago", "changed", "recheck-overdue", "recheck"]
