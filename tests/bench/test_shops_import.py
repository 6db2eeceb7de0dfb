"""The ledger benchmark's generated district reads back as valid shops, and a small run prints its table."""

from __future__ import annotations

from bench.shops_import import changed, ledger_rows, main, write_csv, write_xlsx
from register.importer import read_ledger


def test_generated_ledger_is_valid_and_realistic(tmp_path):
    rows = ledger_rows(400)
    csv_ledger = read_ledger(write_csv(tmp_path / "l.csv", rows))
    xlsx_ledger = read_ledger(write_xlsx(tmp_path / "l.xlsx", rows))
    assert csv_ledger.records == xlsx_ledger.records and len(csv_ledger.records) == 400
    records = csv_ledger.records
    assert len({r.street for r in records}) == 12 and len({r.community for r in records}) > 40
    parties = [r.party_id for r in records if r.party_id != r.id]
    assert 20 < len(parties) < 110 and len(set(parties)) < len(parties)  # chains: several shops, one party
    diff = [i for i, (a, b) in enumerate(zip(rows, changed(rows), strict=True)) if a != b]
    assert len(diff) == 4  # 1%


def test_small_run_prints_the_table(capsys):
    assert main(["--rows", "300", "--repeat", "1", "--db", "sqlite", "--formats", "csv"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("shop ledger import, 300 shops (csv ")
    assert out[1].split() == ["store", "file", "read", "fresh", "again", "1%", "changed", "rows/s", "fresh"]
    assert out[2].split()[:2] == ["sqlite", "csv"] and len(out) == 3
