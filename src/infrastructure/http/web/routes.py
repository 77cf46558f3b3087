"""The dashboard: ``/`` (the page), ``/static/...`` (its files) and ``/api/me`` (who is
signed in, with what role).

The files under ``static/`` are read once, when the routes are built, into a table
keyed by their path: a request names a key or gets 404, so no path can lead outside
the folder. Each file has a fixed content type (by extension), an ETag, and a cache
policy: vendored libraries live in versioned folders and are cached as immutable; our
own files are revalidated (``no-cache`` + ETag), so a new release shows at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import TypeAdapter
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from application.mapper import IdleDefaults
from infrastructure.http.handling import reading
from infrastructure.http.problems import problem
from infrastructure.http.visibility import teams_seen
from infrastructure.read_model import idle_defaults

STATIC = Path(__file__).parent / "static"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".md": "text/markdown; charset=utf-8",
    "": "text/plain; charset=utf-8",  # LICENSE files
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Scripts and styles only from this origin: no inline script, no inline handler.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
ROLES = ("viewer", "operator", "admin")


@dataclass(frozen=True)
class Asset:
    """One static file, ready to send."""

    body: bytes
    media_type: str
    etag: str
    cache_control: str

    def response(self, request: Request, extra: dict[str, str] | None = None) -> Response:
        headers = {
            "ETag": self.etag,
            "Cache-Control": self.cache_control,
            "X-Content-Type-Options": "nosniff",
            **(extra or {}),
        }
        if self.etag in _etags(request.headers.get("if-none-match", "")):
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def load_assets(root: Path = STATIC) -> dict[str, Asset]:
    """Every servable file under ``root`` by its relative path (``js/main.mjs``).

    Hidden files and files of unknown type are left out.
    """
    assets = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        media_type = MEDIA_TYPES.get(path.suffix)
        if not path.is_file() or media_type is None or _hidden(relative):
            continue
        body = path.read_bytes()
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        cache = IMMUTABLE if relative.parts[0] == "vendor" else REVALIDATE
        assets[relative.as_posix()] = Asset(body, media_type, etag, cache)
    return assets


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def web_routes(root: Path = STATIC) -> list[BaseRoute]:
    """``/``, ``/static/{path}`` and ``/api/me``."""
    assets = load_assets(root)
    index = assets.pop("index.html")

    async def page(request: Request) -> Response:
        return index.response(request, PAGE_HEADERS)

    async def static_file(request: Request) -> Response:
        asset = assets.get(request.path_params["path"])
        if asset is None:
            return problem(request, 404, "no such file", kind="not-found")
        return asset.response(request)

    return [
        Route("/", page, methods=["GET"], name="dashboard"),
        Route("/static/{path:path}", static_file, methods=["GET"], name="static"),
        Route("/api/me", me, methods=["GET"], name="me"),
    ]


@dataclass(frozen=True)
class MeView:
    """The signed-in user: name (the actor on their changes), role, and the fleet's
    idle defaults (what a worker without its own timeout uses)."""

    name: str
    role: Literal["viewer", "operator", "admin"]
    idle_defaults: IdleDefaults
    teams: tuple[str, ...] = ()
    """The teams the user is in (from the provider's claim, or the token's)."""
    sees_all: bool = True
    """Whether every worker is in sight (VISIBILITY=all, or an admin); else only the
    workers of ``teams``."""


_ME = TypeAdapter(MeView)


@requires("viewer")
async def me(request: Request) -> Response:
    """The signed-in user (:class:`MeView`)."""
    settings = reading(request).settings
    scopes = set(request.auth.scopes)
    role = [r for r in ROLES if r in scopes][-1]
    who = getattr(request.user, "who", None)
    teams = tuple(sorted(who.teams)) if who is not None else ()
    view = MeView(
        request.user.display_name,
        role,  # type: ignore[arg-type]
        idle_defaults(settings),
        teams,
        teams_seen(request) is None,
    )
    return Response(
        _ME.dump_json(view),
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )
