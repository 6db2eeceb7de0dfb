"""Signboard QR links: one signed, unguessable, revocable code per shop.

A code is ``b64url(shop_id) + "." + b64url(HMAC-SHA256(key, shop_id|generation)[:12])``. Bumping the shop's
``signboard_generation`` revokes its printed code; rotating the key voids every printed code at once.
``resolve_code`` does the same work for any input (one DB read, one HMAC, one constant-time compare), so a
guessed or garbage code cannot be told from a revoked one by its answer or its timing.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from frontage.config import Config
from register.db import ShopHistoryRow, ShopRow, SignboardKeyRow

SIG_BYTES = 12
MAX_CODE_CHARS = 200  # a 100-character shop id encodes to 134; longer input is garbage by definition
_DUMMY_SHOP_ID = ""  # no shop has an empty id; looked up when a code does not parse, so the work stays the same
_DUMMY_KEY = b"\x00" * 32  # signs nothing: used when the store holds no key yet
_DUMMY_SIG = b"\x00" * SIG_BYTES


class SignboardError(ValueError):
    """A signboard operation that cannot be done (unknown shop, rotating a key the config holds)."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, shop_id: str, generation: int) -> bytes:
    return hmac.new(key, f"{shop_id}|{generation}".encode(), hashlib.sha256).digest()[:SIG_BYTES]


def parse_code(code: str) -> tuple[str, bytes] | None:
    """The shop id and signature a code carries, or None when it is not shaped like a code."""
    if not isinstance(code, str) or len(code) > MAX_CODE_CHARS or code.count(".") != 1:
        return None
    id_part, sig_part = code.split(".")
    try:
        shop_id = _unb64(id_part).decode("utf-8")
        sig = _unb64(sig_part)
    except (binascii.Error, ValueError):
        return None
    if not shop_id or len(sig) != SIG_BYTES or _b64(shop_id.encode()) != id_part or _b64(sig) != sig_part:
        return None
    return shop_id, sig


def _new_key(s: Session, now: dt.datetime) -> SignboardKeyRow:
    row = SignboardKeyRow(key=secrets.token_urlsafe(32), created_at=now, retired_at=None)
    s.add(row)
    s.flush()
    return row


def _current_key_row(s: Session) -> SignboardKeyRow | None:
    q = select(SignboardKeyRow).where(SignboardKeyRow.retired_at.is_(None)).order_by(SignboardKeyRow.id.desc())
    return s.scalars(q.limit(1)).first()


def signing_key(engine: Engine, cfg: Config, now: dt.datetime | None = None) -> bytes:
    """The key that signs new codes: the config's, else the store's newest unretired one (made on first use)."""
    if cfg.district.signboard_key:
        return cfg.district.signboard_key.encode()
    with Session(engine) as s, s.begin():
        row = _current_key_row(s) or _new_key(s, now or dt.datetime.now(dt.UTC))
        return row.key.encode()


def code_for(engine: Engine, cfg: Config, shop: ShopRow, *, key: bytes | None = None) -> str:
    """The code printed on this shop's signboard (pass `key` from signing_key when making many)."""
    key = key if key is not None else signing_key(engine, cfg)
    return _b64(shop.id.encode()) + "." + _b64(_sign(key, shop.id, shop.signboard_generation))


def signboard_url(cfg: Config, code: str) -> str:
    """The link the QR code holds: the public base URL + /s/ + code."""
    base = (cfg.district.public_url or cfg.dispatch.public_url).rstrip("/")
    return f"{base}/s/{code}"


def resolve_code(engine: Engine, cfg: Config, code: str) -> ShopRow | None:
    """The shop a valid, current code names, else None. Constant work: one read, one HMAC, one compare."""
    parsed = parse_code(code)
    shop_id, sig = parsed if parsed is not None else (_DUMMY_SHOP_ID, _DUMMY_SIG)
    with Session(engine, expire_on_commit=False) as s:
        if cfg.district.signboard_key:
            key = cfg.district.signboard_key.encode()
            shop = s.scalars(select(ShopRow).where(ShopRow.id == shop_id)).first()
        else:
            # The shop and the live key in one statement: a rotation by another process counts at once.
            live_key = (
                select(SignboardKeyRow.key)
                .where(SignboardKeyRow.retired_at.is_(None))
                .order_by(SignboardKeyRow.id.desc())
                .limit(1)
                .scalar_subquery()
            )
            row = s.execute(select(ShopRow, live_key).where(ShopRow.id == shop_id)).first()
            shop = row[0] if row is not None else None
            key = row[1].encode() if row is not None and row[1] is not None else _DUMMY_KEY
        if shop is not None:
            s.expunge(shop)
    generation = shop.signboard_generation if shop is not None else 0
    expected = _sign(key, shop_id, generation)
    ok = hmac.compare_digest(expected, sig)
    if parsed is None or shop is None or key is _DUMMY_KEY:
        return None
    return shop if ok else None


def revoke(engine: Engine, shop_id: str, actor: str, now: dt.datetime) -> int:
    """Void the shop's printed code (its next signboard gets a new one); returns the new generation."""
    with Session(engine) as s, s.begin():
        shop = s.get(ShopRow, shop_id)
        if shop is None:
            raise SignboardError(f"no shop with id {shop_id!r}")
        old = shop.signboard_generation
        s.execute(
            update(ShopRow)
            .where(ShopRow.id == shop_id)
            .values(signboard_generation=ShopRow.signboard_generation + 1, updated_at=now)
        )
        s.add(
            ShopHistoryRow(
                shop_id=shop_id,
                at=now,
                actor=actor,
                action="signboard_revoked",
                changes={"signboard_generation": [old, old + 1]},
            )
        )
        return old + 1


def rotate_key(engine: Engine, now: dt.datetime, cfg: Config | None = None) -> int:
    """Retire the store's signing key and make a new one: every printed code becomes invalid. Returns its id."""
    if cfg is not None and cfg.district.signboard_key:
        raise SignboardError(
            "the config sets district.signboard_key; change it there to rotate (the store's key is not used)"
        )
    with Session(engine) as s, s.begin():
        s.execute(update(SignboardKeyRow).where(SignboardKeyRow.retired_at.is_(None)).values(retired_at=now))
        return _new_key(s, now).id
