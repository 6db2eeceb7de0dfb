"""What the renderer's tests share: a small synthetic frame, one frontage, a red block sprite, and a config."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from frontage.scenarios import render as R
from frontage.scenarios import sprites as S

W, H = 320, 240
SQUARE = [[100, 100], [200, 100], [200, 200], [100, 200]]
BLOCK = S.Sprite("block", "block.png", (0, 0, 40, 30), "car", (0, 10, 40, 30))
PERSON = dataclasses.replace(BLOCK, name="person_block", coco_class="person")


def media_present() -> bool:
    try:
        S.media_dir()
    except FileNotFoundError:
        return False
    return True


needs_media = pytest.mark.skipif(not media_present(), reason="shared/media (the street stills) is not here")


def clear_caches() -> None:
    for fn in (S.load_image, S.load_sprite, S.sprite_alpha, S._grabcut_mask, R.load_still):
        fn.cache_clear()


def base_config(shops=None, cameras=None, trading=None) -> dict:
    """One camera (W x H), shop `a` with SQUARE as its frontage, short parking and chair-trading rules; `trading`
    adds to the trading rule."""
    return {
        "detector": {"sample_fps": 2, "class_map": {"bus": "truck"}},
        "cameras": cameras or [{"id": "cam1", "source": "x.mp4", "width": W, "height": H}],
        "shops": shops
        or [
            {
                "id": "a",
                "name": "A",
                "responsible": {"name": "r"},
                "frontages": [{"camera_id": "cam1", "polygon": SQUARE}],
            }
        ],
        "rules": {
            "illegal_parking": {"classes": ["car", "truck"], "dwell_s": 3, "entry_debounce_s": 0, "exit_grace_s": 1},
            "out_of_store_trading": {
                "classes": ["chair"],
                "dwell_s": 3,
                "presence": {"mode": "overlap", "min_overlap": 0.5},
                **(trading or {}),
            },
        },
    }


def render_and_replay(name: str, out: Path, weights: str):
    """One scenario, in a worker process: render it, replay it through the real model on one thread."""
    import yaml

    from frontage.config import load_config
    from frontage.replay import replay
    from frontage.scenarios.catalog import SCENARIOS
    from tests.render_cache import render_once

    result = render_once(SCENARIOS[name], out / name)
    data = yaml.safe_load(Path(result.config_path).read_text())
    data["detector"]["threads"] = 1  # two workers share the two cores better than one model on both
    cfg_path = Path(result.config_path).with_suffix(".1thread.yaml")
    cfg_path.write_text(yaml.safe_dump(data))
    report = replay(load_config(cfg_path), Path(result.video), weights=weights,
                    db_url=f"sqlite:///{out / name / 'cases.db'}", snapshot_dir=out / name / "snaps")  # fmt: skip
    return result, report
