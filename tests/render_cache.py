"""Rendered scenarios, kept between the test runs of one checkout: CI's second step (the serial tests) replays the
busy streets and the camera loop that its first step rendered already, instead of rendering them again (about a
minute and a half of CI). The key is everything a rendering depends on: the scenario's name, the source of
frontage/scenarios/, the stills (name, size, time) and the versions of the encoder and the image libraries;
anything else changed renders anew. Renderings are deterministic (tests/test_scenarios_render.py checks that),
so a hit is the same bytes."""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from importlib.metadata import version
from pathlib import Path

from frontage.scenarios.render import RenderResult, Scenario, render
from frontage.scenarios.sprites import media_dir

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".pytest_cache" / "d" / "frontage-renders"
EXTS = (".mp4", ".yaml", ".truth.json")


def _key(scenario: Scenario) -> str:
    versions = "\0".join(version(p) for p in ("av", "opencv-python-headless", "numpy", "ultralytics"))
    h = hashlib.sha256(f"{scenario.name}\0{versions}\0".encode())
    for src in sorted((ROOT / "frontage" / "scenarios").glob("*.py")):
        h.update(src.name.encode() + b"\0" + src.read_bytes())
    media = media_dir()
    for still in sorted(p for p in media.rglob("*") if p.is_file()):
        st = still.stat()
        h.update(f"{still.relative_to(media)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()[:24]


def render_once(scenario: Scenario, out_dir: str | Path) -> RenderResult:
    """`render(scenario, out_dir)`, from the cache when this very rendering was made before."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kept = CACHE / _key(scenario)
    files = [out / f"{scenario.name}{ext}" for ext in EXTS]
    if (kept / "result.json").is_file():
        for ext, dst in zip(EXTS, files, strict=True):
            shutil.copyfile(kept / f"{scenario.name}{ext}", dst)
        meta = json.loads((kept / "result.json").read_text())
        return RenderResult(files[0], files[1], files[2], meta["frames"], meta["cases"], 0.0)
    result = render(scenario, out)
    tmp = CACHE / f".{uuid.uuid4().hex}"  # another worker may render the same scenario: the first rename wins
    tmp.mkdir(parents=True)
    for src in files:
        shutil.copyfile(src, tmp / src.name)
    (tmp / "result.json").write_text(json.dumps({"frames": result.frames, "cases": result.cases}))
    try:
        tmp.rename(kept)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return result
