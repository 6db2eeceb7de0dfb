"""`frontage export` on a real YOLOv8n network (ultralytics' own yolov8n.yaml, random weights: nothing here
downloads a checkpoint), through ultralytics' real exporter, then loaded by the edge box's ONNX path."""

import importlib.util

import numpy as np
import pytest

from detector.export import ExportError, export
from detector.onnx_model import OnnxYolo, letterbox, to_blob
from frontage.cli import main
from frontage.coco import COCO_NAMES


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from ultralytics import YOLO

    path = tmp_path_factory.mktemp("ckpt") / "street.pt"
    model = YOLO("yolov8n.yaml")
    model.model.names = dict(enumerate(COCO_NAMES))
    model.save(str(path))
    return path


@pytest.fixture(scope="module")
def exported(checkpoint, tmp_path_factory):
    return export(checkpoint, imgsz=320, out=tmp_path_factory.mktemp("out") / "street.onnx")


def test_onnx_export_takes_any_batch_and_a_16_9_frame_at_its_own_shape(exported):
    model = OnnxYolo(exported.path)
    assert exported.path.name == "street.onnx" and exported.path.is_file()
    assert model.batchable and model.imgsz == 320 and model.stride == 32
    assert model.names[0] == "person" and len(model.names) == 80
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8) for _ in range(3)]
    fitted = [letterbox(f, model.imgsz, model.stride)[0] for f in frames]
    assert fitted[0].shape == (192, 320, 3)  # padded to the stride, not to a square
    together = model.session.run(None, {model.input_name: to_blob(fitted)})[0]
    for k, img in enumerate(fitted):
        alone = model.session.run(None, {model.input_name: to_blob([img])})[0][0]
        np.testing.assert_allclose(together[k], alone, rtol=1e-3, atol=1e-3)
    assert [r.shape[1] for r in model.predict(frames, 0.25, 0.5)] == [6, 6, 6]


def test_int8_export_is_smaller_and_keeps_the_class_names(checkpoint, exported, tmp_path):
    q = export(checkpoint, imgsz=320, int8=True, out=tmp_path / "street-int8.onnx")
    assert q.int8 and q.path.stat().st_size < 0.6 * exported.path.stat().st_size
    model = OnnxYolo(q.path)
    assert model.names[2] == "car" and model.batchable


def test_the_command_prints_where_the_file_is(checkpoint, tmp_path, capsys):
    assert main(["export", str(checkpoint), "--imgsz", "320", "--out", str(tmp_path / "m.onnx")]) == 0
    assert str(tmp_path / "m.onnx") in capsys.readouterr().out and (tmp_path / "m.onnx").is_file()


@pytest.mark.parametrize(
    ("name", "content", "kw", "message"),
    [
        ("missing.pt", None, {}, "no such file"),
        ("model.onnx", b"x", {}, "expected a PyTorch checkpoint"),
        ("garbage.pt", b"this is not a pickle", {}, "not a loadable YOLO checkpoint"),
        ("ok.pt", "checkpoint", {"imgsz": 100}, "multiple of 32"),
        ("ok.pt", "checkpoint", {"fmt": "tflite"}, "unknown format"),
    ],
)
def test_bad_input_is_refused_with_the_reason(tmp_path, checkpoint, name, content, kw, message):
    path = tmp_path / name
    if content == "checkpoint":
        path = checkpoint
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ExportError, match=message):
        export(path, **kw)


def test_the_command_exits_2_on_bad_input(tmp_path, capsys):
    assert main(["export", str(tmp_path / "missing.pt")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_openvino_export_runs_or_says_what_to_install(checkpoint, tmp_path):
    if importlib.util.find_spec("openvino") is None:
        with pytest.raises(ExportError, match=r"pip install 'frontage\[openvino\]'"):
            export(checkpoint, fmt="openvino", imgsz=320)
        return
    from detector.yolo import YoloDetector
    from frontage.config import DetectorConfig

    made = export(checkpoint, fmt="openvino", imgsz=320, out=tmp_path / "street_openvino_model")
    assert made.path.is_dir() and any(made.path.glob("*.xml"))
    det = YoloDetector(DetectorConfig(imgsz=320), str(made.path))
    assert det.backend == "ultralytics" and len(det.detect([np.zeros((720, 1280, 3), np.uint8)])) == 1
