"""Authentication on every request: a Bearer token, or a session cookie plus CSRF.

``AuthenticationMiddleware`` with :class:`TokenBackend` sets ``request.user``
(display name = the token's name = the actor) and the role's scopes; endpoints guard
with ``requires(role)``. :class:`RequireAuthentication` then refuses, with 401, any
unauthenticated request outside :data:`PUBLIC_PATHS` (deny by default).
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import anyio.to_thread
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from infrastructure.http.access.auth import AuthStore, Identity, Role, digest, same_secret
from infrastructure.http.access.sso import NoRole, ProviderUnreachable, Sso, TokenRefused
from infrastructure.http.problems import ProblemResponse, problem
from infrastructure.http.ratelimit import FailedLoginLimiter, login_keys

if TYPE_CHECKING:
    from infrastructure.http.served import Guarding

SESSION_COOKIE = "cml_fleet_session"
CSRF_COOKIE = "cml_fleet_csrf"
CSRF_HEADER = "X-CSRF-Token"
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC_PATHS = frozenset(
    {
        *("/healthz", "/readyz", "/login", "/logout", "/static/app.css", "/static/favicon.svg"),
        *("/auth/login", "/auth/callback"),
    }
)
"""Answer without credentials: health, the login page (and the two files it shows),
the single sign-on's start and return."""
LOGIN_REASONS = {
    "expired": "Your session has ended. Sign in again.",
    "invalid": "That token is not valid (unknown, revoked or expired).",
    "throttled": "Too many failed sign-ins from here: wait a minute, then try again.",
    "signed-out": "You are signed out.",
    "sso-failed": "Single sign-on did not finish. Try again.",
    "sso-unavailable": "The identity provider cannot be reached right now. Try again soon.",
    "sso-off": "Single sign-on is not set up on this server: use a token.",
    "no-role": "You signed in, but your account has no role in cml-fleet: "
    "ask an administrator to grant you one.",
}
"""The messages the login page can show (fixed texts: nothing from the request)."""
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="cml-fleet"'}


class TokenUser(BaseUser):
    def __init__(self, identity: Identity, credential: str, via_session: bool = False) -> None:
        self.who = identity
        self.credential = credential
        """The id of the token (a session's: the token it was opened with)."""
        self.via_session = via_session

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.who.name

    @property
    def role(self) -> Role:
        return self.who.role


class CsrfRejected(AuthenticationError):
    """A cookie-authenticated mutation without the session's CSRF token."""


class NoRoleHere(AuthenticationError):
    """A valid provider token whose claims map to no role (403)."""


class IdentityProviderDown(AuthenticationError):
    """A provider token that cannot be checked: the provider's keys are out of reach (503)."""


class TooManyFailures(AuthenticationError):
    """Too many failed logins from this client or with this token prefix."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins: try again in {retry_after} s")
        self.retry_after = retry_after


IDENTITY_CACHE_SECONDS = 5.0
IDENTITY_CACHE_SIZE = 10_000


class TokenBackend(AuthenticationBackend):
    """Bearer tokens and session cookies.

    A valid bearer token's identity is remembered for ``IDENTITY_CACHE_SECONDS``
    (keyed by the token's SHA-256, never the token), so a busy API client costs no
    database lookup and no thread hop per request; a revoked or expired token is
    refused at most that long after. Invalid tokens are never cached.
    """

    def __init__(
        self, store: AuthStore, limiter: FailedLoginLimiter | None = None, sso: Sso | None = None
    ) -> None:
        self.store = store
        self.limiter = limiter
        self.sso = sso
        self._known: dict[str, tuple[Identity, float]] = {}

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        header = conn.headers.get("authorization")
        if header is not None:
            return await self._bearer(conn, header)
        session_id = conn.cookies.get(SESSION_COOKIE)
        if session_id is None or conn.url.path == "/login":
            return None  # signing in (again) needs no session, so no CSRF token
        found = await anyio.to_thread.run_sync(self.store.session, session_id)
        if found is None and self.sso is not None:
            found = await self.sso.session(session_id)
        if found is None:
            return None  # an expired or closed session: as if there were no cookie
        identity, csrf_digest = found
        if conn.scope.get("method") in MUTATING_METHODS and not same_secret(
            conn.headers.get(CSRF_HEADER), csrf_digest
        ):
            raise CsrfRejected(
                f"a change made with a session cookie needs the {CSRF_HEADER} header"
            )
        user = TokenUser(identity, identity.token_id, via_session=True)
        return AuthCredentials(identity.role.scopes), user

    async def _bearer(self, conn: HTTPConnection, header: str) -> tuple[AuthCredentials, BaseUser]:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("use the header Authorization: Bearer <token>")
        if self.sso is not None and token.strip().count(".") == 2:
            return await self._provider_token(conn, token.strip())
        identity = await self._identify(token.strip())
        if identity is None:  # only failures are limited: a valid token always gets in
            keys = login_keys(conn.client.host if conn.client else None, token.strip())
            refuse_if_limited(self.limiter, keys)
            if self.limiter is not None:
                self.limiter.record_failure(keys)
            raise AuthenticationError("the token is not valid (unknown, revoked or expired)")
        user = TokenUser(identity, identity.token_id)
        return AuthCredentials(identity.role.scopes), user

    async def _provider_token(
        self, conn: HTTPConnection, token: str
    ) -> tuple[AuthCredentials, BaseUser]:
        """A JWT signed by the OpenID provider (never cached: checking it is local once
        the provider's keys are held)."""
        assert self.sso is not None
        keys = login_keys(conn.client.host if conn.client else None, token)
        try:
            identity = await self.sso.bearer(token)
        except TokenRefused as exc:
            refuse_if_limited(self.limiter, keys)
            if self.limiter is not None:
                self.limiter.record_failure(keys)
            raise AuthenticationError(f"the token is not valid: {exc}") from None
        except NoRole as exc:
            raise NoRoleHere(str(exc)) from None
        except ProviderUnreachable as exc:
            raise IdentityProviderDown(f"the token cannot be checked now: {exc}") from None
        return AuthCredentials(identity.role.scopes), TokenUser(identity, identity.token_id)

    def forget(self, token_id: str) -> None:
        """Drop what is remembered of the token ``token_id`` names (it was revoked)."""
        for key, (identity, _) in list(self._known.items()):
            if identity.token_id == token_id:
                self._known.pop(key, None)

    async def _identify(self, token: str) -> Identity | None:
        key, now = digest(token), time.monotonic()
        known = self._known.get(key)
        if known is not None and now - known[1] < IDENTITY_CACHE_SECONDS:
            return known[0]
        identity = await anyio.to_thread.run_sync(self.store.identify, token)
        if identity is not None:
            if len(self._known) >= IDENTITY_CACHE_SIZE:
                self._known.clear()
            self._known[key] = (identity, now)
        return identity


def refuse_if_limited(limiter: FailedLoginLimiter | None, keys: tuple[str, ...]) -> None:
    """Raises :class:`TooManyFailures` while ``keys`` are over the failed-login limit."""
    wait = None if limiter is None else limiter.retry_after(keys)
    if wait is not None:
        raise TooManyFailures(wait)


def too_many_failures(conn: HTTPConnection, exc: TooManyFailures) -> ProblemResponse:
    return problem(
        conn,
        429,
        str(exc),
        kind="too-many-failed-logins",
        headers={"Retry-After": str(exc.retry_after)},
        retry_after_seconds=exc.retry_after,
    )


def on_auth_error(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    if isinstance(exc, TooManyFailures):
        return too_many_failures(conn, exc)
    if isinstance(exc, CsrfRejected):
        return problem(conn, 403, str(exc), kind="csrf-token-missing")
    if isinstance(exc, NoRoleHere):
        return problem(conn, 403, str(exc), kind="no-role")
    if isinstance(exc, IdentityProviderDown):
        return problem(conn, 503, str(exc), kind="identity-provider-unreachable")
    return problem(conn, 401, str(exc), kind="unauthenticated", headers=CHALLENGE)


class RequireAuthentication:
    """Deny by default: only :data:`PUBLIC_PATHS` answer without credentials."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if (
            scope["type"] == "http"
            and scope["path"] not in PUBLIC_PATHS
            and (user is None or not user.is_authenticated)
        ):
            conn = HTTPConnection(scope)
            response = to_login(conn) if wants_page(conn) else unauthenticated(conn)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def wants_page(conn: HTTPConnection) -> bool:
    """A browser asking for the dashboard page (not an API client, not a script)."""
    return conn.url.path == "/" and "text/html" in conn.headers.get("accept", "")


def to_login(conn: HTTPConnection, reason: str | None = None) -> Response:
    """To the login page; ``expired`` when the browser still had a session cookie."""
    if reason is None and SESSION_COOKIE in conn.cookies:
        reason = "expired"
    target = "/login" if reason is None else f"/login?reason={reason}"
    response = RedirectResponse(target, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    if reason == "expired":
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            response.delete_cookie(name, path="/", samesite="strict")
    return response


def unauthenticated(conn: HTTPConnection) -> ProblemResponse:
    detail = "send Authorization: Bearer <token>, or log in with /login?token=<token>"
    return problem(conn, 401, detail, kind="unauthenticated", headers=CHALLENGE)


async def login(request: Request) -> Response:
    """``POST /login`` (form field ``token``; the login page's form) or
    ``GET /login?token=...`` (the link ``serve`` prints): a session cookie and a CSRF
    cookie, then to ``/``. Without a token: the login page (with ``?reason=``'s
    message); a browser whose token is refused comes back to it with the reason, other
    clients get 401/429."""
    system: Guarding = request.app.state.system
    if request.method == "POST":
        token = form_field(await request.body(), request.headers.get("content-type"), "token")
    else:
        token = request.query_params.get("token", "")
    if not token:
        return login_page(request)
    browser = "text/html" in request.headers.get("accept", "")
    limiter: FailedLoginLimiter | None = getattr(request.app.state, "login_limiter", None)
    session = await system.run_sync(system.auth.open_session, token)
    if session is None:  # only failures are limited: a valid token always gets in
        keys = login_keys(request.client.host if request.client else None, token)
        try:
            refuse_if_limited(limiter, keys)
        except TooManyFailures as exc:
            return to_login(request, "throttled") if browser else too_many_failures(request, exc)
        if limiter is not None:
            limiter.record_failure(keys)
        return to_login(request, "invalid") if browser else unauthenticated(request)
    response = RedirectResponse("/", status_code=303)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    set_session_cookies(
        response, session.id, session.csrf, session.max_age_seconds, system.settings.cookie_secure
    )
    return response


def form_field(body: bytes, content_type: str | None, name: str) -> str:
    """One field of an HTML form's body (``application/x-www-form-urlencoded``; any
    other body has none)."""
    if not (content_type or "").startswith("application/x-www-form-urlencoded"):
        return ""
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    except ValueError:  # more fields than a login form has
        return ""
    return fields.get(name, [""])[0].strip()


def set_session_cookies(
    response: Response, session_id: str, csrf: str, max_age: int, secure: bool
) -> None:
    """The HttpOnly session cookie and the CSRF cookie the dashboard's script reads."""
    for name, value, http_only in ((SESSION_COOKIE, session_id, True), (CSRF_COOKIE, csrf, False)):
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            secure=secure,
            httponly=http_only,
            samesite="strict",
        )


LOGIN_PAGE = (Path(__file__).parent / "web" / "static" / "login.html").read_text()


def login_page(request: Request) -> Response:
    reason = request.query_params.get("reason", "")
    message = LOGIN_REASONS.get(reason, "")
    sso: Sso | None = getattr(request.app.state, "sso", None)
    button = ""
    if sso is not None:
        name = html.escape(sso.config.provider_name)
        button = f'<p><a class="btn primary sso" href="/auth/login">Sign in with {name}</a></p>'
    page = LOGIN_PAGE.replace("{message}", message).replace("{sso}", button)
    headers = {"Cache-Control": "no-store", **LOGIN_PAGE_HEADERS}
    return HTMLResponse(page, status_code=403 if reason == "no-role" else 200, headers=headers)


LOGIN_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self'; "
    "script-src 'none'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


async def logout(request: Request) -> Response:
    """``POST /logout``: ends the browser session (CSRF header required while it lives)."""
    system: Guarding = request.app.state.system
    session_id = request.cookies.get(SESSION_COOKIE)
    sso: Sso | None = getattr(request.app.state, "sso", None)
    end_session = None
    if session_id is not None:
        await system.run_sync(system.auth.close_session, session_id)
        if sso is not None:
            base = site_url(request, system.settings.public_url)
            end_session = await sso.logout(session_id, f"{base}/login?reason=signed-out")
    response: Response = Response(status_code=204)
    if end_session is not None:  # on to the provider, to end the sign-on there too
        response = JSONResponse({"end_session": end_session}, headers={"Cache-Control": "no-store"})
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", samesite="strict")
    return response


def site_url(request: Request, public_url: str | None) -> str:
    """This server's address as browsers reach it: ``PUBLIC_URL``, else the request's."""
    return (public_url or str(request.base_url)).rstrip("/")


def session_routes() -> list[Route]:
    return [
        Route("/login", login, methods=["GET", "POST"], name="login"),
        Route("/logout", logout, methods=["POST"], name="logout"),
    ]
