"""Signboard PDFs: a real PDF whose printed QR codes a real decoder reads back as the shop's link."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
from sqlalchemy.orm import Session

from dispatch.db import make_engine
from frontage.cli import main
from frontage.config import Duty, parse_config
from register.db import ShopRow
from register.signboard_pdf import Signboard, render_pdf, signboards_for, wrap
from register.signboards import code_for, resolve_code, signboard_url

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
CFG = parse_config({"district": {"public_url": "https://shops.example.cn", "hotline": "12345", "name": "示范区"}})


def shop_row(shop_id: str, street: str = "解放街道", **kw) -> ShopRow:
    return ShopRow(
        id=shop_id, name=kw.get("name", f"老王面馆 {shop_id}"), address="解放路123号", street=street,
        community="东风社区", party_id="p-" + shop_id, party_name="王氏餐饮", contact_person="王建国",
        contact_phone="13812345678", duties=kw.get("duties", ["sanitation", "order", "greenery"]),
        signboard_generation=0, created_at=T0, updated_at=T0,
    )  # fmt: skip


def add(engine, *rows: ShopRow) -> None:
    with Session(engine) as s, s.begin():
        s.add_all(rows)


def pages(pdf_bytes: bytes | Path, scale: float = 1.5) -> list[np.ndarray]:
    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        return [np.asarray(page.render(scale=scale, grayscale=True).to_numpy()) for page in pdf]
    finally:
        pdf.close()


def decode_all(img: np.ndarray) -> list[str]:
    """Every QR code on a rendered page, by OpenCV's ArUco-based detector (its classic multi-code detector
    misses about one code in ten on clean renders; this one missed none of hundreds)."""
    ok, texts, _, _ = cv2.QRCodeDetectorAruco().detectAndDecodeMulti(img)
    return sorted(t for t in texts if t) if ok else []


def page_text(path: Path) -> str:
    pdf = pdfium.PdfDocument(path)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in pdf)
    finally:
        pdf.close()


@pytest.fixture
def engine(db_url):
    e = make_engine(db_url)
    yield e
    e.dispose()


def test_printed_qr_decodes_to_the_shops_link(engine, tmp_path) -> None:
    add(engine, shop_row("s1"), shop_row("s2"), shop_row("s3", street="人民街道"))
    boards = signboards_for(engine, CFG, street="解放街道")
    assert [b.shop_id for b in boards] == ["s1", "s2"]
    out = tmp_path / "one.pdf"
    assert render_pdf(boards, out, per_page=1) == 2
    imgs = pages(out)
    assert len(imgs) == 2
    for board, img in zip(boards, imgs, strict=True):
        (url,) = decode_all(img)
        assert url == board.url
        code = url.rsplit("/s/", 1)[1]
        assert url == signboard_url(CFG, code)
        assert resolve_code(engine, CFG, code).id == board.shop_id
    text = page_text(out)
    for needed in ("门前三包责任牌", "老王面馆 s1", "解放路123号", "市容环境卫生", "秩序", "绿化", "王建国", "12345"):
        assert needed in text, needed
    assert "13812345678" not in text  # the phone is personal data: never printed


def test_four_per_sheet_all_decode(engine, tmp_path) -> None:
    add(engine, *(shop_row(f"s{i}", duties=["order"]) for i in range(5)))
    boards = signboards_for(engine, CFG)
    out = tmp_path / "four.pdf"
    render_pdf(boards, out, per_page=4)
    first, second = pages(out, scale=2.0)
    assert decode_all(first) == sorted(b.url for b in boards[:4])
    assert decode_all(second) == [boards[4].url]
    assert boards[0].duties == (Duty.order,)


def test_one_shop_and_reproducible_bytes(engine, tmp_path) -> None:
    add(engine, shop_row("s1"), shop_row("s2"))
    (board,) = signboards_for(engine, CFG, shop_id="s2")
    assert board.contact_person == "王建国" and board.hotline == "12345"
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    render_pdf([board], a)
    render_pdf([board], b)
    assert a.read_bytes() == b.read_bytes() and a.read_bytes().startswith(b"%PDF-")
    with pytest.raises(ValueError, match="per_page"):
        render_pdf([board], tmp_path / "c.pdf", per_page=3)


def test_wrap_keeps_long_names_in_the_box() -> None:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from register.signboard_pdf import CJK, _ensure_fonts

    _ensure_fonts()
    lines = wrap("这是一个非常非常长的商铺名称" * 6, CJK, 20, 200, max_lines=2)
    assert len(lines) == 2 and lines[-1].endswith("…")
    assert all(stringWidth(line, CJK, 20) <= 200 for line in lines)
    latin = wrap("Old Wang Noodles and Dumplings", "Helvetica", 20, 150)
    assert " ".join(latin) == "Old Wang Noodles and Dumplings" and len(latin) > 1  # words stay whole
    assert all(stringWidth(line, "Helvetica", 20) <= 150 for line in latin)


def test_cli_prints_revokes_and_rotates(db_url, tmp_path, capsys) -> None:
    cfg_file = tmp_path / "district.yaml"
    cfg_file.write_text("district: {public_url: 'https://shops.example.cn', hotline: '12345'}\n")
    engine = make_engine(db_url)
    add(engine, shop_row("s1"), shop_row("s2", street="人民街道"))
    base = ["signboards", "--db", db_url, "--config", str(cfg_file)]
    out = tmp_path / "street.pdf"
    assert main([*base, "--street", "人民街道", "--out", str(out), "--per-page", "4"]) == 0
    assert "wrote 1 signboard(s)" in capsys.readouterr().out
    (url,) = decode_all(pages(out, scale=2.0)[0])
    code = url.rsplit("/", 1)[1]
    cfg = parse_config({"district": {"public_url": "https://shops.example.cn"}})
    assert resolve_code(engine, cfg, code).id == "s2"
    assert main([*base, "--revoke", "s2"]) == 0
    assert resolve_code(engine, cfg, code) is None
    with Session(engine) as s:
        s1 = s.get(ShopRow, "s1")
        s.expunge(s1)
    before = code_for(engine, cfg, s1)
    assert main([*base, "--rotate-key"]) == 0
    assert resolve_code(engine, cfg, before) is None
    assert "every printed code is now invalid" in capsys.readouterr().out
    # bad inputs: a clear message and exit 2
    assert main([*base, "--revoke", "nope"]) == 2
    assert "no shop with id 'nope'" in capsys.readouterr().err
    assert main([*base, "--street", "无此街", "--out", str(tmp_path / "x.pdf")]) == 2
    assert "no shops in street" in capsys.readouterr().err
    assert main(base) == 2
    assert "say what to do" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "missing" / "dir" / "x.pdf")]) == 2
    assert "cannot write" in capsys.readouterr().err
    engine.dispose()


def test_signboard_fields_are_plain_data() -> None:
    board = Signboard("s", "n", "a", "st", "c", (Duty.order,), "p", "h", "d", "https://x/s/abc")
    assert board.url.endswith("/s/abc")
