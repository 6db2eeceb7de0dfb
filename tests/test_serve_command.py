"""`frontage serve`: the district API as its own process, without cameras, on SQLite and on PostgreSQL.

It starts from the command line, puts the config's shops on the register, answers the public and staff routes,
recomputes credit on its timer, and stops cleanly on SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ADMIN = {"Authorization": "Bearer district-admin-token-0001"}
INSPECTOR = {"Authorization": "Bearer district-inspector-token-0001"}


@pytest.fixture
def district_config(tmp_path) -> Path:
    """configs/district.yaml with one configured shop, as a small deployment would have."""
    cfg = yaml.safe_load((ROOT / "configs" / "district.yaml").read_text(encoding="utf-8"))
    cfg["cameras"] = [{"id": "cam1"}]
    cfg["shops"] = [{
        "id": "S-001", "name": "张记面馆", "address": "中山路 1 号",
        "responsible": {"name": "张伟", "contact": {"phone": "13800000001"}},
        "frontages": [{"camera_id": "cam1", "polygon": [[0, 0], [100, 0], [100, 100]]}],
    }]  # fmt: skip
    path = tmp_path / "district.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def _serve(db: str, config: Path, tmp_path: Path) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "frontage", "serve", "--db", db, "--config", str(config), "--port", "0",
           "--snapshots", str(tmp_path / "snaps"), "--duration", "120"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    line = proc.stdout.readline()
    found = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
    if found is None:
        proc.kill()
        raise AssertionError(f"no URL in {line!r}; stderr: {proc.stderr.read()[-2000:]}")
    return proc, found.group(1)


@pytest.mark.timeout(90)
def test_serve_runs_the_district_api_without_cameras(db_url, district_config, tmp_path):
    proc, url = _serve(db_url, district_config, tmp_path)
    try:
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        shop = httpx.get(f"{url}/shops/S-001", headers=ADMIN, timeout=10)
        assert shop.status_code == 200, shop.text
        assert shop.json()["name"] == "张记面馆"  # the config's shop is on the register
        assert httpx.get(f"{url}/public/lists", timeout=10).status_code == 200
        assert httpx.get(f"{url}/shops/S-001", headers=INSPECTOR, timeout=10).status_code == 200
        assert httpx.get(f"{url}/cases", headers=ADMIN, timeout=10).json()["total"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]


def test_run_refuses_a_config_without_cameras(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "frontage", "run", "--config", str(ROOT / "configs" / "district.yaml"), "--no-api",
         "--db", f"sqlite:///{tmp_path / 'x.db'}"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert "cameras: no camera to watch" in done.stderr


def test_run_refuses_a_central_zones_url_without_a_token(tmp_path, monkeypatch, capsys):
    """An edge box pointed at the central console must carry an admin token of it; without one it would only log
    401s while its cameras kept frontages the district had redrawn."""
    import yaml

    from frontage.cli import main

    monkeypatch.delenv("FRONTAGE_ZONES_TOKEN", raising=False)
    cfg = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text())
    cfg["zones"] = {"url": "https://console.example"}
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["run", "--config", str(path), "--no-api", "--db", f"sqlite:///{tmp_path / 'x.db'}"]) == 2
    err = capsys.readouterr().err
    assert "zones.token: zones.url is https://console.example: the cameras need an admin token" in err
