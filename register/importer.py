"""Reads the city's shop ledger (CSV or XLSX) into ShopRecords, and imports it into the register in one
transaction: either every row is valid and all are written, or nothing is and every bad row is reported.

Files:
- CSV in UTF-8, with or without a BOM. A file that is not UTF-8 is read as GB18030 (what Excel on a Chinese
  Windows writes for "CSV"); comma-separated, quoted as Excel quotes.
- XLSX (Excel 2007+): the first worksheet's values (register/xlsx.py streams its XML; openpyxl took 7 s for
  the district's ledger). Numbers in text columns (an id or a phone number typed as a number) are read as their
  digits.
- The first non-empty row holds the column names; empty rows are skipped. Lines are reported as in the file
  (CSV line, XLSX row number).

Columns (English or the ledger's Chinese; case, spaces, `_`, `-` and a trailing parenthesis such as
"纬度(WGS84)" are ignored). `id` and `name` are required; every other column is optional. A column the file
does not have leaves that field as it is on shops already on the register (new shops take the default); an
empty cell takes the default.

| field | English | 中文 | default / format |
| --- | --- | --- | --- |
| id | id, shop_id | 编号, 店铺编号, 门店编号, 单位编号, 责任单位编号 | required, unique in the file |
| name | name, shop_name | 店名, 名称, 店铺名称, 门店名称, 单位名称, 商户名称 | required |
| address | address | 地址, 详细地址, 门牌地址, 经营地址 | "" |
| street | street | 街道, 所属街道, 街道办事处 | "" |
| community | community | 社区, 所属社区 | "" |
| lat | lat, latitude | 纬度 | empty, -90..90 |
| lon | lon, lng, longitude | 经度 | empty, -180..180 |
| party_id | party_id | 责任主体编号, 主体编号, 统一社会信用代码 | the shop id |
| party_name | party_name, party | 责任主体, 责任单位, 主体名称 | the shop name |
| party_kind | party_kind | 主体类型, 责任主体类型 | merchant (see below) |
| contact_person | contact_person, contact | 责任人, 联系人, 负责人 | "" |
| contact_phone | contact_phone, phone | 联系电话, 电话, 手机, 手机号, 联系方式 | "", digits, spaces, + and - |
| duties | duties | 责任内容, 三包内容, 三包责任 | all three (see below) |

- party_kind: merchant, bike_operator or delivery_company; or 商户/商家/个体工商户 (merchant), 共享单车/单车企业/
  共享单车企业 (bike_operator), 快递/外卖/快递企业/配送企业 (delivery_company).
- duties: a list separated by `,` `，` `、` `;` `；` `/` or spaces, of sanitation or 市容环境卫生 (also 市容, 卫生,
  环境卫生), order or 秩序, greenery or 绿化.
- contact_phone: 3 to 20 digits, with spaces, `+` and `-` allowed.

An unknown column, a column named twice and a missing required column are errors about the file; a bad value,
a duplicate id (also reported with the line it first appeared on) and a data cell under no column are errors
about its row. All of them are collected, not just the first.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.parsers.expat import ExpatError

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from frontage.config import DUTY_LABELS, Duty, ResponsibleKind
from register import xlsx
from register.shops import Counts, ShopRecord, problems_of, upsert

HEADERS: dict[str, tuple[str, ...]] = {
    "id": ("id", "shop_id", "编号", "店铺编号", "门店编号", "单位编号", "责任单位编号"),
    "name": ("name", "shop_name", "店名", "名称", "店铺名称", "门店名称", "单位名称", "商户名称"),
    "address": ("address", "地址", "详细地址", "门牌地址", "经营地址"),
    "street": ("street", "街道", "所属街道", "街道办事处"),
    "community": ("community", "社区", "所属社区"),
    "lat": ("lat", "latitude", "纬度"),
    "lon": ("lon", "lng", "longitude", "经度"),
    "party_id": ("party_id", "责任主体编号", "主体编号", "统一社会信用代码"),
    "party_name": ("party_name", "party", "责任主体", "责任单位", "主体名称"),
    "party_kind": ("party_kind", "主体类型", "责任主体类型"),
    "contact_person": ("contact_person", "contact", "责任人", "联系人", "负责人"),
    "contact_phone": ("contact_phone", "phone", "联系电话", "电话", "手机", "手机号", "联系方式"),
    "duties": ("duties", "责任内容", "三包内容", "三包责任"),
}
REQUIRED = ("id", "name")
NUMERIC = frozenset({"lat", "lon"})
KIND_WORDS: dict[str, ResponsibleKind] = {
    **{k.value: k for k in ResponsibleKind},
    "商户": ResponsibleKind.merchant,
    "商家": ResponsibleKind.merchant,
    "个体工商户": ResponsibleKind.merchant,
    "共享单车": ResponsibleKind.bike_operator,
    "单车企业": ResponsibleKind.bike_operator,
    "共享单车企业": ResponsibleKind.bike_operator,
    "快递": ResponsibleKind.delivery_company,
    "外卖": ResponsibleKind.delivery_company,
    "快递企业": ResponsibleKind.delivery_company,
    "配送企业": ResponsibleKind.delivery_company,
}
DUTY_WORDS: dict[str, Duty] = {
    **{d.value: d for d in Duty},
    **{zh: d for d, (zh, _) in DUTY_LABELS.items()},
    "市容": Duty.sanitation,
    "卫生": Duty.sanitation,
    "环境卫生": Duty.sanitation,
}
_DUTY_SPLIT = re.compile(r"[,，、;；/|\s]+")
_PAREN = re.compile(r"[（(][^）)]*[）)]\s*$")


def _norm(header: str) -> str:
    h = _PAREN.sub("", str(header)).strip().rstrip("*:：").strip().lower()
    return re.sub(r"[\s_\-]+", "", h)


COLUMN_OF: dict[str, str] = {_norm(h): field for field, names in HEADERS.items() for h in names}


@dataclass(frozen=True)
class Problem:
    """A reason the file cannot be imported; `line` is None for the file as a whole (its columns)."""

    line: int | None
    reason: str
    unit: str = "line"

    def __str__(self) -> str:
        return self.reason if self.line is None else f"{self.unit} {self.line}: {self.reason}"


class LedgerError(ValueError):
    """The file cannot be imported; `problems` lists every reason found."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source, self.problems = source, problems
        self.bad_rows = sum(p.line is not None for p in problems)
        reasons = "; ".join(p.reason for p in problems)
        super().__init__(f"{source}: {self.bad_rows} bad row(s)" if self.bad_rows else f"{source}: {reasons}")

    def report(self, cap: int = 50) -> str:
        """The problems, one a line, at most `cap` of them (and how many more there are)."""
        head = f"{self.source}: {self.bad_rows} bad row(s)" if self.bad_rows else f"{self.source}: cannot import"
        lines = [head, *(f"  {p}" for p in self.problems[:cap])]
        if len(self.problems) > cap:
            lines.append(f"  ... and {len(self.problems) - cap} more")
        lines.append("nothing was imported")
        return "\n".join(lines)


@dataclass(frozen=True)
class Ledger:
    records: list[ShopRecord]
    fields: frozenset[str]  # the fields the file's columns speak for


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030")  # raises UnicodeDecodeError on bytes that are neither
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    for row in reader:
        yield start, row
        start = reader.line_num + 1


def _cell(value: Any, field: str) -> Any:
    """A cell as the record wants it: text stripped, numbers in text columns as their digits, "" for empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and field not in NUMERIC and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return value if field in NUMERIC else str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def _duties(text: str) -> list[Duty]:
    out, unknown = [], []
    for word in _DUTY_SPLIT.split(text.strip()):
        if not word:
            continue
        duty = DUTY_WORDS.get(word.lower())
        (out if duty else unknown).append(duty or word)
    if unknown:
        known = ", ".join(f"{d.value}/{DUTY_LABELS[d][0]}" for d in Duty)
        raise ValueError(f"unknown duty {', '.join(map(repr, unknown))} (known: {known})")
    return out


def _columns(header: list[Any], unit: str) -> tuple[dict[int, str], list[Problem]]:
    """Column index -> field, and the problems with the header (unknown, repeated, missing required)."""
    cols: dict[int, str] = {}
    problems: list[Problem] = []
    first: dict[str, str] = {}
    for i, raw in enumerate(header):
        name = "" if raw is None else str(raw).strip()
        if not name:
            continue
        field = COLUMN_OF.get(_norm(name))
        if field is None:
            problems.append(Problem(None, f"unknown column {name!r} (column {i + 1}); known: {_known()}"))
        elif field in first:
            problems.append(Problem(None, f"columns {first[field]!r} and {name!r} both give {field}"))
        else:
            cols[i] = field
            first[field] = name
    for field in REQUIRED:
        if field not in first:
            names = ", ".join(HEADERS[field])
            problems.append(Problem(None, f"missing required column {field} (one of: {names})"))
    return cols, problems


def _known() -> str:
    return "; ".join(f"{f}: {', '.join(names)}" for f, names in HEADERS.items())


def _record(cells: list[Any], cols: dict[int, str], headers: dict[str, str]) -> ShopRecord | str:
    """One row's record, or why it is bad (every reason in the row)."""
    values: dict[str, Any] = {}
    reasons: list[str] = []
    for i, value in enumerate(cells):
        field = cols.get(i)
        cell = _cell(value, field or "")
        if field is None:
            if cell != "":
                reasons.append(f"a value ({cell!r}) in column {i + 1}, which has no name")
            continue
        if cell == "":
            continue
        if field == "duties":
            try:
                cell = _duties(str(cell))
            except ValueError as exc:
                reasons.append(f"{_label(field, headers)}: {exc}")
                continue
        elif field == "party_kind":
            cell = KIND_WORDS.get(str(cell).lower(), cell)
        values[field] = cell
    try:
        record = ShopRecord.model_validate(values)
    except ValidationError as exc:
        for field, msg in problems_of(exc):
            got = values.get(field)
            shown = f" (got {got!r})" if isinstance(got, str | int | float) else ""
            reasons.append(f"{_label(field, headers)}: {'missing' if msg == 'Field required' else msg}{shown}")
    return "; ".join(reasons) if reasons else record


def _label(field: str, headers: dict[str, str]) -> str:
    header = headers.get(field, field)
    return field if header == field else f"{header} ({field})"


def read_ledger(path: str | Path) -> Ledger:
    """Every row of the file as a record; LedgerError with all the problems when any row (or the file) is bad."""
    path = Path(path)
    source = path.name
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise LedgerError(source, [Problem(None, f"unsupported file type {suffix or '(none)'!r}: use .csv or .xlsx")])
    unit = "row" if suffix == ".xlsx" else "line"
    try:
        rows = xlsx.rows(path) if suffix == ".xlsx" else _csv_rows(path.read_bytes())
        return _read(rows, source, unit)
    except LedgerError:
        raise
    except FileNotFoundError:
        raise LedgerError(source, [Problem(None, f"no such file: {path}")]) from None
    except UnicodeDecodeError as exc:
        raise LedgerError(source, [Problem(None, f"not UTF-8 or GB18030 text (byte {exc.start})")]) from None
    except csv.Error as exc:
        raise LedgerError(source, [Problem(None, f"not a readable CSV file: {exc}")]) from None
    except (zipfile.BadZipFile, KeyError, ExpatError, ValueError, OSError) as exc:  # not a workbook, or broken
        raise LedgerError(source, [Problem(None, f"not a readable XLSX workbook: {exc}")]) from None


def _read(rows: Iterator[tuple[int, list[Any]]], source: str, unit: str) -> Ledger:
    header: list[Any] | None = None
    cols: dict[int, str] = {}
    headers: dict[str, str] = {}
    problems: list[Problem] = []
    records: list[ShopRecord] = []
    first_line: dict[str, int] = {}
    id_col = 0
    for line, cells in rows:
        if all(_cell(c, "") == "" for c in cells):
            continue
        if header is None:
            header = cells
            cols, problems = _columns(cells, unit)
            if problems:
                raise LedgerError(source, problems)
            headers = {field: str(header[i]).strip() for i, field in cols.items()}
            id_col = next(i for i, field in cols.items() if field == "id")
            continue
        result = _record(cells, cols, headers)
        shop_id = str(_cell(cells[id_col], "id")) if id_col < len(cells) else ""
        if shop_id in first_line:
            dup = f"duplicate id {shop_id!r} (first on {unit} {first_line[shop_id]})"
            result = f"{dup}; {result}" if isinstance(result, str) else dup
        elif shop_id:
            first_line[shop_id] = line
        if isinstance(result, str):
            problems.append(Problem(line, result, unit))
        else:
            records.append(result)
    if header is None:
        problems.append(Problem(None, "the file is empty (no header row)"))
    elif not records and not problems:
        problems.append(Problem(None, "the file has a header but no shops"))
    if problems:
        raise LedgerError(source, problems)
    return Ledger(records, frozenset(cols.values()))


def import_ledger(engine: Engine, path: str | Path, actor: str, now: dt.datetime) -> tuple[Ledger, Counts]:
    """Read the whole file, then write it in one transaction (nothing is written when any row is bad)."""
    ledger = read_ledger(path)
    with Session(engine) as s, s.begin():
        counts = upsert(s, ledger.records, actor, now, action="import", only=ledger.fields)
    return ledger, counts
