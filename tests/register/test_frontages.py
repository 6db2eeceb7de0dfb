"""Zone versions in the store, on SQLite and a real PostgreSQL: version 1 from the config, each save the next
version with its author, time, note and camera ledger entry; stale and concurrent saves refused; a broken edit
saves nothing."""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from dispatch.baselines import camera_events
from dispatch.db import make_engine
from frontage.config import Camera, parse_config
from register import frontages as store
from tests.conftest import fresh_postgres_database

T0 = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
A = [[20.0, 200.0], [300.0, 200.0], [300.0, 350.0], [20.0, 350.0]]
A2 = [[40.5, 210.25], [280.0, 210.0], [280.0, 340.0], [40.0, 340.0]]
B = [[320.0, 200.0], [600.0, 200.0], [600.0, 350.0], [320.0, 350.0]]


def config(camera_id: str):
    return parse_config({
        "cameras": [{"id": camera_id, "width": 640, "height": 360}],
        "shops": [
            {"id": "shop-a", "name": "A", "responsible": {"name": "a"},
             "frontages": [{"camera_id": camera_id, "polygon": A}]},
            {"id": "shop-b", "name": "B", "responsible": {"name": "b"},
             "frontages": [{"camera_id": camera_id, "polygon": B, "allow_overlap": True}]},
        ],
    })  # fmt: skip


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request, tmp_path_factory) -> Iterator[Engine]:
    """One migrated store per kind for the module; each test uses cameras of its own."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('zones') / 'frontage.db'}")
        yield eng
        eng.dispose()
        return
    with fresh_postgres_database(request.getfixturevalue("postgres_server")) as url:
        eng = make_engine(url)
        yield eng
        eng.dispose()


@pytest.fixture
def cam() -> Camera:
    return Camera(id=f"cam-{uuid.uuid4().hex[:8]}", width=640, height=360)


def test_version_1_is_the_configs_and_each_save_is_the_next_with_who_when_why(engine, cam):
    cfg = config(cam.id)
    assert store.latest(engine, cam.id) is None
    v1 = store.ensure(engine, cfg, cam.id, T0)
    assert (v1.version, v1.author, v1.at, v1.note) == (1, "config", T0, "the config's frontages")
    assert v1.frontages == [{"shop_id": "shop-a", "polygon": A, "allow_overlap": False},
                            {"shop_id": "shop-b", "polygon": B, "allow_overlap": True}]  # fmt: skip
    assert store.ensure(engine, cfg, cam.id, T0 + dt.timedelta(hours=1)) == v1  # not seeded twice
    at = T0 + dt.timedelta(minutes=5)
    frontages = [{"shop_id": "shop-a", "polygon": A2}]
    assert store.save(engine, cam, frontages, "ada", "door moved", at, based_on=1, shops={"shop-a"}) == 2
    v2 = store.latest(engine, cam.id)
    assert (v2.version, v2.author, v2.at, v2.note) == (2, "ada", at, "door moved")
    assert v2.frontages == [{"shop_id": "shop-a", "polygon": A2, "allow_overlap": False}]  # floats exactly
    assert v2.polygons() == [("shop-a", [tuple(p) for p in A2])]
    assert store.version(engine, cam.id, 1) == v1 and store.version(engine, cam.id, 3) is None
    assert [(h.version, h.author, h.frontages) for h in store.history(engine, cam.id)] == [
        (2, "ada", 1),
        (1, "config", 2),
    ]
    (entry,) = camera_events(engine, cam.id)
    assert (entry.kind, entry.actor, entry.reason, entry.at) == (store.ZONES_CHANGED, "ada", "door moved", at)
    assert entry.data == {"version": 2, "based_on": 1, "frontages": 1, "changed_shops": ["shop-a", "shop-b"]}


def test_a_save_on_a_stale_version_is_refused_and_saves_nothing(engine, cam):
    store.ensure(engine, config(cam.id), cam.id, T0)
    store.save(engine, cam, [{"shop_id": "shop-a", "polygon": A2}], "ada", "", T0, based_on=1)
    with pytest.raises(store.ZoneConflict, match="at version 2 now, not 1"):
        store.save(engine, cam, [{"shop_id": "shop-a", "polygon": A}], "bo", "", T0, based_on=1)
    assert [h.version for h in store.history(engine, cam.id)] == [2, 1]


def test_concurrent_saves_on_one_version_leave_one_winner(engine, cam):
    store.ensure(engine, config(cam.id), cam.id, T0)
    barrier, results = threading.Barrier(4), []

    def edit(i: int) -> None:
        barrier.wait()
        try:
            results.append(store.save(engine, cam, [{"shop_id": "shop-a", "polygon": A}], f"editor{i}", "", T0,
                                      based_on=1))  # fmt: skip
        except store.ZoneConflict:
            results.append("conflict")

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(map(str, results)) == ["2", "conflict", "conflict", "conflict"]
    assert [h.version for h in store.history(engine, cam.id)] == [2, 1]
    assert len(camera_events(engine, cam.id)) == 1


def test_concurrent_first_reads_agree_on_one_version_1(engine, cam):
    cfg, barrier, seen = config(cam.id), threading.Barrier(4), []

    def read() -> None:
        barrier.wait()
        seen.append(store.ensure(engine, cfg, cam.id, T0).version)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert seen == [1, 1, 1, 1] and [h.version for h in store.history(engine, cam.id)] == [1]


@pytest.mark.parametrize(
    ("frontages", "kwargs", "error", "why"),
    [
        ([{"shop_id": "shop-a", "polygon": [[20, 200], [300, 350], [300, 200], [20, 350]]}], {}, store.ZoneProblems,
         r"frontages\[0\] \(shop 'shop-a'\) edges 0 and 2: invalid polygon"),
        ([{"shop_id": "shop-z", "polygon": A}], {"shops": {"shop-a"}}, store.ZoneProblems, "unknown shop 'shop-z'"),
        ([{"shop_id": "shop-a", "polygon": [[1, 2], [3, "x"], [5, 6]]}], {}, ValueError,
         r"frontages\[0\].polygon\[1\] must be \[x, y\]"),
        ([{"shop_id": "shop-a", "polygon": A}], {"author": ""}, ValueError, "author must be"),
        ([{"shop_id": "shop-a", "polygon": A}], {"at": dt.datetime(2026, 11, 28)}, ValueError, "timezone-aware"),
        ([{"shop_id": "shop-a", "polygon": A}], {"note": "x" * 501}, ValueError, "note is longer than 500"),
        ([{"shop_id": f"s{i}", "polygon": A} for i in range(101)], {}, ValueError, "at most 100 frontages"),
    ],
)  # fmt: skip
def test_a_bad_edit_saves_nothing(engine, cam, frontages, kwargs, error, why):
    args = {"author": "ada", "note": "", "at": T0, **kwargs}
    shops = args.pop("shops", None)
    with pytest.raises(error, match=why):
        store.save(engine, cam, frontages, args["author"], args["note"], args["at"], shops=shops)
    assert store.history(engine, cam.id) == [] and camera_events(engine, cam.id) == []


def test_yaml_round_trip_keeps_every_polygon_exactly(engine, cam):
    store.ensure(engine, config(cam.id), cam.id, T0)
    store.save(engine, cam, [{"shop_id": "shop-a", "polygon": A2}, {"shop_id": "shop-b", "polygon": B,
                                                                    "allow_overlap": True}], "ada", "", T0)  # fmt: skip
    v2 = store.latest(engine, cam.id)
    frontages, paths = store.from_yaml(store.to_yaml(v2), cam.id)
    assert frontages == v2.frontages and paths == [("shops", 0, "frontages", 0), ("shops", 1, "frontages", 0)]


ALIAS_BOMB = ("g: &g {camera_id: other}\nf: &f [" + ", ".join(["*g"] * 3000) + "]\ns: &s {id: x, frontages: *f}\n"
              "shops: [" + ", ".join(["*s"] * 3000) + "]\n")  # fmt: skip
HOSTILE_YAML = {
    "aliases": (ALIAS_BOMB, "anchors and aliases (& and *) are not taken at line 1, column 4"),
    "deep flow nesting": ("shops: " + "[" * 60_000, "nested deeper than 16 levels at line 1, column 23"),
    "deep block nesting": ("\n".join(" " * i + "a:" for i in range(300)), "nested deeper than 16 levels at line 17"),
    "a huge number": ("shops: [{id: a, frontages: [{camera_id: c, polygon: [[1" + "0" * 5000 + ", 2]]}]}]",
                      "YAML that cannot be read: Exceeds the limit"),
}  # fmt: skip


@pytest.mark.parametrize("case", HOSTILE_YAML, ids=HOSTILE_YAML)
def test_hostile_yaml_is_a_problem_at_once_not_minutes_of_work_or_a_crash(case):
    """Each of these took 30 s to minutes of CPU, or escaped as RecursionError or ValueError (a 500)."""
    text, why = HOSTILE_YAML[case]
    with pytest.raises(store.YamlProblem, match=re.escape(why)):
        store.from_yaml(text, "cam1")
