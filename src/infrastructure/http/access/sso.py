"""Single sign-on with an OpenID Connect provider, as a backend-for-frontend.

Browser: the authorization code flow with PKCE (S256), ``state`` bound to the browser by
a short-lived cookie and taken once, ``nonce`` checked in the ID token. The server
exchanges the code with the client secret, keeps the tokens (``sso_store``) and gives
the browser only its session cookie. Before the access token expires (less
``OIDC_REFRESH_MARGIN_SECONDS``), the first request of the session refreshes the tokens
(one process at a time) and re-reads the role and teams from the new ID token; a refused
refresh ends the session. Logout is RP-initiated: the provider's ``end_session_endpoint``
with ``client_id`` and ``post_logout_redirect_uri`` (no token in the URL).

API clients: ``Authorization: Bearer <JWT>`` signed by the provider for
``OIDC_AUDIENCE`` (``provider.OidcProvider.verify``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from application.ports import Clock
from infrastructure.http.access.auth import Identity, digest
from infrastructure.http.access.claims import ClaimRules, NoRole, parse_role_map
from infrastructure.http.access.provider import OidcProvider, ProviderUnreachable, TokenRefused
from infrastructure.http.access.sso_store import PendingLogin, Sealer, SsoStore
from infrastructure.shared.settings import Settings

__all__ = ["LoginFailed", "NoRole", "ProviderUnreachable", "Sso", "SsoConfig", "TokenRefused"]

MIN_REFRESH_SECONDS = 5.0


class SsoMisconfigured(ValueError):
    """The OIDC settings are incomplete or wrong (said at start-up)."""


class LoginFailed(Exception):
    """A login that came back from the provider and cannot be finished; ``reason`` is
    one of the login page's fixed reasons."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class SsoConfig:
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: str
    audience: str
    algorithms: tuple[str, ...]
    rules: ClaimRules
    refresh_margin: float
    provider_name: str
    session_max_age: int
    jwks_cache_seconds: int
    timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> SsoConfig | None:
        """The configuration, or ``None`` when ``OIDC_ISSUER`` is not set."""
        if not settings.oidc_issuer:
            return None
        if not settings.oidc_client_id or settings.oidc_client_secret_file is None:
            raise SsoMisconfigured(
                "OIDC_ISSUER is set: OIDC_CLIENT_ID and OIDC_CLIENT_SECRET_FILE are needed too"
            )
        try:
            secret = settings.oidc_client_secret_file.read_text().strip()
        except OSError as exc:
            raise SsoMisconfigured(f"OIDC_CLIENT_SECRET_FILE cannot be read: {exc}") from None
        if not secret:
            raise SsoMisconfigured("OIDC_CLIENT_SECRET_FILE is empty")
        if "none" in {a.lower() for a in settings.oidc_algorithms}:
            raise SsoMisconfigured("OIDC_ALGORITHMS may not allow unsigned tokens ('none')")
        if "openid" not in settings.oidc_scopes.split():
            raise SsoMisconfigured("OIDC_SCOPES must include openid")
        try:
            role_map = parse_role_map(settings.oidc_role_map)
        except ValueError as exc:
            raise SsoMisconfigured(str(exc)) from None
        return cls(
            issuer=settings.oidc_issuer.rstrip("/"),
            client_id=settings.oidc_client_id,
            client_secret=secret,
            scopes=settings.oidc_scopes,
            audience=settings.oidc_audience or settings.oidc_client_id,
            algorithms=tuple(settings.oidc_algorithms),
            rules=ClaimRules(
                settings.oidc_roles_claim,
                role_map,
                settings.oidc_teams_claim,
                settings.oidc_name_claim,
            ),
            refresh_margin=float(settings.oidc_refresh_margin_seconds),
            provider_name=settings.oidc_provider_name,
            session_max_age=settings.session_max_age_seconds,
            jwks_cache_seconds=settings.oidc_jwks_cache_seconds,
            timeout=settings.oidc_http_timeout_seconds,
        )


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    raw = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass
class SsoCounts:
    """What /metrics reports of single sign-on."""

    logins: int = 0
    login_failures: int = 0
    refreshes: int = 0
    refresh_failures: int = 0
    bearer_refused: int = 0


class Sso:
    """One per process. ``run_sync`` runs the store's calls off the event loop."""

    def __init__(
        self,
        config: SsoConfig,
        store: SsoStore,
        http: httpx.AsyncClient,
        clock: Clock,
        run_sync: Callable[..., Any],
    ) -> None:
        self.config = config
        self.store = store
        self.provider = OidcProvider(config.issuer, http, config.jwks_cache_seconds)
        self._http = http
        self._clock = clock
        self._run_sync = run_sync
        self.counts = SsoCounts()
        self._bearers: dict[str, float] = {}
        """Credential id of a bearer JWT seen on a stream → its expiry (epoch)."""

    @classmethod
    def build(
        cls, settings: Settings, db: Any, clock: Clock, run_sync: Callable[..., Any]
    ) -> Sso | None:
        config = SsoConfig.from_settings(settings)
        if config is None:
            return None
        store = SsoStore(db, clock, Sealer(config.client_secret))
        http = httpx.AsyncClient(timeout=config.timeout, follow_redirects=False)
        return cls(config, store, http, clock, run_sync)

    async def close(self) -> None:
        await self._http.aclose()

    def _now(self) -> int:
        return int(self._clock.now().timestamp())

    # API clients -------------------------------------------------------------------

    async def bearer(self, token: str) -> Identity:
        """The identity of a provider JWT; raises ``TokenRefused``, ``NoRole`` or
        ``ProviderUnreachable``."""
        try:
            claims = await self.provider.verify(
                token, audience=self.config.audience, algorithms=self.config.algorithms,
                now=self._now,
            )  # fmt: skip
        except TokenRefused:
            self.counts.bearer_refused += 1
            raise
        credential = "jwt:" + digest(token)[:12]
        identity = self.config.rules.identity(claims, credential)
        self._bearers[credential] = float(claims["exp"])
        if len(self._bearers) > 10_000:
            now = self._now()
            self._bearers = {k: v for k, v in self._bearers.items() if v > now}
        return identity

    # browser login -----------------------------------------------------------------

    async def authorization_url(self, redirect_uri: str) -> tuple[str, str]:
        """Where to send the browser, and the ``state`` to bind to it."""
        meta = await self.provider.metadata()
        state, verifier, nonce = (secrets.token_urlsafe(32) for _ in range(3))
        await self._run_sync(self.store.begin_login, state, PendingLogin(verifier, nonce))
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.config.client_id,
                "redirect_uri": redirect_uri,
                "scope": self.config.scopes,
                "state": state,
                "nonce": nonce,
                "code_challenge": pkce_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        return f"{meta['authorization_endpoint']}?{query}", state

    async def finish(
        self, code: str, state: str, bound_state: str | None, redirect_uri: str
    ) -> tuple[str, str, Identity]:
        """Exchange the code; a new session's (id, CSRF token, identity). Raises
        :class:`LoginFailed`."""
        if bound_state is None or not secrets.compare_digest(state, bound_state):
            raise LoginFailed("sso-failed", "the login was not started by this browser")
        pending = await self._run_sync(self.store.take_login, state)
        if pending is None:
            raise LoginFailed("sso-failed", "the login expired or was already used")
        tokens = await self._token_call(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": pending.verifier,
            }
        )
        identity = await self._id_identity(tokens, pending.nonce)
        session_id, csrf = await self._run_sync(
            self.store.open_session,
            identity,
            _kept(tokens, {}),
            self._refresh_at(tokens),
            self.config.session_max_age,
        )
        self.counts.logins += 1
        return session_id, csrf, identity

    async def _token_call(self, form: dict[str, str]) -> dict[str, Any]:
        meta = await self.provider.metadata()
        try:
            response = await self._http.post(
                str(meta["token_endpoint"]),
                data=form,
                auth=(self.config.client_id, self.config.client_secret),
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise ProviderUnreachable(f"token endpoint: {type(exc).__name__}") from None
        if response.status_code in (400, 401):
            error = _error_of(response)
            raise LoginFailed("sso-failed", f"the provider refused: {error}")
        if response.status_code != 200:
            raise ProviderUnreachable(f"token endpoint answered {response.status_code}")
        body = response.json()
        if not isinstance(body, dict) or (
            "id_token" not in body and form["grant_type"] != "refresh_token"
        ):
            raise LoginFailed("sso-failed", "the provider sent no ID token")
        return body

    async def _id_identity(self, tokens: dict[str, Any], nonce: str | None) -> Identity:
        try:
            claims = await self.provider.verify(
                str(tokens["id_token"]), audience=self.config.client_id,
                algorithms=self.config.algorithms, now=self._now, nonce=nonce,
            )  # fmt: skip
        except TokenRefused as exc:
            raise LoginFailed("sso-failed", f"the ID token is not valid: {exc}") from None
        try:
            return self.config.rules.identity(claims, "")
        except NoRole as exc:
            raise LoginFailed("no-role", str(exc)) from None

    def _refresh_at(self, tokens: dict[str, Any]) -> float:
        lifetime = float(tokens.get("expires_in") or 300)
        return self._now() + max(lifetime - self.config.refresh_margin, 0.0)

    # sessions ----------------------------------------------------------------------

    async def session(self, session_id: str) -> tuple[Identity, str] | None:
        """The identity and CSRF hash of a live session, refreshed first when due."""
        found = await self._run_sync(self.store.session, session_id)
        if found is None:
            return None
        if self._now() < found.refresh_at:
            return found.identity, found.csrf_hash
        if not found.tokens.get("refresh_token"):
            return found.identity, found.csrf_hash  # lives to the session's own end
        if not await self._run_sync(self.store.claim_refresh, session_id, found.refresh_at):
            return found.identity, found.csrf_hash  # another request or process refreshes
        try:
            tokens = await self._token_call(
                {"grant_type": "refresh_token", "refresh_token": found.tokens["refresh_token"]}
            )
            identity = found.identity
            if "id_token" in tokens:
                identity = await self._id_identity(tokens, None)
        except LoginFailed:
            self.counts.refresh_failures += 1
            await self._run_sync(self.store.close_session, session_id)
            return None  # the provider ended it (logged out, revoked, role taken away)
        except ProviderUnreachable:
            self.counts.refresh_failures += 1
            return found.identity, found.csrf_hash  # tried again after the claim lapses
        identity = Identity(
            identity.name, identity.role, found.identity.token_id, identity.subject, identity.teams
        )
        await self._run_sync(
            self.store.refreshed,
            session_id,
            identity,
            _kept(tokens, found.tokens),
            max(self._refresh_at(tokens), self._now() + MIN_REFRESH_SECONDS),
        )
        self.counts.refreshes += 1
        return identity, found.csrf_hash

    async def logout(self, session_id: str, after: str) -> str | None:
        """End the session (revoking its refresh token where the provider can); the
        provider's logout URL to send the browser to, if it has one."""
        tokens = await self._run_sync(self.store.close_session, session_id)
        if tokens is None:
            return None
        try:
            meta = await self.provider.metadata()
        except ProviderUnreachable:
            return None
        revoke = meta.get("revocation_endpoint")
        if revoke and tokens.get("refresh_token"):
            with contextlib.suppress(httpx.HTTPError):  # the session here is gone anyway
                await self._http.post(
                    str(revoke),
                    data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
                    auth=(self.config.client_id, self.config.client_secret),
                )
        end = meta.get("end_session_endpoint")
        if not end:
            return None
        query = urlencode({"client_id": self.config.client_id, "post_logout_redirect_uri": after})
        return f"{end}?{query}"

    def still_valid(self, credential: str) -> bool | None:
        """Whether an SSO credential (``sso:…`` session, ``jwt:…`` bearer) still holds;
        ``None`` for any other credential. Blocking (a query): run off the loop."""
        if credential.startswith("jwt:"):
            return self._bearers.get(credential, 0.0) > self._now()
        if credential.startswith("sso:"):
            return self.store.live(credential.removeprefix("sso:"))
        return None


def _kept(tokens: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """What is kept of a token response: the refresh token (the new one, else the one
    it replaces) and the ID token; the access token is not needed here."""
    kept = {"refresh_token": tokens.get("refresh_token") or before.get("refresh_token")}
    kept["id_token"] = tokens.get("id_token") or before.get("id_token")
    return {k: v for k, v in kept.items() if v}


def _error_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    return str(error)[:60] if error else f"HTTP {response.status_code}"
