"""The provider's keys: cached, fetched again for a rotated key, never hammered."""

from __future__ import annotations

import asyncio
import json

import httpx
from joserfc.jwk import RSAKey

from infrastructure.http.access.provider import REFETCHES_PER_MINUTE, OidcProvider

ISSUER = "https://idp.example.test/realms/fleet"


class FakeIdp:
    """An httpx transport answering discovery and JWKS, counting JWKS fetches."""

    def __init__(self) -> None:
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": "k1"})]
        self.fetches = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("openid-configuration"):
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/certs"})
        self.fetches += 1
        keys = [key.as_dict(private=False) for key in self.keys]
        return httpx.Response(200, content=json.dumps({"keys": keys}))


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run(idp: FakeIdp, ticks: Ticks, kids: list[str | None]) -> list[list[str]]:
    async def go() -> list[list[str]]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(idp)) as http:
            provider = OidcProvider(ISSUER, http, cache_seconds=300, monotonic=ticks)
            found = []
            for kid in kids:
                keys = await provider.key_set(kid)
                found.append([str(k.kid) for k in keys.keys])
            return found

    return asyncio.run(go())


def test_keys_are_fetched_once_while_fresh() -> None:
    idp, ticks = FakeIdp(), Ticks()

    run(idp, ticks, ["k1", "k1", None, "k1"])

    assert idp.fetches == 1


def test_an_unknown_key_id_fetches_again_and_finds_the_rotated_key() -> None:
    idp, ticks = FakeIdp(), Ticks()

    async def go() -> list[str]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(idp)) as http:
            provider = OidcProvider(ISSUER, http, monotonic=ticks)
            await provider.key_set("k1")
            idp.keys.insert(0, RSAKey.generate_key(2048, parameters={"kid": "k2"}))
            return [str(k.kid) for k in (await provider.key_set("k2")).keys]

    assert asyncio.run(go()) == ["k2", "k1"] and idp.fetches == 2


def test_forged_key_ids_cannot_make_it_hammer_the_provider() -> None:
    idp, ticks = FakeIdp(), Ticks()

    run(idp, ticks, ["k1", *(f"forged-{i}" for i in range(50)), "forged-1", "forged-1"])

    assert idp.fetches == 1 + REFETCHES_PER_MINUTE


def test_stale_keys_are_fetched_again() -> None:
    idp, ticks = FakeIdp(), Ticks()

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(idp)) as http:
            provider = OidcProvider(ISSUER, http, cache_seconds=300, monotonic=ticks)
            await provider.key_set("k1")
            ticks.now = 301.0
            await provider.key_set("k1")

    asyncio.run(go())
    assert idp.fetches == 2


def verify(idp: FakeIdp, claims: dict[str, object], now: int, **options: object) -> object:
    """``OidcProvider.verify`` of a token ``idp``'s first key signs with ``claims``."""
    from joserfc import jwt

    from infrastructure.http.access.provider import TokenRefused

    token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, idp.keys[0])

    async def go() -> object:
        async with httpx.AsyncClient(transport=httpx.MockTransport(idp)) as http:
            provider = OidcProvider(ISSUER, http)
            try:
                return await provider.verify(
                    token, audience="cml-fleet", algorithms=["RS256"], now=lambda: now,
                    **options,  # type: ignore[arg-type]
                )  # fmt: skip
            except TokenRefused as refused:
                return str(refused)

    return asyncio.run(go())


NOW = 1_800_000_000
GOOD = {"iss": ISSUER, "aud": "cml-fleet", "sub": "kim", "exp": NOW + 300, "iat": NOW}


def test_a_token_not_valid_yet_is_refused_beyond_the_leeway() -> None:
    idp = FakeIdp()

    assert isinstance(verify(idp, {**GOOD, "nbf": NOW + 10}, NOW), dict)  # within 30 s
    assert "not valid yet" in str(verify(idp, {**GOOD, "nbf": NOW + 120}, NOW))


def test_a_token_without_expiry_or_subject_is_refused() -> None:
    idp = FakeIdp()
    no_exp = {k: v for k, v in GOOD.items() if k != "exp"}
    no_sub = {k: v for k, v in GOOD.items() if k != "sub"}

    assert "exp" in str(verify(idp, no_exp, NOW))
    assert "sub" in str(verify(idp, no_sub, NOW))


def test_the_issuer_must_match_but_a_trailing_slash_does_not_matter() -> None:
    idp = FakeIdp()

    assert isinstance(verify(idp, {**GOOD, "iss": ISSUER + "/"}, NOW), dict)
    assert "another issuer" in str(verify(idp, {**GOOD, "iss": ISSUER + "-evil"}, NOW))


def test_an_id_token_must_carry_the_logins_nonce() -> None:
    idp = FakeIdp()

    assert isinstance(verify(idp, {**GOOD, "nonce": "n-1"}, NOW, nonce="n-1"), dict)
    assert "nonce" in str(verify(idp, {**GOOD, "nonce": "n-2"}, NOW, nonce="n-1"))
    assert "nonce" in str(verify(idp, GOOD, NOW, nonce="n-1"))
