"""``GET /auth/login`` and ``GET /auth/callback``: the browser's single sign-on
(``access.sso``). Both are public; neither ever puts a token in a URL of ours."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from infrastructure.http.access.sso import LoginFailed, ProviderUnreachable, Sso
from infrastructure.http.handling import guarding
from infrastructure.http.security import set_session_cookies, site_url, to_login

log = logging.getLogger("cml_fleet.sso")
STATE_COOKIE = "cml_fleet_login"
STATE_PATH = "/auth"


def sso_of(request: Request) -> Sso | None:
    return getattr(request.app.state, "sso", None)


def base_url(request: Request) -> str:
    """Where the provider sends the browser back: ``PUBLIC_URL``, else this request's."""
    return site_url(request, guarding(request).settings.public_url)


def callback_url(request: Request) -> str:
    return f"{base_url(request)}/auth/callback"


async def begin(request: Request) -> Response:
    """To the provider's login page, with ``state`` bound to this browser."""
    sso = sso_of(request)
    if sso is None:
        return to_login(request, "sso-off")
    try:
        target, state = await sso.authorization_url(callback_url(request))
    except ProviderUnreachable as exc:
        log.warning("single sign-on unavailable: %s", exc)
        return to_login(request, "sso-unavailable")
    response = RedirectResponse(target, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=600,
        path=STATE_PATH,
        secure=guarding(request).settings.cookie_secure,
        httponly=True,
        samesite="lax",  # sent on the provider's redirect back (a top-level GET)
    )
    return response


async def callback(request: Request) -> Response:
    """The provider's answer: a session, then on to the dashboard."""
    sso = sso_of(request)
    params = request.query_params
    if sso is None:
        return to_login(request, "sso-off")
    if "error" in params or not params.get("code") or not params.get("state"):
        log.info("single sign-on returned without a code: %s", params.get("error", "-")[:60])
        return _ended(to_login(request, "sso-failed"))
    try:
        session_id, csrf, identity = await sso.finish(
            params["code"], params["state"], request.cookies.get(STATE_COOKIE),
            callback_url(request),
        )  # fmt: skip
    except LoginFailed as exc:
        sso.counts.login_failures += 1
        log.info("single sign-on refused: %s", exc)
        return _ended(to_login(request, exc.reason))
    except ProviderUnreachable as exc:
        sso.counts.login_failures += 1
        log.warning("single sign-on unavailable: %s", exc)
        return _ended(to_login(request, "sso-unavailable"))
    log.info("signed in with single sign-on: %s (%s)", identity.actor, identity.role.value)
    # A page, not a redirect: the session cookie is SameSite=Strict, and a browser does
    # not send it on a redirect that continues the provider's cross-site navigation.
    response = HTMLResponse(
        '<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/">'
        '<title>Signed in · cml-fleet</title><p><a href="/">Continue to cml-fleet</a></p>',
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
    set_session_cookies(
        response, session_id, csrf, sso.config.session_max_age,
        guarding(request).settings.cookie_secure,
    )  # fmt: skip
    return _ended(response)


def _ended(response: Response) -> Response:
    response.delete_cookie(STATE_COOKIE, path=STATE_PATH, samesite="lax")
    return response


def sso_routes() -> list[Route]:
    return [
        Route("/auth/login", begin, methods=["GET"], name="sso_login"),
        Route("/auth/callback", callback, methods=["GET"], name="sso_callback"),
    ]
