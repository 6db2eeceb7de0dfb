"""Importing the city's shop ledger: good and bad CSV and XLSX files with Chinese and English headers, every bad
row reported by its line, nothing imported when any row is bad, idempotent re-import, and the command line."""

from __future__ import annotations

import csv
import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from frontage.cli import main
from frontage.config import Duty, ResponsibleKind
from register import shops, xlsx
from register.db import ShopHistoryRow, ShopRow
from register.importer import LedgerError, import_ledger, read_ledger
from register.shops import Counts
from tests.register.shop_store import engine_fixture, store_fixture  # noqa: F401  (a store per database kind)

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=1)
ZH = ["店铺编号", "店名", "地址", "街道", "社区", "纬度", "经度", "责任主体", "责任人", "联系电话", "责任内容"]
GOOD = [
    ["GL-0001", "老王面馆", "解放路12号", "湖滨街道", "东坡社区", "30.2581", "120.1650", "王氏餐饮", "王建国",
     "138 0571 0001", "市容环境卫生、秩序、绿化"],
    ["GL-0002", "小李水果", "解放路14号", "湖滨街道", "东坡社区", "30.2583", "120.1652", "", "李梅", "", ""],
    ["GL-0003", "顺丰驿站", "延安路8号", "小营街道", "大学路社区", "", "", "顺丰速运", "赵强", "+86-571-8888-0003",
     "秩序"],
]  # fmt: skip


def write_csv(path: Path, header: list[str], rows: list[list], bom: bool = True, encoding: str = "utf-8") -> Path:
    with path.open("w", encoding="utf-8-sig" if bom and encoding == "utf-8" else encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def snapshot(engine) -> tuple[list[tuple], int]:
    """Every shop's stored values and the number of history entries: what 'nothing changed' means."""
    with Session(engine) as s:
        rows = [tuple(r) for r in s.execute(select(ShopRow.__table__).order_by(ShopRow.id))]
        return rows, len(s.scalars(select(ShopHistoryRow.id)).all())


def test_chinese_csv_imports_and_reimports_idempotently(engine, tmp_path):
    path = write_csv(tmp_path / "台账.csv", ZH, GOOD)
    ledger, counts = import_ledger(engine, path, "ledger-2026-12", T0)
    assert counts == Counts(3, 0, 0) and len(ledger.records) == 3
    a, b, c = (shops.get(engine, f"GL-000{i}") for i in (1, 2, 3))
    assert (a.name, a.street, a.community, a.lat, a.lon) == ("老王面馆", "湖滨街道", "东坡社区", 30.2581, 120.165)
    assert (a.party_id, a.party_name, a.contact_person, a.contact_phone) == ("GL-0001", "王氏餐饮", "王建国",
                                                                             "138 0571 0001")  # fmt: skip
    assert a.duties == list(Duty) and b.duties == list(Duty) and c.duties == [Duty.order]
    assert (b.party_name, b.lat, c.lat) == ("小李水果", 30.2583, None)  # empty cells take the defaults
    before = snapshot(engine)

    _, again = import_ledger(engine, path, "ledger-2026-12", T1)
    assert again == Counts(0, 0, 3) and snapshot(engine) == before  # nothing written, no history

    moved = [GOOD[0], [*GOOD[1][:2], "解放路16号", *GOOD[1][3:]], GOOD[2]]
    _, third = import_ledger(engine, write_csv(tmp_path / "v2.csv", ZH, moved), "ledger-2027-01", T1)
    assert third == Counts(0, 1, 2)
    last = shops.history(engine, "GL-0002")[-1]
    assert (last.actor, last.action) == ("ledger-2027-01", "import")
    assert last.changes == {"address": ["解放路14号", "解放路16号"]}


def test_xlsx_with_english_headers_and_numbers_in_text_columns(engine, tmp_path):
    header = ["ID", "Name", "Street", "Community", "Lat", "Lon", "Party ID", "party_name", "party_kind", "Phone",
              "Duties"]  # fmt: skip
    rows = [
        [1001, "Bike Bay", "Hubin", "Dongpo", 30.25, 120.16, "P-77", "Hello Bike", "共享单车", 13800000000, "order"],
        [1002.0, "Corner Shop", "Hubin", "Dongpo", None, None, None, None, "merchant", None, "sanitation, greenery"],
        [None, None, None, None, None, None, None, None, None, None, None],  # an empty row is skipped
    ]
    path = write_xlsx(tmp_path / "ledger.xlsx", header, rows)
    _, counts = import_ledger(engine, path, "ledger", T0)
    assert counts == Counts(2, 0, 0)
    bike = shops.get(engine, "1001")
    assert (bike.party_id, bike.party_kind, bike.contact_phone) == ("P-77", ResponsibleKind.bike_operator,
                                                                    "13800000000")  # fmt: skip
    assert shops.get(engine, "1002").duties == [Duty.sanitation, Duty.greenery]
    assert import_ledger(engine, path, "ledger", T1)[1] == Counts(0, 0, 2)


BAD_ROWS = [
    ["GL-0001", "老王面馆（改名）", *GOOD[0][2:]],  # fine by itself, and a change: must not be written
    ["GL-0101", "", "某路1号", "湖滨街道", "东坡社区", "", "", "", "", "", ""],  # missing name
    ["GL-0102", "坏纬度", "某路2号", "湖滨街道", "东坡社区", "95.1", "120.1", "", "", "", ""],  # bad lat
    ["GL-0103", "坏经度", "某路3号", "湖滨街道", "东坡社区", "30.1", "east", "", "", "", ""],  # lon not a number
    ["GL-0001", "重复", "某路4号", "湖滨街道", "东坡社区", "", "", "", "", "", ""],  # duplicate id
    ["GL-0104", "坏责任", "某路5号", "湖滨街道", "东坡社区", "", "", "", "", "", "秩序、做饭"],  # bad duty
    ["GL-0105", "坏电话", "某路6号", "湖滨街道", "东坡社区", "", "", "", "", "ask at the counter", ""],  # bad phone
]


def test_bad_csv_reports_every_bad_row_and_imports_nothing(engine, tmp_path):
    import_ledger(engine, write_csv(tmp_path / "v1.csv", ZH, GOOD), "ledger", T0)
    before = snapshot(engine)
    with pytest.raises(LedgerError) as exc:
        import_ledger(engine, write_csv(tmp_path / "v2.csv", ZH, GOOD[1:] + BAD_ROWS), "ledger", T1)
    found = {p.line: p.reason for p in exc.value.problems}
    assert sorted(found) == [5, 6, 7, 8, 9, 10]  # header is line 1, two good rows, the renamed shop on line 4
    assert found[5] == "店名 (name): missing"
    assert found[6].startswith("纬度 (lat): Input should be less than or equal to 90 (got '95.1')")
    assert found[7].startswith("经度 (lon): Input should be a valid number")
    assert found[8] == "duplicate id 'GL-0001' (first on line 4)"
    assert "责任内容 (duties): unknown duty '做饭'" in found[9]
    assert found[10].startswith("联系电话 (contact_phone): a phone number holds only digits")
    assert snapshot(engine) == before  # not the good rows either, not the rename: nothing
    text = exc.value.report(cap=2)
    assert text.splitlines() == ["v2.csv: 6 bad row(s)", f"  line 5: {found[5]}", f"  line 6: {found[6]}",
                                 "  ... and 4 more", "nothing was imported"]  # fmt: skip


def test_bad_xlsx_reports_rows_and_imports_nothing(engine, tmp_path):
    before = snapshot(engine)
    rows = [[*r[:5], float(r[5]) if r[5] and r[5][0].isdigit() else r[5], *r[6:]] for r in GOOD + BAD_ROWS]
    with pytest.raises(LedgerError) as exc:
        import_ledger(engine, write_xlsx(tmp_path / "ledger.xlsx", ZH, rows), "ledger", T0)
    assert [p.line for p in exc.value.problems] == [5, 6, 7, 8, 9, 10, 11]  # GL-0001 is on row 2 here too
    assert str(exc.value.problems[0]) == "row 5: duplicate id 'GL-0001' (first on row 2)"
    assert str(exc.value.problems[1]) == "row 6: 店名 (name): missing"
    assert str(exc.value.problems[4]) == "row 9: duplicate id 'GL-0001' (first on row 2)"
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("header", "rows", "expected"),
    [
        (["编号", "店名", "颜色"], [["A", "a", "red"]], "unknown column '颜色' (column 3)"),
        (["编号", "地址"], [["A", "x"]], "missing required column name (one of: name, shop_name, 店名"),
        (["编号", "店名", "名称"], [["A", "a", "b"]], "columns '店名' and '名称' both give name"),
        (["编号", "店名"], [], "the file has a header but no shops"),
    ],
)
def test_bad_columns_are_errors_about_the_file(tmp_path, header, rows, expected):
    with pytest.raises(LedgerError) as exc:
        read_ledger(write_csv(tmp_path / "bad.csv", header, rows))
    assert exc.value.problems[0].line is None and exc.value.problems[0].reason.startswith(expected)


def test_headers_are_matched_loosely_and_encodings_are_read(tmp_path):
    header = [" Shop_ID ", "NAME", "纬度(WGS84)", "Contact Phone", "party-kind"]
    rows = [["x1", "Café Ü", "30.5", "021 1234", "快递企业"], ["", "", "", "", ""], ["x2", "茶", "", "", ""]]
    ledger = read_ledger(write_csv(tmp_path / "a.csv", header, rows, bom=False))
    assert ledger.fields == {"id", "name", "lat", "contact_phone", "party_kind"}
    assert [(r.id, r.lat, r.party_kind) for r in ledger.records] == [
        ("x1", 30.5, ResponsibleKind.delivery_company), ("x2", None, ResponsibleKind.merchant)]  # fmt: skip
    gbk = read_ledger(write_csv(tmp_path / "gbk.csv", ZH, GOOD, encoding="gb18030"))  # Excel's "CSV" in China
    assert [r.name for r in gbk.records] == ["老王面馆", "小李水果", "顺丰驿站"]
    ragged = write_csv(tmp_path / "ragged.csv", ["id", "name"], [["a", "b", "stray"]])
    with pytest.raises(LedgerError, match="ragged.csv: 1 bad row"):
        read_ledger(ragged)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("shops.txt", b"id,name\n", "unsupported file type '.txt'"),
        ("empty.csv", b"\xef\xbb\xbf\n\n", "the file is empty (no header row)"),
        ("broken.xlsx", b"PK\x03\x04 not really a workbook", "not a readable XLSX workbook"),
        ("binary.csv", b"id,name\n\xff\xfe\xfd\x00\x81\n", "not UTF-8 or GB18030 text"),
    ],
)
def test_unreadable_files_are_clear_errors(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LedgerError) as exc:
        read_ledger(path)
    assert exc.value.problems[0].reason.startswith(expected)
    with pytest.raises(LedgerError, match="no such file"):
        read_ledger(tmp_path / "missing.csv")


def test_command_imports_and_refuses_bad_files_with_status_2(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'register.db'}"
    good = write_csv(tmp_path / "good.csv", ZH, GOOD)
    assert main(["shops", "import", str(good), "--db", db, "--actor", "清理组"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{good}: 3 shops in ") and out.rstrip().endswith("3 created, 0 updated, 0 unchanged")
    assert main(["shops", "import", str(good), "--db", db]) == 0
    assert "0 created, 0 updated, 3 unchanged" in capsys.readouterr().out

    bad = write_csv(tmp_path / "bad.csv", ZH, BAD_ROWS)
    assert main(["shops", "import", str(bad), "--db", db, "--max-errors", "3"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == ["bad.csv: 6 bad row(s)", "  line 3: 店名 (name): missing",
                                         captured.err.splitlines()[2], captured.err.splitlines()[3],
                                         "  ... and 3 more", "nothing was imported"]  # fmt: skip
    assert main(["shops", "list", "--db", db, "--street", "湖滨街道"]) == 0
    listed = capsys.readouterr()
    assert [line.split("\t")[0] for line in listed.out.splitlines()] == ["GL-0001", "GL-0002"]
    assert listed.err.strip() == "2 of 2 shops"


def excel_like(path: Path) -> Path:
    """A workbook as Excel writes one (shared strings with rich-text runs and a phonetic guide, a formula, a
    boolean, a number typed into the phone column, cells without references, a second sheet), made by hand."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    strings = ["店铺编号", "店名", "联系电话", "纬度", "责任内容", "GL-1", "秩序", "GL-2"]
    sst = "".join(f"<si><t>{s}</t></si>" for s in strings)
    sst += "<si><r><t>老王</t></r><r><rPr><b/></rPr><t>面馆</t></r><rPh sb='0' eb='2'><t>ラオワン</t></rPh></si>"
    sheet = (
        f"<worksheet {ns}><sheetData>"
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>'
        '<c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c></row>'
        '<row r="3"><c r="A3" t="s"><v>5</v></c><c r="B3" t="s"><v>8</v></c><c r="C3"><v>13800000000</v></c>'
        '<c r="D3"><f>30+0.25</f><v>30.25</v></c><c r="E3" t="s"><v>6</v></c></row>'
        '<row><c t="s"><v>7</v></c><c t="str"><f>"茶"&amp;"馆"</f><v>茶馆</v></c><c s="1"/><c t="b"><v>1</v></c></row>'
        "</sheetData></worksheet>"
    )
    parts = {
        "[Content_Types].xml": "<Types/>",
        "xl/workbook.xml": f'<workbook {ns} {rel}><sheets><sheet name="台账" sheetId="1" r:id="rId7"/>'
        '<sheet name="说明" sheetId="2" r:id="rId8"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships><Relationship Id="rId8" Target="worksheets/notes.xml"/>'
        '<Relationship Id="rId7" Target="/xl/worksheets/ledger.xml"/></Relationships>',
        "xl/sharedStrings.xml": f"<sst {ns}>{sst}</sst>",
        "xl/worksheets/ledger.xml": sheet,
        "xl/worksheets/notes.xml": f"<worksheet {ns}><sheetData/></worksheet>",
    }
    with zipfile.ZipFile(path, "w") as z:
        for name, body in parts.items():
            z.writestr(name, body)
    return path


def test_xlsx_reader_reads_what_excel_writes(tmp_path):
    path = excel_like(tmp_path / "excel.xlsx")
    assert list(xlsx.rows(path)) == [
        (1, ["店铺编号", "店名", "联系电话", "纬度", "责任内容"]),
        (3, ["GL-1", "老王面馆", 13800000000, 30.25, "秩序"]),
        (4, ["GL-2", "茶馆", None, True]),
    ]
    with pytest.raises(LedgerError) as exc:  # row 4's 纬度 column holds TRUE: reported by its row
        read_ledger(path)
    assert [str(p) for p in exc.value.problems] == [
        "row 4: 纬度 (lat): Input should be a valid number, unable to parse string as a number (got 'True')"
    ]
