"""One migrated store per test module and database kind, emptied of shops before each test: creating and
migrating a PostgreSQL database takes about a second, the register tests need a clean table, not a new store.

Use: `from tests.register.shop_store import engine_fixture, store_fixture  # noqa: F401`; tests then ask for
`engine` (and `store`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from dispatch.db import make_engine
from register.db import ShopHistoryRow, ShopRow
from tests.conftest import fresh_postgres_database


@pytest.fixture(name="store", scope="module", params=["sqlite", "postgresql"])
def store_fixture(request, tmp_path_factory) -> Iterator[Engine]:
    """A fresh, migrated store of each kind the central store runs on (as tests/conftest.py's db_url)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('shops') / 'frontage.db'}")
        yield engine
        engine.dispose()
        return
    with fresh_postgres_database(request.getfixturevalue("postgres_server")) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture(name="engine")
def engine_fixture(store: Engine) -> Engine:
    """The module's store with an empty register."""
    with Session(store) as s, s.begin():
        s.execute(delete(ShopHistoryRow))
        s.execute(delete(ShopRow))
    return store
