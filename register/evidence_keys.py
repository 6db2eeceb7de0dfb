"""The key that signs evidence links for the city platform: derived from the district's signboard key, which
every `frontage serve` worker and restart reads from the store (or the config), like the inspectors' sessions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.engine import Engine

from dispatch.evidence_links import derive_key
from frontage.clock import Clock
from frontage.config import Config
from register.signboards import signing_key


def evidence_key(engine: Engine, cfg: Config, now: dt.datetime) -> bytes:
    return derive_key(signing_key(engine, cfg, now))


def evidence_key_source(engine: Engine, cfg: Config, clock: Clock) -> Callable[[], bytes]:
    """For Workflow(evidence_key=...): dispatch signs the links without reaching into the register."""
    return lambda: evidence_key(engine, cfg, clock.now())
