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
