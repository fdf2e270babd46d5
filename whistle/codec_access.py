"""Who may ask the codec server to decrypt: a bearer JWT from the deployment's identity provider.

The Temporal UI passes the signed-in user's access token to the codec endpoint (``passAccessToken``). The codec
server checks it as Temporal's own default authorizer would: the signature against the issuer's published keys
(JWKS), the issuer, the expiry (and the audience, if one is configured), and that its permissions claim grants
the asked namespace (``<namespace>:<role>``, any role, or ``temporal-system:admin``). The namespace must also be
on the codec server's own allow-list, so a token for a namespace this deployment does not serve reads nothing.

The keys are fetched with httpx and kept for ``KEYS_TTL`` seconds; a token signed by a key id not among them
makes one early refetch (the issuer rotated), at most every ``REFETCH_FLOOR`` seconds.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from fastapi import HTTPException

from whistle.codec import CodecKeyError
from whistle.settings import Settings

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
"""Asymmetric signatures only: a shared-secret token could be minted by anyone who can verify one."""
KEYS_TTL = 600.0
REFETCH_FLOOR = 30.0
SYSTEM_GRANT = "temporal-system:admin"


@dataclass
class CodecAccess:
    """The codec server's gate: which issuer, whose keys, which namespaces."""

    issuer: str
    jwks_url: str
    namespaces: frozenset[str]
    audience: str | None = None
    permissions_claim: str = "permissions"
    _keys: jwt.PyJWKSet | None = field(default=None, repr=False)
    _fetched_at: float = field(default=0.0, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def admit(self, authorization: str | None, namespace: str) -> dict[str, Any]:
        """The token's claims if it may decode for ``namespace``; raises 401 (who are you) or 403 (not for this)."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(status_code=401, detail="authorization: send the access token as a Bearer JWT")
        claims = await self._verified(token.strip())
        if namespace not in self.namespaces:
            raise HTTPException(status_code=403, detail=f"x-namespace: this codec server does not serve {namespace!r}")
        grants = claims.get(self.permissions_claim) or []
        if not isinstance(grants, list) or not any(_grants(grant, namespace) for grant in grants):
            raise HTTPException(status_code=403, detail=f"authorization: the token grants nothing in {namespace!r}")
        return claims

    async def _verified(self, token: str) -> dict[str, Any]:
        try:
            key_id = jwt.get_unverified_header(token).get("kid")
            key = await self._key(key_id)
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "iss"], "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise HTTPException(status_code=401, detail="authorization: the token has expired") from None
        except jwt.PyJWTError as error:
            raise HTTPException(status_code=401, detail=f"authorization: not a valid token ({error})") from None
        return claims

    async def _key(self, key_id: str | None) -> Any:
        async with self._lock:
            now = time.monotonic()
            if self._keys is None or now - self._fetched_at > KEYS_TTL:
                await self._fetch(now)
            assert self._keys is not None
            found = _find(self._keys, key_id)
            if found is None and now - self._fetched_at > REFETCH_FLOOR:
                await self._fetch(now)
                found = _find(self._keys, key_id)
        if found is None:
            raise jwt.InvalidKeyError(f"no signing key {key_id!r} at the issuer")
        return found

    async def _fetch(self, now: float) -> None:
        try:
            async with httpx.AsyncClient(timeout=5.0) as http:
                answer = await http.get(self.jwks_url)
                answer.raise_for_status()
                self._keys = jwt.PyJWKSet.from_dict(answer.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as error:
            if self._keys is None:
                detail = f"authorization: the issuer's keys are unavailable ({error})"
                raise HTTPException(status_code=503, detail=detail) from None
            return  # keep the keys we have; try again after the floor
        finally:
            self._fetched_at = now


def _find(keys: jwt.PyJWKSet, key_id: str | None) -> Any:
    for candidate in keys.keys:
        if key_id is None or candidate.key_id == key_id:
            return candidate.key
    return None


def _grants(grant: object, namespace: str) -> bool:
    """``default:read`` grants ``default``; ``temporal-system:admin`` grants every namespace."""
    if not isinstance(grant, str):
        return False
    granted, _, role = grant.partition(":")
    return grant == SYSTEM_GRANT or (granted == namespace and role in {"read", "write", "worker", "admin"})


def access_for(settings: Settings) -> CodecAccess | None:
    """The gate the settings configure, or None when no issuer is named (only the embedded dev stack may run so)."""
    if settings.codec_jwt_issuer is None and settings.codec_jwks_url is None:
        return None
    if settings.codec_jwt_issuer is None or settings.codec_jwks_url is None:
        raise CodecKeyError("WHISTLE_CODEC_JWT_ISSUER and WHISTLE_CODEC_JWKS_URL: name both, or neither")
    namespaces = {name.strip() for name in settings.codec_namespaces.split(",") if name.strip()}
    return CodecAccess(
        issuer=settings.codec_jwt_issuer,
        jwks_url=settings.codec_jwks_url,
        namespaces=frozenset(namespaces or {settings.temporal_namespace}),
        audience=settings.codec_jwt_audience,
        permissions_claim=settings.codec_jwt_permissions_claim,
    )
