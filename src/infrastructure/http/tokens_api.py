"""``GET /api/admin/tokens`` and ``DELETE /api/admin/tokens/{id}`` (admin): the API
tokens (never their secrets) and revoking one. A revoked token is refused at once by
this process (what it remembered of it is dropped) and its open event streams end;
other processes refuse it within their 5 s identity cache and end its streams within
a heartbeat (:func:`watch_credentials`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import anyio
from pydantic import TypeAdapter
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from infrastructure.http.access.auth import AuthStore, TokenInfo
from infrastructure.http.access.sso import Sso
from infrastructure.http.handling import guarding, json_response
from infrastructure.http.problems import problem
from infrastructure.http.stream_slots import StreamSlots

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenList:
    items: tuple[TokenInfo, ...]


_TOKENS = TypeAdapter(TokenList)


@requires("admin")
async def list_tokens(request: Request) -> Response:
    system = guarding(request)
    tokens = await system.run_sync(system.auth.tokens)
    return json_response(_TOKENS.dump_json(TokenList(tuple(tokens))))


@requires("admin")
async def revoke_token(request: Request) -> Response:
    system, token_id = guarding(request), request.path_params["id"]
    if token_id == getattr(request.user, "credential", None):
        detail = (
            f"token {token_id} authenticates this request: revoke it with another admin "
            f"token or with `cml-fleet token revoke {token_id}` (so no one locks themselves out)"
        )
        return problem(request, 409, detail, kind="own-token")
    if not await system.run_sync(system.auth.revoke, token_id):
        return problem(request, 404, f"no token with id {token_id}", kind="token-not-found")
    request.app.state.token_backend.forget(token_id)
    ended = request.app.state.stream_slots.end(token_id)
    log.info("token %s revoked; %d open event streams ended", token_id, ended)
    return Response(status_code=204)


async def watch_credentials(
    slots: StreamSlots, store: AuthStore, every: float, sso: Sso | None = None
) -> None:
    """End the open streams of tokens revoked or expired elsewhere (the CLI, another
    process), of signed-out or ended single sign-on sessions and of expired provider
    JWTs, checking each open stream's credential every ``every`` seconds."""
    while True:
        await anyio.sleep(every)
        for credential in slots.credentials():
            if not await anyio.to_thread.run_sync(_still_valid, store, sso, credential):
                slots.end(credential)


def _still_valid(store: AuthStore, sso: Sso | None, credential: str) -> bool:
    found = None if sso is None else sso.still_valid(credential)
    return store.valid(credential) if found is None else found


def token_routes() -> list[Route]:
    return [
        Route("/api/admin/tokens", list_tokens, methods=["GET"]),
        Route("/api/admin/tokens/{id}", revoke_token, methods=["DELETE"]),
    ]
