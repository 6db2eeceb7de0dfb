"""Evidence for each audience, on real stills with the real model's boxes: no person region in a merchant's,
citizen's or the platform's evidence keeps its original pixels; non-subject vehicles are blurred for merchants and
citizens, kept for the platform; the subject keeps its pixels, even around a person standing in it."""

from __future__ import annotations

import datetime as dt

import cv2
import numpy as np
import pytest

from detector.types import Detection
from detector.yolo import YoloDetector
from dispatch.case_evidence import render_case
from dispatch.cases import CaseRecorder
from dispatch.db import CaseRow, make_engine
from dispatch.evidence import privacy_classes, privacy_finder
from dispatch.privacy import POLICIES, ROLE_AUDIENCE, Audience, redact, render_evidence
from dispatch.workflow import Workflow
from frontage.assets import shared_dir
from frontage.clock import ManualClock
from frontage.config import Role, RuleKind, parse_config
from zones.dwell import EventType, ViolationEvent

TRUCKS, PEDESTRIANS = "trucks-stopped-by-arcade-shops.jpg", "pedestrians-bikes-shopfronts.jpg"
VEHICLES = {"car", "truck", "bus", "motorcycle", "bicycle"}
REDACTED = (Audience.merchant, Audience.citizen, Audience.platform, Audience.console)
T0 = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)

Box = tuple[float, float, float, float]


@pytest.fixture(scope="module")
def model(weights, assets_ready) -> YoloDetector:
    return YoloDetector(parse_config({}).detector, weights)


@pytest.fixture(scope="module")
def scenes(model) -> dict[str, tuple[np.ndarray, list[Detection]]]:
    """The stills (assets_ready: present, or the test fails in CI) with what the model finds on them."""
    media = shared_dir() / "media" / "muenster-webcam"
    out = {}
    for name in (TRUCKS, PEDESTRIANS):
        image = cv2.imread(str(media / name))
        assert image is not None, f"{media / name} does not decode"
        out[name] = (image, model.detect([image])[0])
    return out


def boxes(dets: list[Detection], classes: set[str]) -> list[Box]:
    return [d.xyxy for d in dets if d.cls in classes]


def decode(jpeg: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)


def crop(image: np.ndarray, box: Box) -> np.ndarray:
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    return image[y1:y2, x1:x2]


def head(box: Box) -> Box:
    """Where a standing person's face is: the top quarter of the box."""
    x1, y1, x2, y2 = box
    return (x1, y1, x2, y1 + (y2 - y1) / 4)


def detail(region: np.ndarray) -> float:
    """High-frequency energy: what makes a face or a plate readable."""
    return float(cv2.Laplacian(cv2.cvtColor(region, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def kept_pixels(original: np.ndarray, rendered: np.ndarray) -> float:
    """The share of pixels the rendering leaves as they were (within JPEG noise)."""
    return float((np.abs(original.astype(int) - rendered.astype(int)) <= 2).all(axis=2).mean())


def assert_gone(original: np.ndarray, rendered: np.ndarray, box: Box, what: str) -> None:
    a, b = crop(original, box), crop(rendered, box)
    assert detail(b) < 0.1 * detail(a), f"{what}: {detail(b):.0f} of {detail(a):.0f} detail left"
    assert kept_pixels(a, b) < 0.25, f"{what}: {kept_pixels(a, b):.0%} of its pixels kept"


def assert_kept(original: np.ndarray, rendered: np.ndarray, box: Box, what: str) -> None:
    diff = np.abs(crop(original, box).astype(int) - crop(rendered, box).astype(int))
    assert diff.mean() < 3.0 and (diff <= 12).mean() > 0.98, f"{what}: mean difference {diff.mean():.1f}"


def test_policy_table_and_roles():
    assert {a: (p.blur_people, p.blur_vehicles) for a, p in POLICIES.items()} == {
        Audience.operator: (False, False), Audience.admin: (False, False), Audience.console: (True, False),
        Audience.platform: (True, False), Audience.merchant: (True, True), Audience.citizen: (True, True),
    }  # fmt: skip
    staff, merchants = (Role.admin, Role.operator), (Role.merchant, Role.inspector)
    assert all(ROLE_AUDIENCE[r] is Audience.console for r in staff)
    assert all(ROLE_AUDIENCE[r] is Audience.merchant for r in merchants)


def test_people_and_other_vehicles_blurred_by_audience_the_subject_kept(scenes):
    image, dets = scenes[TRUCKS]
    people, vehicles = boxes(dets, {"person"}), boxes(dets, VEHICLES)
    assert len(people) >= 2 and len(vehicles) >= 3  # the model sees the scene: two people, the trucks, a car
    subject = max(vehicles, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))  # the truck stopped at the arcade
    others = [v for v in vehicles if v != subject]
    renders = {a: decode(render_evidence(image, [subject], people, vehicles, a)) for a in Audience}
    for audience in REDACTED:
        out = renders[audience]
        for i, p in enumerate(people):
            assert_gone(image, out, p, f"{audience}: person {i}")
        assert_kept(image, out, subject, f"{audience}: the subject")
    for v in others:
        for audience in (Audience.merchant, Audience.citizen):
            assert_gone(image, renders[audience], v, f"{audience}: a vehicle that is not the subject")
        if not any(_overlaps(v, p) for p in people):
            assert_kept(image, renders[Audience.platform], v, "platform: plates are kept for enforcement")
    for audience in (Audience.operator, Audience.admin):
        assert_kept(image, renders[audience], (0, 0, image.shape[1], image.shape[0]), f"{audience}: the original")


def _overlaps(a: Box, b: Box) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def test_every_face_in_a_crowd_is_unrecognisable(scenes):
    image, dets = scenes[PEDESTRIANS]
    people = boxes(dets, {"person"})
    assert len(people) >= 8
    goods = (40.0, 420.0, 300.0, 700.0)  # the subject: goods set out at a shopfront, nobody in it
    assert not any(_overlaps(goods, p) for p in people)
    for audience in (Audience.merchant, Audience.platform):
        out = redact(image, [goods], people, [], audience)
        for i, p in enumerate(people):
            assert_gone(image, out, p, f"{audience}: person {i}")
            face = crop(out, head(p)).astype(int) - crop(image, head(p)).astype(int)
            assert np.abs(face).mean() > 4, f"{audience}: face {i} keeps its pixels"
        assert np.array_equal(crop(out, goods), crop(image, goods))  # byte for byte before the JPEG


def test_a_person_in_the_subject_box_is_blurred_the_rest_of_the_subject_kept(scenes):
    image, dets = scenes[PEDESTRIANS]
    person = max(boxes(dets, {"person"}), key=lambda b: b[3] - b[1])
    x1, y1, x2, y2 = person
    subject = (x1 - 80, y1 - 40, x2 + 80, min(image.shape[0], y2 + 20))  # a stall she stands at
    out = redact(image, [subject], [person], [], Audience.merchant)
    assert_gone(image, out, person, "the person at the stall")
    keep = np.zeros(image.shape[:2], bool)
    keep[int(subject[1]) : int(subject[3]), int(subject[0]) : int(subject[2])] = True
    w, h = x2 - x1, y2 - y1
    keep[int(y1 - 0.15 * h) : int(np.ceil(y2 + 0.15 * h)), int(x1 - 0.15 * w) : int(np.ceil(x2 + 0.15 * w))] = False
    assert keep.sum() > 10_000 and np.array_equal(out[keep], image[keep])


def test_without_boxes_everything_but_the_subject_is_blurred_for_whoever_must_not_see_people(scenes):
    image, dets = scenes[PEDESTRIANS]
    goods = (40.0, 420.0, 300.0, 700.0)
    out = redact(image, [goods], None, None, Audience.merchant)
    for i, p in enumerate(boxes(dets, {"person"})):
        assert_gone(image, out, p, f"unknown boxes: person {i}")
    assert np.array_equal(crop(out, goods), crop(image, goods))
    assert np.array_equal(redact(image, [goods], None, None, Audience.operator), image)


def test_the_annotation_is_drawn_over_the_redaction(scenes):
    image, dets = scenes[TRUCKS]
    subject = max(boxes(dets, VEHICLES), key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    plain = decode(render_evidence(image, [subject], [], [], Audience.merchant))
    annotated = decode(render_evidence(image, [subject], [], [], Audience.merchant, polygon=[(400, 300), (760, 300),
                                       (760, 600), (400, 600)], lines=["illegal parking: bus  shop s1"]))  # fmt: skip
    x1, y1 = int(subject[0]), int(subject[1])
    b, g, r = (int(v) for v in annotated[y1, x1 + 20])
    assert r > 180 and g < 90 and b < 90  # the subject's red outline
    assert not np.array_equal(plain, annotated)


def _recorder(tmp_path, cfg_dict: dict) -> tuple[CaseRecorder, Workflow]:
    cfg = parse_config(cfg_dict)
    engine = make_engine(f"sqlite:///{tmp_path / 'cases.db'}")
    wf = Workflow(engine, cfg, ManualClock(T0))
    polygons = {("s1", "cam1"): [(float(x), float(y)) for x, y in FRONTAGE]}
    return CaseRecorder(engine, tmp_path / "snaps", polygons, workflow=wf), wf


FRONTAGE = [[420, 300], [760, 300], [760, 585], [420, 585]]
SHOP = {"id": "s1", "name": "Arcade", "responsible": {"name": "Li"},
        "frontages": [{"camera_id": "cam1", "polygon": FRONTAGE}]}  # fmt: skip


def test_the_recorder_keeps_the_original_and_the_boxes_and_serves_each_audience(scenes, tmp_path):
    image, dets = scenes[TRUCKS]
    rec, wf = _recorder(tmp_path, {"cameras": [{"id": "cam1"}], "shops": [SHOP]})  # default rules: people watched
    subject = max(boxes(dets, VEHICLES), key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    ev = ViolationEvent(EventType.opened, "cam1/bus/1", "cam1", "s1", RuleKind.illegal_parking, "bus", 0.0, 200.0,
                        subject, 200.0, opened_t=200.0)  # fmt: skip
    case_id = rec.handle(ev, T0, image, dets)
    row = rec.rows()[0]
    assert row.id == case_id and row.evidence is not None
    original = cv2.imread(row.evidence["original"])
    assert original is not None and np.abs(original.astype(int) - image.astype(int)).mean() < 2  # unannotated
    assert len(row.evidence["people"]) == len(boxes(dets, {"person"})) and len(row.evidence["vehicles"]) >= 3
    merchant = decode(render_case(row, tmp_path / "snaps", Audience.merchant))
    for p in boxes(dets, {"person"}):
        assert_gone(original, merchant, p, "merchant's evidence from the store")
    assert_kept(original, decode(render_case(row, tmp_path / "snaps", Audience.operator)),
                (0, 300, 380, 700), "operator's original, outside the annotation")  # fmt: skip


def test_people_the_rules_do_not_watch_are_found_for_the_evidence(scenes, model, tmp_path):
    """Parking alone (no goods rule): the detector keeps only vehicles, so the recorder asks the loaded model for
    people once, on the case's frame."""
    image, dets = scenes[TRUCKS]
    cfg = {"cameras": [{"id": "cam1"}], "shops": [SHOP], "rules": {"out_of_store_trading": {"enabled": False,
           "classes": ["chair"], "dwell_s": 60}}}  # fmt: skip
    rec, wf = _recorder(tmp_path, cfg)
    people_cls, vehicle_cls = privacy_classes(wf.cfg)
    assert "person" in people_cls and "person" not in wf.cfg.rule_classes()
    rec.find_privacy = privacy_finder(model, wf.cfg)
    assert rec.find_privacy is not None
    rule_dets = [d for d in dets if d.cls in wf.cfg.rule_classes()]  # what the rules' detector reports
    subject = max(boxes(dets, VEHICLES), key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    ev = ViolationEvent(EventType.opened, "cam1/bus/2", "cam1", "s1", RuleKind.illegal_parking, "bus", 0.0, 200.0,
                        subject, 200.0, opened_t=200.0)  # fmt: skip
    rec.handle(ev, T0, image, rule_dets)
    row: CaseRow = rec.rows()[0]
    assert len(row.evidence["people"]) == len(boxes(dets, {"person"})) >= 2
    # without the finder the people are unknown, never "nobody": the merchant's evidence is blurred whole
    rec.find_privacy = None
    rec.handle(ViolationEvent(EventType.opened, "cam1/bus/3", "cam1", "s1", RuleKind.illegal_parking, "bus", 0.0,
                              200.0, subject, 200.0, opened_t=200.0), T0, image, rule_dets)  # fmt: skip
    assert rec.rows()[1].evidence["people"] is None


def test_the_shop_pages_camera_view_blurs_people_and_every_vehicle(scenes, tmp_path):
    """The citizen's policy on the public shop page's picture: no subject there, so every vehicle goes."""
    from detector.types import Evidence
    from frontage.public_views import PublicViews

    image, dets = scenes[TRUCKS]
    views = PublicViews(tmp_path / "views", None, (frozenset({"person"}), frozenset(VEHICLES)))
    assert views.offer("cam1", image, dets, Evidence.seen, 0.0)
    out = cv2.imread(str(tmp_path / "views" / "cam1.jpg"))
    for i, b in enumerate(boxes(dets, {"person"} | VEHICLES)):
        assert_gone(image, out, b, f"public view: box {i}")
