"""What the OpenAPI document says of the routes outside the operations table (the
stream, login, tokens, jobs, metrics, the dashboard's files). Like the table's, each
entry states every parameter, answer and refusal its endpoint has; a test checks that
every served route has exactly one entry, in one place or the other."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infrastructure.http.event_stream import MAX_TYPE_PREFIX, MAX_WORKER_FILTERS, SNAPSHOT_MODES
from infrastructure.http.handling import FALSE, TRUE
from infrastructure.http.job_endpoints import MAX_SAMPLES, JobList, JobView, WorkerMetrics
from infrastructure.http.leader_endpoints import LeadershipView
from infrastructure.http.routes import Param
from infrastructure.http.tokens_api import TokenList
from infrastructure.http.web.routes import MeView

HTML, TEXT = "text/html", "text/plain"
LOCATION = "Location"


@dataclass(frozen=True)
class Answer:
    """A success answer: a JSON body of ``model``'s schema, or ``media`` (a string)."""

    status: int
    description: str
    model: Any = None
    media: str | None = None
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class RouteDoc:
    method: str
    path: str
    summary: str
    role: str | None  # None: public
    answers: tuple[Answer, ...]
    errors: tuple[int, ...] = ()
    params: tuple[Param, ...] = ()


UUID_ID = Param("id", {"type": "string", "format": "uuid"}, "The worker's id.", "path", True)
IF_NONE_MATCH = Param(
    "If-None-Match", {"type": "string"}, "ETags held: 304 when one is current.", "header"
)
FILE_ANSWERS = (
    Answer(200, "The file (its type from its extension).", media="*/*", headers=("ETag",)),
    Answer(304, "Not modified (If-None-Match).", headers=("ETag",)),
)


def _boolean(name: str, description: str) -> Param:
    return Param(name, {"type": "string", "enum": [*TRUE, *FALSE]}, description)


# fmt: off
OTHER_ROUTES: tuple[RouteDoc, ...] = (
    RouteDoc("GET", "/api/openapi.json", "This document", "viewer",
             (Answer(200, "OpenAPI 3.1", media="application/json"),)),
    RouteDoc("GET", "/login", "The sign-in page, or sign in with a token", None,
             (Answer(200, "The sign-in page (no token).", media=HTML),
              Answer(303, "Signed in: to /, with the session and CSRF cookies (a browser "
                     "whose token is refused: back to /login?reason=...).", headers=(LOCATION,))),
             (401, 429),
             (Param("token", {"type": "string"}, "An API token (from cml-fleet token create)."),
              Param("reason", {"type": "string"}, "Why the page is shown (a known reason "
                    "shows its message, any other none)."))),
    RouteDoc("POST", "/login", "Sign in with a token sent as the form field token", None,
             (Answer(200, "The sign-in page (no token).", media=HTML),
              Answer(303, "Signed in: to /, with the session and CSRF cookies (a browser "
                     "whose token is refused: back to /login?reason=...).", headers=(LOCATION,))),
             (401, 429)),
    RouteDoc("GET", "/auth/login", "Sign in with the OpenID provider (notes/SSO.md)", None,
             (Answer(303, "To the provider's login page (authorization code flow with PKCE); "
                     "to /login?reason=... when single sign-on is off or out of reach.",
                     headers=(LOCATION,)),)),
    RouteDoc("GET", "/auth/callback", "Where the provider sends the browser back", None,
             (Answer(200, "Signed in: the session and CSRF cookies, and a page that goes "
                     "on to /.", media=HTML),
              Answer(303, "Refused or failed: to /login?reason=... (403 page for a person "
                     "with no role).", headers=(LOCATION,))),
             (),
             (Param("code", {"type": "string"}, "The authorization code."),
              Param("state", {"type": "string"}, "The login's state, bound to the browser."),
              Param("error", {"type": "string"}, "The provider's error, instead of a code."))),
    RouteDoc("POST", "/logout", "End the browser session", None,
             (Answer(204, "Signed out; the cookies are cleared."),
              Answer(200, "Signed out of a single sign-on session: `end_session` is the "
                     "provider's logout page to go on to.", media="application/json")),
             (403,)),
    RouteDoc("GET", "/api/me", "Who is signed in, their role, the idle defaults", "viewer",
             (Answer(200, "OK", MeView),)),
    RouteDoc("GET", "/api/events", "The Server-Sent Events stream (notes/SSE_EVENTS.md)",
             "viewer", (Answer(200, "The stream, until the client leaves.",
                               media="text/event-stream"),),
             (422, 429, 503),
             (Param("worker", {"type": "array", "maxItems": MAX_WORKER_FILTERS,
                               "items": {"type": "string", "format": "uuid"}},
                    "Only these workers' notifications."),
              Param("type", {"type": "string", "maxLength": MAX_TYPE_PREFIX},
                    "Only notification types starting with this."),
              Param("last_event_id", {"type": "string"}, "Resume after this id (curl)."),
              Param("snapshots", {"type": "string", "enum": list(SNAPSHOT_MODES),
                                  "default": "each"},
                    "The initial state as one worker.snapshot frame per worker (each), "
                    "or as worker.snapshots frames of up to 500 workers (batched)."),
              Param("Last-Event-ID", {"type": "string"}, "Resume after this id.", "header"))),
    RouteDoc("GET", "/api/admin/tokens", "The API tokens (never their secrets)", "admin",
             (Answer(200, "OK", TokenList),)),
    RouteDoc("DELETE", "/api/admin/tokens/{id}", "Revoke a token at once", "admin",
             (Answer(204, "Revoked; its open event streams are ended."),), (404, 409),
             (Param("id", {"type": "string"}, "The token's id (GET /api/admin/tokens).",
                    "path", True),)),
    RouteDoc("GET", "/api/admin/jobs", "The scheduled jobs", "admin",
             (Answer(200, "OK", JobList),)),
    RouteDoc("POST", "/api/admin/jobs/{id}/run", "Run a job now", "admin",
             (Answer(200, "Ran (?wait=true): the job after the run.", JobView),
              Answer(202, "Started: the job as it starts.", JobView)),
             (404, 409, 422),
             (Param("id", {"type": "string"}, "The job's id (GET /api/admin/jobs).", "path",
                    True),
              _boolean("wait", "Answer after the run (default: at once)."))),
    RouteDoc("GET", "/api/admin/leader", "Which process leads (runs jobs and operations)",
             "admin", (Answer(200, "OK", LeadershipView),)),
    RouteDoc("GET", "/api/workers/{id}/metrics", "A worker's utilization samples, oldest first",
             "viewer", (Answer(200, "OK", WorkerMetrics),), (404, 422),
             (UUID_ID,
              Param("since", {"type": "string", "format": "date-time"},
                    "Only samples at or after this RFC 3339 date-time."),
              Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_SAMPLES},
                    f"The latest this many samples (1..{MAX_SAMPLES}, default all of them)."))),
    RouteDoc("GET", "/metrics", "Prometheus metrics (notes/OBSERVABILITY.md)", "viewer",
             (Answer(200, "Prometheus text exposition format", media=TEXT),)),
    RouteDoc("GET", "/", "The dashboard", "viewer",
             (Answer(200, "The page.", media=HTML, headers=("ETag",)),
              Answer(303, "A browser without a session: to the sign-in page.",
                     headers=(LOCATION,)),
              Answer(304, "Not modified (If-None-Match).", headers=("ETag",))),
             params=(IF_NONE_MATCH,)),
    RouteDoc("GET", "/static/{path}", "The dashboard's files", "viewer", FILE_ANSWERS, (404,),
             (Param("path", {"type": "string"}, "The file's path under static/.", "path", True),
              IF_NONE_MATCH)),
    RouteDoc("GET", "/static/app.css", "The style sheet (the sign-in page's too)", None,
             FILE_ANSWERS, params=(IF_NONE_MATCH,)),
    RouteDoc("GET", "/static/favicon.svg", "The icon (the sign-in page's too)", None,
             FILE_ANSWERS, params=(IF_NONE_MATCH,)),
)
# fmt: on


def by_route(docs: tuple[RouteDoc, ...] = OTHER_ROUTES) -> Mapping[tuple[str, str], RouteDoc]:
    return {(d.method, d.path): d for d in docs}
