"""Signed links to a case's platform rendering: the city's Open311 platform fetches `media_url` with no token.

The link is `/evidence/{case_id}/platform.jpg?sig=...`, sig = HMAC-SHA256(key, "platform|id|violation key"),
truncated to 24 bytes. The violation key is in it, so a link stays bound to its case even when a store is reset
and ids are reused. The key is derived from the district's signboard key (register.evidence_keys): rotating that
key (`frontage signboards rotate`) also voids every evidence link sent before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

LABEL = b"frontage-evidence"
SIG_BYTES = 24


def derive_key(base: bytes) -> bytes:
    """The evidence-link key from the store's secret: its own label, so no other signature can stand for it."""
    return hmac.new(base, LABEL, hashlib.sha256).digest()


def platform_sig(key: bytes, case_id: int, violation_key: str) -> str:
    digest = hmac.new(key, f"platform|{case_id}|{violation_key}".encode(), hashlib.sha256).digest()[:SIG_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def platform_path(key: bytes, case_id: int, violation_key: str) -> str:
    return f"/evidence/{case_id}/platform.jpg?sig={platform_sig(key, case_id, violation_key)}"


def sig_ok(key: bytes, case_id: int, violation_key: str, sig: str) -> bool:
    return hmac.compare_digest(platform_sig(key, case_id, violation_key).encode(), sig.encode())
