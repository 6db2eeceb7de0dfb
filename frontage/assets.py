"""Find the offline assets this machine may hold: the shared COCO weights and street stills.

On a connected machine ultralytics fetches `yolov8n.pt` itself; on the offline development and CI machines
the weights and stills lie in a `shared/` folder beside the checkout. Environment variables win:
FRONTAGE_WEIGHTS (a weights file), FRONTAGE_SHARED (the shared folder), FRONTAGE_MEDIA (the stills folder).
"""

from __future__ import annotations

import os
from pathlib import Path

SHARED_MODEL = "models/yolov8n-coco-int8-640.onnx"
REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path | None:
    env = os.environ.get("FRONTAGE_SHARED")
    if env:
        return Path(env) if Path(env).is_dir() else None
    for base in (Path.cwd(), REPO_ROOT):
        for parent in (base, *base.parents):
            for cand in (parent / "shared", parent.parent / "shared"):
                if (cand / "models").is_dir() or (cand / "media").is_dir():
                    return cand
    return None


def shared_weights() -> Path | None:
    root = shared_dir()
    path = root / SHARED_MODEL if root else None
    return path if path and path.is_file() else None


def default_weights(configured: str) -> str:
    """The config's weights, or the shared offline model when the config names a file that is not here.

    A bare name like `yolov8n.pt` that does not exist locally would make ultralytics try a download;
    when the shared model is present we use it instead, and say so.
    """
    if os.environ.get("FRONTAGE_WEIGHTS"):
        return os.environ["FRONTAGE_WEIGHTS"]
    if Path(configured).exists():
        return configured
    shared = shared_weights()
    return str(shared) if shared else configured


def missing_assets_message(need_media: bool = True) -> str | None:
    """Say plainly what the offline demo lacks, or None when everything is there."""
    problems = []
    if not os.environ.get("FRONTAGE_WEIGHTS") and shared_weights() is None:
        problems.append(
            f"no detector weights: set FRONTAGE_WEIGHTS to a YOLO .pt/.onnx file, or place the shared folder "
            f"(with {SHARED_MODEL}) beside the checkout, or set FRONTAGE_SHARED"
        )
    if need_media:
        try:
            from frontage.scenarios.sprites import media_dir

            media_dir()
        except FileNotFoundError as exc:
            problems.append(str(exc))
    return "\n".join(problems) or None
