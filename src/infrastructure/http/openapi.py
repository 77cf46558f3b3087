"""``GET /api/openapi.json``: OpenAPI 3.1 from the operations table and the contracts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from application.contracts.base import VERSION
from application.contracts.responses import ProblemDetails
from infrastructure.http.routes import OPERATIONS, Operation, Param

REF = "#/components/schemas/{model}"
# Answered by the middleware on any request, whatever the route.
ANY_REQUEST = {
    "413": "Body too large (Content-Length, or the bytes read, over the limit).",
    "429": "Too many failed logins from this client or token prefix; wait Retry-After "
    "seconds (checked wherever a token is presented).",
    "431": "Request headers too large.",
}
ERRORS = {
    "401": "No valid token or session.",
    "403": "The role does not allow it (or a cookie-authenticated change lacks X-CSRF-Token).",
    "404": "No such worker (a worker id that is not a UUID names no worker either).",
    "409": "Refused in the worker's current status (current_status says which), or a race.",
    "422": "Invalid body, query parameter or header; errors[] names each field.",
    "503": "?min_position not reached in time (Retry-After).",
} | ANY_REQUEST
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
HEADERS = [
    {
        "name": "X-Correlation-ID",
        "in": "header",
        "required": False,
        "description": "Traces the request into logs and events; generated when absent.",
        "schema": {"type": "string", "maxLength": 128},
    }
]
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A retry with the same key returns the first answer and applies nothing twice.",
    "schema": {"type": "string", "maxLength": 255},
}
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "cml-fleet token create"},
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "cml_fleet_session",
        "description": "From GET /login?token=...; changes also need the X-CSRF-Token header.",
    },
}


def openapi_document(extra_routes: Sequence[BaseRoute] = ()) -> dict[str, Any]:
    models = _models(OPERATIONS)
    refs, defs = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs)
    for route in extra_routes:
        _document_other(route, paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": "cml-fleet", "version": VERSION},
        "paths": paths,
        "components": {"schemas": defs.get("$defs", {}), "securitySchemes": SECURITY_SCHEMES},
        "security": [{"bearer": []}, {"session": []}],
    }


def _models(operations: Sequence[Operation]) -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {"ProblemDetails": ProblemDetails}
    for op in operations:
        for model in (op.body, op.answer):
            if model is not None:
                found[model.__name__] = model
    return list(found.values())


def _problems(errors: dict[str, str]) -> dict[str, Any]:
    """Problem-details responses for ``errors`` (status -> description)."""
    content = {"application/problem+json": {"schema": {"$ref": REF.format(model="ProblemDetails")}}}
    responses: dict[str, Any] = {}
    for code, text in sorted(errors.items()):
        responses[code] = {"description": text, "content": content}
        if code in {"429", "503"}:
            responses[code]["headers"] = RETRY_AFTER
    return responses


def _operation(op: Operation, refs: dict[Any, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": "OK" if op.status == 200 else "Accepted"}
    if op.answer is not None:
        answer["content"] = {"application/json": {"schema": refs[(op.answer, "validation")]}}
    doc: dict[str, Any] = {
        "summary": op.summary,
        "operationId": _operation_id(op),
        "parameters": _parameters(op),
        "responses": {str(op.status): answer} | _problems(ERRORS),
    }
    if op.body is not None:
        schema = refs[(op.body, "validation")]
        doc["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    if op.role is None:
        doc["security"] = []
    else:
        doc["description"] = f"Needs the {op.role} role."
    return doc


def _operation_id(op: Operation) -> str:
    """E.g. ``post_api_workers_id_pause``."""
    words = op.path.replace("{", "").replace("}", "").replace("-", "_").strip("/").split("/")
    return "_".join([op.method.lower(), *words])


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = list(HEADERS)
    if "{id}" in op.path:
        params.append(
            {
                "name": "id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "format": "uuid"},
            }
        )
    params.extend(_query(p) for p in op.params)
    if op.method == "POST":
        params.append(IDEMPOTENCY)
    return params


def _query(param: Param) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": param.type}
    if param.repeated:
        schema = {"type": "array", "items": schema}
    return {
        "name": param.name,
        "in": "query",
        "required": False,
        "description": param.description,
        "schema": schema,
    }


def _document_other(route: BaseRoute, paths: dict[str, dict[str, Any]]) -> None:
    """Routes outside the table (stream, jobs, login) get a short entry."""
    if not isinstance(route, Route) or route.path == OPENAPI_PATH:
        return
    path = route.path_format
    errors = ANY_REQUEST | {"401": ERRORS["401"]}
    for method in sorted((route.methods or set()) - {"HEAD"}):
        if method.lower() not in paths.get(path, {}):
            summary = (route.endpoint.__doc__ or route.name).strip().splitlines()[0]
            paths.setdefault(path, {})[method.lower()] = {
                "summary": summary,
                "responses": {"200": {"description": "See notes/ for the format."}}
                | _problems(errors),
            }


OPENAPI_PATH = "/api/openapi.json"


@requires("viewer")
async def openapi_endpoint(request: Request) -> Response:
    state = request.app.state
    if getattr(state, "openapi", None) is None:
        state.openapi = openapi_document(request.app.routes)
    return JSONResponse(state.openapi)


def openapi_routes() -> list[Route]:
    return [Route(OPENAPI_PATH, openapi_endpoint, methods=["GET"], name="openapi")]
