"""`frontage export`: turn a .pt checkpoint into the files an edge box runs (ONNX, optionally int8; OpenVINO).

The ONNX file is exported with free batch, height and width: the service then sends every camera due in one
call, and a 16:9 frame is padded only to the stride (640x384, not 640x640). ultralytics does the export; this
module picks the settings that suit the box, quantizes on request and checks the result loads and runs.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ExportFormat = Literal["onnx", "openvino"]


class ExportError(RuntimeError):
    """The checkpoint could not be exported; the message says why and what to do."""


@dataclass(frozen=True)
class Exported:
    path: Path
    format: str
    imgsz: int
    int8: bool


def export(weights: str | Path, *, fmt: ExportFormat = "onnx", imgsz: int = 640, int8: bool = False,
           out: str | Path | None = None) -> Exported:  # fmt: skip
    """Export `weights` (.pt) and return where the result lies. `int8` quantizes the ONNX weights dynamically
    (ONNX Runtime's ConvInteger, as the shared models are); `out` moves the result there."""
    src = Path(weights)
    if src.suffix != ".pt":
        raise ExportError(f"{src}: expected a PyTorch checkpoint (.pt); exported files cannot be exported again")
    if not src.is_file():
        raise ExportError(f"{src}: no such file")
    if imgsz <= 0 or imgsz % 32:
        raise ExportError(f"imgsz must be a positive multiple of 32 (the model's stride), got {imgsz}")
    if fmt == "openvino":
        try:
            import openvino  # noqa: F401
        except ImportError:
            raise ExportError("OpenVINO export needs the openvino package: pip install 'frontage[openvino]'") from None
    elif fmt != "onnx":
        raise ExportError(f"unknown format {fmt!r}: onnx or openvino")
    from ultralytics import YOLO

    try:
        model = YOLO(str(src))
    except Exception as exc:  # a corrupt or foreign pickle: say so, not a traceback from torch
        raise ExportError(f"{src}: not a loadable YOLO checkpoint ({type(exc).__name__}: {exc})") from exc
    if model.task != "detect":
        raise ExportError(f"{src}: a {model.task} model; frontage needs a detection model")
    kw = {"format": fmt, "imgsz": imgsz, "dynamic": True}
    if fmt == "onnx":
        kw["simplify"] = False  # onnxslim is optional and not installed on the box
    made = Path(model.export(**kw))
    if int8:
        if fmt != "onnx":
            raise ExportError("--int8 quantizes ONNX files only; OpenVINO quantization needs calibration data")
        made = _quantize(made)
    if out is not None:
        dest = Path(out)
        if dest.exists() and dest.is_dir() and fmt == "onnx":
            dest = dest / made.name
        if dest.exists():
            shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
        made = Path(shutil.move(str(made), str(dest)))
    return Exported(made, fmt, imgsz, int8)


def _quantize(onnx_path: Path) -> Path:
    """Dynamic int8 quantization of the weights, keeping ultralytics' metadata (names, imgsz, stride)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    dest = onnx_path.with_name(onnx_path.stem + "-int8.onnx")
    quantize_dynamic(str(onnx_path), str(dest), weight_type=QuantType.QUInt8)
    meta = {p.key: p.value for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props}
    model = onnx.load(str(dest))
    onnx.helper.set_model_props(model, meta)
    onnx.save(model, str(dest))
    onnx_path.unlink()
    return dest
