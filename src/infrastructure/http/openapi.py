"""``GET /api/openapi.json``: OpenAPI 3.1 of every route, from the operations table,
the other routes' docs (``route_docs``) and the contracts. It says all the server
enforces (parameters, constraints, answers, refusals): schemathesis checks it so, with
all its checks, against a served process (tests/integration/test_api_conformance.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from application.contracts.base import VERSION, ExactJsonSchema
from application.contracts.responses import ProblemDetails
from infrastructure.http.correlation import CORRELATION_PATTERN
from infrastructure.http.handling import IDEMPOTENCY_PATTERN
from infrastructure.http.labs.topology import TOPOLOGY_MEDIA, openapi_schemas
from infrastructure.http.route_docs import OTHER_ROUTES, UUID_ID, Answer, RouteDoc
from infrastructure.http.routes import OPERATIONS, Operation, Param

if TYPE_CHECKING:
    from infrastructure.http.served import Parts

REF = "#/components/schemas/{model}"
PROBLEM = {"application/problem+json": {"schema": {"$ref": REF.format(model="ProblemDetails")}}}
# Problem answers by status; each operation lists the ones it can give (``errors``).
ERRORS = {
    401: "No valid token or session.",
    403: "The role does not allow it (or a cookie-authenticated change lacks X-CSRF-Token).",
    404: "Nothing by that id (a worker id that is not a UUID names no worker either).",
    409: "Refused for the resource's current state (a worker's status, current_status "
    "saying which; a concurrent change; a job running; an Idempotency-Key still in use; "
    "a position the event log has not reached).",
    413: "Body too large (Content-Length, or the bytes read, over the limit).",
    415: "The body is not sent in the operation's media type (JSON, or a lab's YAML).",
    422: "Invalid body, parameter or header; errors[] names each field.",
    429: "Too many failed logins from this client or token prefix, or too many open event "
    "streams for this credential; wait Retry-After seconds.",
    431: "Request headers too large.",
    502: "The worker's CML did not answer, or refused (the problem says which).",
    503: "Not available now (the read model behind ?min_position, the cloud not "
    "answering, the process starting); wait Retry-After seconds.",
}
# Answered on any request, whatever the route: size limits, a bad X-Correlation-ID,
# and the failed-login limiter (checked wherever a token is presented).
ANY_REQUEST = (413, 422, 429, 431)
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
CORRELATION = Param(
    "X-Correlation-ID",
    {"type": "string", "pattern": CORRELATION_PATTERN},
    "Traces the request into logs and events (generated when absent); any other value "
    "is refused with 422.",
    "header",
)
IDEMPOTENCY = Param(
    "Idempotency-Key",
    {"type": "string", "pattern": IDEMPOTENCY_PATTERN},
    "A retry with the same key returns the first answer and applies nothing twice; the "
    "same key on another request is refused (422).",
    "header",
)
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "cml-fleet token create"},
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "cml_fleet_session",
        "description": "From GET /login?token=...; changes also need the X-CSRF-Token header.",
    },
}
HEADER_SCHEMAS = {
    "Location": {"type": "string"},
    "ETag": {"type": "string"},
}


def openapi_document(regions: Iterable[str] = ()) -> dict[str, Any]:
    """The document of every route; ``regions``: the ones a worker may be created or
    imported in (the cloud's), stated as the request bodies' ``region`` enum."""
    docs = [as_route_doc(op) for op in OPERATIONS] + list(OTHER_ROUTES)
    schemas = Schemas(sorted(regions))
    paths: dict[str, dict[str, Any]] = {}
    for doc in docs:
        paths.setdefault(doc.path, {})[doc.method.lower()] = _operation(doc, schemas)
    links = _worker_links(docs)
    for path in MAKERS:
        for answer in paths[path]["post"]["responses"].values():
            if answer.get("content", {}).get("application/json") is not None:
                answer["links"] = links
    return {
        "openapi": "3.1.0",
        "info": {"title": "cml-fleet", "version": VERSION},
        "paths": paths,
        "components": {"schemas": schemas.defs, "securitySchemes": SECURITY_SCHEMES},
        "security": [{"bearer": []}, {"session": []}],
    }


@dataclass(frozen=True)
class Documented(RouteDoc):
    """A table operation as a route doc, with its request body and key."""

    body: type[BaseModel] | None = None
    keyed: bool = False
    body_media: str | None = None


def as_route_doc(op: Operation) -> Documented:
    word = {200: "OK", 201: "Created", 202: "Accepted", 204: "Done; no body."}[op.status]
    params = tuple(Param("id", UUID_ID.schema, UUID_ID.description, "path", True)
                   for _ in range("{id}" in op.path))  # fmt: skip
    return Documented(
        op.method,
        op.path,
        op.summary,
        op.role,
        (Answer(op.status, word, op.answer, media=op.answer_media),),
        op.errors,
        (*params, *op.params),
        body=op.body,
        keyed=op.keyed,
        body_media=op.body_media,
    )


class Schemas:
    """Component schemas, each named once, by pydantic (validation for requests,
    serialization for answers), exact (``ExactJsonSchema``)."""

    def __init__(self, regions: list[str]) -> None:
        self.defs: dict[str, Any] = {}
        self.regions = regions
        self.ref(ProblemDetails, "serialization")

    def ref(self, model: Any, mode: JsonSchemaMode) -> dict[str, Any]:
        name = model.__name__
        if name not in self.defs:
            schema = TypeAdapter(model).json_schema(
                ref_template=REF, schema_generator=ExactJsonSchema, mode=mode
            )
            self.defs.update(schema.pop("$defs", {}))
            if self.regions and "region" in schema.get("properties", {}):
                schema["properties"]["region"]["enum"] = self.regions
            self.defs[name] = schema
        return {"$ref": REF.format(model=name)}


def _operation(doc: RouteDoc, schemas: Schemas) -> dict[str, Any]:
    responses = {str(a.status): _answer(a, schemas) for a in doc.answers}
    # A token presented must be valid, on a public route too (401).
    errors = {*ANY_REQUEST, 401, *doc.errors} | ({403} if doc.role else set())
    for status in sorted(errors):
        responses[str(status)] = {"description": ERRORS[status], "content": PROBLEM}
        if status in (429, 503):
            responses[str(status)]["headers"] = RETRY_AFTER
    keyed = isinstance(doc, Documented) and doc.keyed
    params = [*doc.params, CORRELATION, *([IDEMPOTENCY] if keyed else [])]
    operation: dict[str, Any] = {
        "summary": doc.summary,
        "operationId": _operation_id(doc),
        "parameters": [_parameter(p) for p in params],
        "responses": responses,
    }
    body = doc.body if isinstance(doc, Documented) else None
    if body is not None:
        schema = schemas.ref(body, "validation")
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    media = doc.body_media if isinstance(doc, Documented) else None
    if media is not None:  # a lab's topology, in CML's YAML
        operation["requestBody"] = {
            "required": True,
            "content": {media: {"schema": _topology(schemas)}},
        }
    if doc.role is None:
        operation["security"] = []
    else:
        operation["description"] = f"Needs the {doc.role} role."
    return operation


MAKERS = ("/api/workers", "/api/workers/import")  # answer a new worker's id


def _worker_links(docs: Iterable[RouteDoc]) -> dict[str, Any]:
    """OpenAPI links: the ``worker_id`` a creation answers is the ``id`` of every
    operation on a worker."""
    return {
        _operation_id(doc): {
            "operationId": _operation_id(doc),
            "parameters": {"id": "$response.body#/worker_id"},
        }
        for doc in docs
        if doc.path.startswith("/api/workers/{id}")
    }


def _topology(schemas: Schemas) -> dict[str, Any]:
    """CML's ``Topology`` among the components (added once), and a reference to it."""
    name, topology = openapi_schemas()
    schemas.defs.update(topology)
    return {"$ref": REF.format(model=name)}


def _answer(answer: Answer, schemas: Schemas) -> dict[str, Any]:
    described: dict[str, Any] = {"description": answer.description}
    if answer.model is not None:
        schema = schemas.ref(answer.model, "serialization")
        described["content"] = {"application/json": {"schema": schema}}
    elif answer.media == TOPOLOGY_MEDIA:  # a lab's topology, in CML's YAML
        described["content"] = {answer.media: {"schema": _topology(schemas)}}
    elif answer.media is not None:
        described["content"] = {answer.media: {"schema": {"type": "string"}}}
    if answer.headers:
        described["headers"] = {
            name: {"required": True, "schema": HEADER_SCHEMAS[name]} for name in answer.headers
        }
    return described


def _operation_id(doc: RouteDoc) -> str:
    """E.g. ``post_api_workers_id_pause``."""
    path = doc.path.replace("{", "").replace("}", "").replace("-", "_").replace(".", "_")
    words = [w for w in path.strip("/").split("/") if w] or ["dashboard"]
    return "_".join([doc.method.lower(), *words])


def _parameter(param: Param) -> dict[str, Any]:
    return {
        "name": param.name,
        "in": param.where,
        "required": param.required,
        "description": param.description,
        "schema": dict(param.schema),
    }


OPENAPI_PATH = "/api/openapi.json"


@requires("viewer")
async def openapi_endpoint(request: Request) -> Response:
    state = request.app.state
    if getattr(state, "openapi", None) is None:
        system: Parts = state.system
        state.openapi = openapi_document(await system.cloud.known_regions())
    return JSONResponse(state.openapi)


def openapi_routes() -> list[Route]:
    return [Route(OPENAPI_PATH, openapi_endpoint, methods=["GET"], name="openapi")]
