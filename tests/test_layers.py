"""Imports follow the data: detector -> zones -> dispatch -> register -> api. A lower layer never imports a higher
one. The register (shops, signboards, reports, credit) sits beside dispatch: it reads and feeds the cases, and
dispatch never reaches into it (the workflow takes a shop lookup instead)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["detector", "zones", "dispatch", "register", "api"]
# The shared foundation every layer may use; it must import no layer itself.
FOUNDATION = ["frontage.config", "frontage.clock", "frontage.coco", "frontage.threadcpu", "frontage.polygons"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def files_of(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("layer", ORDER)
def test_lower_layers_never_import_higher_ones(layer):
    higher = ORDER[ORDER.index(layer) + 1 :]
    bad = [
        f"{f.relative_to(ROOT)} imports {m}"
        for f in files_of(layer)
        for m in imported_modules(f)
        if m.split(".")[0] in higher or (m.startswith("frontage") and m not in FOUNDATION)
    ]
    assert bad == []


def test_foundation_imports_no_layer():
    for mod in FOUNDATION:
        path = ROOT / (mod.replace(".", "/") + ".py")
        bad = [m for m in imported_modules(path) if m.split(".")[0] in ORDER]
        assert bad == [], f"{mod} imports {bad}"
