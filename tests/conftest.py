"""Shared fixtures: the real model weights and street stills, found the way `frontage demo` finds them.

Tests that need them skip with the reason when they are missing, except in CI (FRONTAGE_REQUIRE_ASSETS=1),
where a missing asset is a failure: the tests that matter must not skip there.
"""

import os
from pathlib import Path

import pytest

from frontage.assets import missing_assets_message, shared_weights


def _missing(reason: str):
    if os.environ.get("FRONTAGE_REQUIRE_ASSETS") == "1":
        pytest.fail(f"required test asset missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def weights() -> str:
    path = os.environ.get("FRONTAGE_WEIGHTS") or (str(shared_weights()) if shared_weights() else None)
    if not path or not Path(path).is_file():
        _missing("real YOLO weights not found (set FRONTAGE_WEIGHTS or put shared/models beside the checkout)")
    return path


@pytest.fixture(scope="session")
def assets_ready(weights) -> None:
    msg = missing_assets_message()
    if msg:
        _missing(msg)
