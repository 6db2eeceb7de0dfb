"""Shop ledger import benchmark: the district's 21,728 shops from CSV and XLSX into SQLite and PostgreSQL.

    python -m bench.shops_import [--rows 21728] [--repeat 3] [--db sqlite,postgresql] [--formats csv,xlsx]

A realistic ledger is generated into a temporary folder: Chinese column headers, streets and their communities,
shop names and addresses, chains whose shops share one responsible party, contact persons and phones, duties.
Each cell of the table is the median of --repeat runs of `register.importer.import_ledger` (the code behind
`frontage shops import`: read, validate every row, write in one transaction):

- fresh: into a new, empty store;
- again: the same file once more (idempotent: nothing is written);
- 1% changed: a file in which 1% of the shops have a new address, phone or contact person.

"read" is the time to read and validate the file alone (no database).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text

from dispatch.db import make_engine
from register.importer import import_ledger, read_ledger

HEADER = ["店铺编号", "店名", "地址", "街道", "社区", "纬度", "经度", "责任主体编号", "责任主体", "主体类型",
          "责任人", "联系电话", "责任内容"]  # fmt: skip
STREETS = {
    "湖滨街道": ["东坡路社区", "岳王路社区", "青年路社区", "东平巷社区"],
    "小营街道": ["大学路社区", "梅花碑社区", "茅廊巷社区", "紫阳社区", "小营巷社区"],
    "清波街道": ["清波门社区", "劳动路社区", "柳翠井巷社区"],
    "望江街道": ["望江新村社区", "近江社区", "始版桥社区", "美政桥社区"],
    "南星街道": ["复兴社区", "海月社区", "馒头山社区", "梵天寺社区", "南星桥社区"],
    "紫阳街道": ["上羊市街社区", "新工社区", "凤凰社区", "春江社区"],
    "四季青街道": ["三新社区", "钱江社区", "五福社区", "四季青社区", "景昙社区", "常青社区"],
    "闸弄口街道": ["天杭社区", "红梅社区", "新塘社区", "闸弄口社区"],
    "凯旋街道": ["南肖埠社区", "景华社区", "凯旋社区", "濮家社区", "夏衍社区"],
    "采荷街道": ["芙蓉社区", "新杭社区", "丁兰社区", "洁莲社区"],
    "彭埠街道": ["云峰社区", "御道社区", "王家井社区", "彭埠社区"],
    "笕桥街道": ["弄口社区", "黄家社区", "横塘社区", "笕桥社区"],
}
ROADS = ["解放路", "延安路", "中山路", "凤起路", "庆春路", "建国路", "秋涛路", "江城路", "望江路", "清泰街",
         "平海路", "学士路", "惠民路", "河坊街", "南山路", "环城东路", "艮山西路", "景芳路", "采荷路",
         "机场路"]  # fmt: skip
TRADES = ["面馆", "水果店", "便利店", "理发店", "茶饮", "烟酒店", "五金店", "药房", "花店", "包子铺", "小吃店",
          "服装店", "眼镜店", "快餐", "烘焙坊", "干洗店", "粮油店", "手机维修", "超市", "餐厅"]  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰文斌建国志红海燕春梅晓东"
CHAINS = ["联华超市", "顺丰速运", "美团配送", "哈啰出行", "青桔单车", "肯德基", "瑞幸咖啡", "华润万家", "老娘舅",
          "知味观", "海王星辰药房", "中国移动营业厅"]  # fmt: skip
DUTIES = ["市容环境卫生、秩序、绿化"] * 8 + ["市容环境卫生、秩序", "秩序"]


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def phone(rng: random.Random) -> str:
    n = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
    return f"{n[:3]} {n[3:7]} {n[7:]}" if rng.random() < 0.3 else n


def ledger_rows(n: int, seed: int = 7) -> list[list[str]]:
    """n shops of a district: 85% single shops (the shop answers for itself), the rest in chains whose shops
    share one party (its unified social credit code as the party id)."""
    rng = random.Random(seed)
    streets = list(STREETS)
    codes = {c: "91330102" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(10)) for c in CHAINS}
    rows = []
    for i in range(1, n + 1):
        street = streets[i % len(streets)]
        community = rng.choice(STREETS[street])
        lat = 30.20 + rng.random() * 0.12
        lon = 120.12 + rng.random() * 0.14
        address = f"{rng.choice(ROADS)}{rng.randrange(1, 600)}号" + (
            f"{rng.randrange(1, 20)}幢" if rng.random() < 0.1 else ""
        )
        if rng.random() < 0.15:
            chain = rng.choice(CHAINS)
            kind = {"顺丰速运": "快递企业", "美团配送": "配送企业", "哈啰出行": "共享单车", "青桔单车": "共享单车"}.get(
                chain, "商户"
            )
            name, party_id, party, kind = f"{chain}（{community.removesuffix('社区')}店）", codes[chain], chain, kind
        else:
            name, party_id, party, kind = f"{rng.choice(SURNAMES)}记{rng.choice(TRADES)}", "", "", "个体工商户"
        rows.append([f"SC{i:06d}", name, address, street, community, f"{lat:.6f}", f"{lon:.6f}", party_id, party,
                     kind, person(rng), phone(rng), rng.choice(DUTIES)])  # fmt: skip
    return rows


def changed(rows: list[list[str]], share: float = 0.01, seed: int = 11) -> list[list[str]]:
    """A copy with `share` of the shops changed: a new address, phone or person responsible."""
    rng = random.Random(seed)
    out = [list(r) for r in rows]
    for r in rng.sample(out, max(1, round(len(out) * share))):
        col = rng.choice((2, 10, 11))
        r[col] = {2: f"{rng.choice(ROADS)}{rng.randrange(600, 900)}号", 10: person(rng), 11: phone(rng)}[col]
    return out


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("门前三包责任单位")
    ws.append(HEADER)
    for r in rows:  # coordinates as numbers, as a spreadsheet holds them
        ws.append([*r[:5], float(r[5]), float(r[6]), *r[7:]])
    wb.save(path)
    return path


@contextlib.contextmanager
def stores(kind: str, root: Path, pg_server: str | None) -> Iterator[callable]:
    """`fresh()` -> the URL of a new, empty store of this kind."""
    made: list[str] = []

    def fresh() -> str:
        name = f"shops_{uuid.uuid4().hex[:10]}"
        if kind == "sqlite":
            return f"sqlite:///{root / (name + '.db')}"
        admin = create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        made.append(name)
        return f"{pg_server}/{name}"

    try:
        yield fresh
    finally:
        if made:
            admin = create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                for name in made:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def timed_import(url: str, path: Path, now: dt.datetime) -> tuple[float, tuple[int, int, int]]:
    engine = make_engine(url)  # migrated before the clock starts: the import is what is timed
    try:
        t0 = time.perf_counter()
        _, counts = import_ledger(engine, path, "bench", now)
        return time.perf_counter() - t0, (counts.created, counts.updated, counts.unchanged)
    finally:
        engine.dispose()


def run(kind: str, files: dict[str, tuple[Path, Path]], repeat: int, root: Path, pg: str | None, n: int) -> dict:
    """{format: {phase: [seconds...]}} for one database kind; checks the counts each phase must give."""
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    expect_changed = max(1, round(n * 0.01))
    out: dict[str, dict[str, list[float]]] = {}
    with stores(kind, root, pg) as fresh:
        for fmt, (v1, v2) in files.items():
            times: dict[str, list[float]] = {"fresh": [], "again": [], "1% changed": []}
            for _ in range(repeat):
                url = fresh()
                t, counts = timed_import(url, v1, now)
                assert counts == (n, 0, 0), counts
                times["fresh"].append(t)
                t, counts = timed_import(url, v1, now + dt.timedelta(days=1))
                assert counts == (0, 0, n), counts
                times["again"].append(t)
                t, counts = timed_import(url, v2, now + dt.timedelta(days=2))
                assert counts == (0, expect_changed, n - expect_changed), counts
                times["1% changed"].append(t)
            out[fmt] = times
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=21_728, help="shops in the ledger (default: the district's 21,728)")
    p.add_argument("--repeat", type=int, default=3, help="runs per cell; the median is shown (default 3)")
    p.add_argument("--db", default="sqlite,postgresql", help="database kinds (default: sqlite,postgresql)")
    p.add_argument("--formats", default="csv,xlsx", help="ledger formats (default: csv,xlsx)")
    a = p.parse_args(argv)
    kinds = [k for k in a.db.split(",") if k]
    formats = [f for f in a.formats.split(",") if f]
    if set(kinds) - {"sqlite", "postgresql"} or set(formats) - {"csv", "xlsx"} or a.rows < 100 or a.repeat < 1:
        p.error("--db takes sqlite and/or postgresql, --formats csv and/or xlsx; --rows >= 100, --repeat >= 1")
    with tempfile.TemporaryDirectory(prefix="frontage-shops-") as tmp:
        root = Path(tmp)
        rows = ledger_rows(a.rows)
        v2 = changed(rows)
        writers = {"csv": write_csv, "xlsx": write_xlsx}
        files = {f: (writers[f](root / f"ledger.{f}", rows), writers[f](root / f"ledger-v2.{f}", v2)) for f in formats}
        sizes = ", ".join(f"{f} {files[f][0].stat().st_size / 1e6:.1f} MB" for f in formats)
        print(f"shop ledger import, {a.rows:,} shops ({sizes}), median of {a.repeat} run(s), seconds:")
        read = {}
        for f in formats:
            samples = []
            for _ in range(a.repeat):
                t0 = time.perf_counter()
                read_ledger(files[f][0])
                samples.append(time.perf_counter() - t0)
            read[f] = statistics.median(samples)
        results: dict[str, dict] = {}
        pg_ctx = contextlib.nullcontext(None)
        if "postgresql" in kinds:
            from bench.pgserver import throwaway_postgres

            pg_ctx = throwaway_postgres()
        with pg_ctx as pg:
            for kind in kinds:
                results[kind] = run(kind, files, a.repeat, root, pg, a.rows)
    print(f"  {'store':<11} {'file':<5} {'read':>6} {'fresh':>7} {'again':>7} {'1% changed':>11}   rows/s fresh")
    for kind, by_fmt in results.items():
        for f, times in by_fmt.items():
            med = {phase: statistics.median(v) for phase, v in times.items()}
            print(f"  {kind:<11} {f:<5} {read[f]:6.2f} {med['fresh']:7.2f} {med['again']:7.2f} "
                  f"{med['1% changed']:11.2f}   {a.rows / med['fresh']:12,.0f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
