"""The OpenID provider as this server sees it: its discovery document and its signing
keys (JWKS), fetched over HTTP and cached, and the check of a JWT it signed.

Keys are kept ``OIDC_JWKS_CACHE_SECONDS``; a token signed with a key id not in the
cache makes one fetch at once (the provider rotated its keys): once per unknown key id,
and at most ``REFETCHES_PER_MINUTE`` such fetches a minute, so a stream of forged key
ids cannot make us hammer the provider. JOSE is joserfc's: nothing here parses or
verifies a signature by hand.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

REFETCHES_PER_MINUTE = 6
LEEWAY_SECONDS = 30
"""Clock skew allowed on ``exp``, ``nbf`` and ``iat`` between us and the provider."""


class TokenRefused(Exception):
    """A JWT that is not good here; the message says why (never the token)."""


class ProviderUnreachable(Exception):
    """The provider's discovery document or keys could not be fetched."""


@dataclass
class _Cached:
    value: Any
    at: float


class OidcProvider:
    """Discovery and keys of one issuer. Async; one per process."""

    def __init__(
        self,
        issuer: str,
        http: httpx.AsyncClient,
        cache_seconds: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self._http = http
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._metadata: _Cached | None = None
        self._keys: _Cached | None = None
        self._refetches: list[float] = []
        self._tried: set[str] = set()
        self._lock = asyncio.Lock()
        self.key_fetches = 0

    async def _get(self, url: str) -> Any:
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnreachable(
                f"the identity provider did not answer {url}: {type(exc).__name__}"
            ) from None

    def _fresh(self, cached: _Cached | None) -> bool:
        return cached is not None and self._monotonic() - cached.at < self._cache_seconds

    async def metadata(self) -> Mapping[str, Any]:
        """The discovery document (``/.well-known/openid-configuration``); its ``issuer``
        must be the one configured (OpenID Connect Discovery §4.3)."""
        if self._fresh(self._metadata):
            assert self._metadata is not None
            return dict(self._metadata.value)
        found = await self._get(f"{self.issuer}/.well-known/openid-configuration")
        if not isinstance(found, dict) or str(found.get("issuer", "")).rstrip("/") != self.issuer:
            raise ProviderUnreachable("the discovery document names another issuer")
        self._metadata = _Cached(found, self._monotonic())
        return dict(found)

    async def key_set(self, kid: str | None) -> KeySet:
        """The provider's keys, fetched again when stale or when ``kid`` is unknown."""
        async with self._lock:
            cached = self._keys
            known = cached is not None and (kid is None or _has_kid(cached.value, kid))
            if self._fresh(cached) and known:
                assert cached is not None
                return KeySet(list(cached.value.keys))
            fresh = cached is not None and self._fresh(cached)
            if fresh and (kid is None or not self._may_refetch(kid)):
                assert cached is not None
                return KeySet(list(cached.value.keys))
            meta = await self.metadata()
            self.key_fetches += 1
            raw = await self._get(str(meta["jwks_uri"]))
            try:
                keys = KeySet.import_key_set(raw)
            except (JoseError, ValueError, TypeError, KeyError):
                raise ProviderUnreachable("the provider's JWKS is not a key set") from None
            self._keys = _Cached(keys, self._monotonic())
            return KeySet(list(keys.keys))

    def _may_refetch(self, kid: str) -> bool:
        """A fresh key set lacks ``kid``: fetch again, unless this id was tried since
        the last fetch or the minute's fetches are spent."""
        now = self._monotonic()
        self._refetches = [at for at in self._refetches if now - at < 60.0]
        if kid in self._tried or len(self._refetches) >= REFETCHES_PER_MINUTE:
            return False
        self._refetches.append(now)
        self._tried = {kid} if len(self._tried) > 1000 else {*self._tried, kid}
        return True

    async def verify(
        self,
        token: str,
        *,
        audience: str,
        algorithms: Collection[str],
        now: Callable[[], int],
        nonce: str | None = None,
    ) -> dict[str, Any]:
        """The claims of a JWT this issuer signed for ``audience``; raises
        :class:`TokenRefused` (saying why) or :class:`ProviderUnreachable`."""
        try:
            header = jws.extract_compact(token.encode()).protected
        except (JoseError, ValueError, UnicodeError):
            raise TokenRefused("not a signed JWT") from None
        alg = header.get("alg")
        if alg not in algorithms:  # "none" is never in the list
            raise TokenRefused(f"signature algorithm {str(alg)[:16]!r} is not accepted")
        kid = header.get("kid")
        keys = await self.key_set(kid if isinstance(kid, str) else None)
        if isinstance(kid, str) and not _has_kid(keys, kid):
            raise TokenRefused("signed with a key the provider does not publish")
        try:
            decoded = jwt.decode(token, keys, algorithms=list(algorithms))
        except JoseError:
            raise TokenRefused("the signature does not match") from None
        claims = dict(decoded.claims)
        _check_claims(claims, self.issuer, audience, now, nonce)
        return claims


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)


def _check_claims(
    claims: dict[str, Any], issuer: str, audience: str, now: Callable[[], int], nonce: str | None
) -> None:
    options: dict[str, Any] = {
        "iss": {"essential": True},
        "aud": {"essential": True, "value": audience},
        "exp": {"essential": True},
        "sub": {"essential": True},
    }
    if nonce is not None:
        options["nonce"] = {"essential": True, "value": nonce}
    registry = jwt.JWTClaimsRegistry(now=now, leeway=LEEWAY_SECONDS, **options)
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise TokenRefused(_why(exc)) from None
    if str(claims["iss"]).rstrip("/") != issuer:  # Auth0's issuers end in "/"
        raise TokenRefused("issued by another issuer")


def _why(exc: JoseError) -> str:
    """A short reason (joserfc's error names the claim)."""
    name = type(exc).__name__
    if "not yet valid" in str(exc.description):
        return "the token is not valid yet (nbf or iat in the future)"
    reasons = {
        "ExpiredTokenError": "the token has expired",
        "InvalidTokenError": "the token is not valid yet (nbf or iat in the future)",
        "MissingClaimError": f"a required claim is missing ({exc.description})",
        "InvalidClaimError": f"a claim has the wrong value ({exc.description})",
    }
    return reasons.get(name, f"the claims are not valid ({name})")
