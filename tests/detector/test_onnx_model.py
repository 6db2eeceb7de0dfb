"""The direct ONNX Runtime path: pure helpers on plain arrays, then the real model against ultralytics."""

import cv2
import numpy as np
import pytest

from detector.onnx_model import Letterbox, OnnxYolo, decode, letterbox, nms, to_blob
from detector.yolo import YoloDetector
from frontage.config import DetectorConfig


def test_letterbox_fits_a_wide_frame_centred_with_grey_bars():
    img = np.full((720, 1280, 3), 200, np.uint8)
    out, box = letterbox(img, 640)
    assert out.shape == (640, 640, 3)
    assert box == Letterbox(0.5, 0, 140)
    assert (out[:140] == 114).all() and (out[500:] == 114).all() and (out[140:500] == 200).all()


def test_letterbox_leaves_a_square_frame_of_the_right_size_alone():
    img = np.random.default_rng(0).integers(0, 255, (640, 640, 3), dtype=np.uint8)
    out, box = letterbox(img, 640)
    assert box == Letterbox(1.0, 0, 0) and np.array_equal(out, img)


def test_blob_is_rgb_chw_in_unit_range():
    img = np.zeros((2, 3, 3), np.uint8)
    img[..., 0] = 255  # blue in BGR
    blob = to_blob([img])
    assert blob.shape == (1, 3, 2, 3) and blob.dtype == np.float32
    assert (blob[0, 2] == 1.0).all() and (blob[0, 0] == 0).all()


def test_nms_drops_overlaps_above_the_threshold_and_keeps_the_best():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 5]], np.float32)
    scores = np.array([0.8, 0.9, 0.5, 0.7], np.float32)
    # box 1 beats 0 (IoU 0.68); box 3 overlaps box 1 by IoU 0.35, under the 0.5 threshold, so it stays
    assert nms(boxes, scores, 0.5).tolist() == [1, 3, 2]
    assert nms(boxes, scores, 0.3).tolist() == [1, 2]


def test_decode_maps_head_output_back_to_frame_pixels():
    out = np.zeros((4 + 3, 5), np.float32)  # 3 classes, 5 anchors
    out[:4, 0] = [320, 320, 100, 50]  # centre of the input, 100x50
    out[4 + 2, 0] = 0.9
    out[:4, 1] = [322, 321, 100, 50]  # a near duplicate of another class, weaker: suppressed (agnostic)
    out[4 + 1, 1] = 0.6
    out[4 + 0, 2] = 0.1  # under the confidence threshold
    rows = decode(out, Letterbox(0.5, 0, 140), (720, 1280), conf=0.25, iou=0.5)
    assert rows.shape == (1, 6)
    np.testing.assert_allclose(rows[0], [540, 310, 740, 410, 0.9, 2], atol=1e-4)


def test_decode_clips_to_the_frame_and_returns_empty_rows_when_nothing_passes():
    out = np.zeros((5, 2), np.float32)
    out[:, 0] = [5, 5, 40, 40, 0.8]
    rows = decode(out, Letterbox(1.0, 0, 0), (100, 100), conf=0.25, iou=0.5)
    np.testing.assert_allclose(rows[0, :4], [0, 0, 25, 25])
    assert decode(out * 0, Letterbox(1.0, 0, 0), (100, 100), 0.25, 0.5).shape == (0, 6)


@pytest.fixture(scope="module")
def stills(assets_ready):
    from frontage.scenarios.sprites import media_dir

    paths = sorted((media_dir() / "muenster-webcam").glob("*.jpg"))
    assert len(paths) >= 5, f"expected the Münster stills in {media_dir()}"
    return [cv2.imread(str(p)) for p in paths]


def test_same_detections_as_ultralytics_on_real_stills(weights, stills):
    """The edge box's path must see what ultralytics sees: same boxes, scores and classes on every still."""
    from ultralytics import YOLO

    ours = OnnxYolo(weights)
    theirs = YOLO(weights, task="detect")
    found = 0
    for img in stills:
        r = theirs.predict(img, imgsz=ours.imgsz, conf=0.25, iou=0.5, agnostic_nms=True, verbose=False)[0]
        want = np.concatenate([r.boxes.xyxy.numpy(), r.boxes.conf.numpy()[:, None], r.boxes.cls.numpy()[:, None]], 1)
        got = ours.predict([img], 0.25, 0.5)[0]
        assert got.shape == want.shape
        np.testing.assert_allclose(got[np.argsort(-got[:, 4])], want[np.argsort(-want[:, 4])], atol=0.5)
        found += len(got)
    assert found >= 10  # the stills hold trucks, cars and people: a model that finds nothing fails here


def test_frames_side_by_side_match_frames_one_by_one(weights, stills):
    model = OnnxYolo(weights, threads=2)
    assert not model.batchable  # the shared export has a fixed batch of 1: frames run in parallel
    together = model.predict(stills, 0.25, 0.5)
    for img, rows in zip(stills, together, strict=True):
        np.testing.assert_array_equal(rows, model.predict([img], 0.25, 0.5)[0])


def test_the_detector_picks_onnx_runtime_for_onnx_weights_and_maps_classes(weights, stills):
    det = YoloDetector(DetectorConfig(class_map={"bus": "truck"}), weights, keep_classes={"truck", "car"})
    assert det.backend == "onnxruntime" and det.imgsz == 640
    names = {d.cls for frame in det.detect(stills) for d in frame}
    assert names and names <= {"truck", "car"}  # people filtered out, buses renamed


def test_a_file_that_is_not_a_model_is_refused(tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not an onnx graph")
    with pytest.raises(Exception, match="(?i)protobuf|invalid|load"):
        OnnxYolo(bad)
