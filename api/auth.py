"""Bearer tokens -> principals. Tokens are compared by SHA-256 digest in constant time, so the config may hold
only digests and a timing probe learns nothing about a near-miss token."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dispatch.lifecycle import Actor
from frontage.config import ApiToken, Role

bearer = HTTPBearer(auto_error=False, description="An API token from the config's api.tokens.")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's holder, role and (for merchants) the one shop it may see."""

    name: str
    role: Role
    shop_id: str | None = None

    @property
    def actor(self) -> Actor:
        return {Role.merchant: Actor.merchant, Role.inspector: Actor.inspector}.get(self.role, Actor.operator)

    def sees_shop(self, shop_id: str) -> bool:
        return self.role is not Role.merchant or shop_id == self.shop_id


class TokenStore:
    """The configured tokens as digests; `lookup` checks every entry so the time does not depend on the match."""

    def __init__(self, tokens: list[ApiToken]):
        self._entries: list[tuple[bytes, Principal]] = []
        for i, tok in enumerate(tokens):
            if tok.token:
                digest = hashlib.sha256(tok.token.encode()).digest()
            else:
                try:
                    digest = bytes.fromhex(tok.token_sha256)
                except ValueError:
                    digest = b""
                if len(digest) != 32:
                    raise ValueError(f"api.tokens[{i}].token_sha256 is not 64 hex digits")
            self._entries.append((digest, Principal(tok.name, tok.role, tok.shop_id)))

    def lookup(self, token: str) -> Principal | None:
        digest = hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
        found: Principal | None = None
        for known, principal in self._entries:
            if hmac.compare_digest(known, digest) and found is None:
                found = principal
        return found


def unauthorized(detail: str, error: str | None = None) -> HTTPException:
    challenge = 'Bearer realm="frontage"' + (f', error="{error}"' if error else "")
    return HTTPException(401, detail, headers={"WWW-Authenticate": challenge})


def principal(request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    """The dependency every protected route takes: 401 with a challenge unless the token is known."""
    if creds is None or not creds.credentials:
        raise unauthorized("missing bearer token (Authorization: Bearer <token>)")
    found = request.app.state.tokens.lookup(creds.credentials)
    if found is None:
        raise unauthorized("invalid bearer token", "invalid_token")
    return found


def staff(who: Annotated[Principal, Depends(principal)]) -> Principal:
    """Admins and operators only; merchants and inspectors get 403 (they know the route exists, it is
    documented)."""
    if who.role not in (Role.admin, Role.operator):
        raise HTTPException(403, "operators and admins only")
    return who


def inspector(who: Annotated[Principal, Depends(principal)]) -> Principal:
    """Inspectors (and admins, who may stand in for one) record inspections."""
    if who.role not in (Role.inspector, Role.admin):
        raise HTTPException(403, "inspectors only")
    return who


def admin(who: Annotated[Principal, Depends(principal)]) -> Principal:
    """Admins only: for changes that take away what operators rely on (removing a permitted fixture)."""
    if who.role is not Role.admin:
        raise HTTPException(403, "admins only")
    return who


CurrentPrincipal = Annotated[Principal, Depends(principal)]
Staff = Annotated[Principal, Depends(staff)]
Admin = Annotated[Principal, Depends(admin)]
Inspector = Annotated[Principal, Depends(inspector)]
