"""CI's dependency audit decides from pip-audit's exit code, report and error output (recorded).

pip-audit exits 1 both when it finds vulnerabilities and when it cannot reach its service; CI must
fail on the first and only say "not run" on the second.
"""

from __future__ import annotations

import json

import pytest
from tools.dep_audit import Outcome, Run, audit, classify

# Recorded on the build machine (November 2026): the last lines of each service's failure.
OSV_DNS_FAILURE = """Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/requests/adapters.py", line 729, in send
    raise ConnectionError(e, request=request)
requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.osv.dev', port=443): Max \
retries exceeded with url: /v1/query (Caused by NameResolutionError("HTTPSConnection(host=\
'api.osv.dev', port=443): Failed to resolve 'api.osv.dev' ([Errno -2] Name or service not known)"))
"""
PYPI_404_FAILURE = """\
WARNING:pip_audit._cli:--no-deps is supported, but users are encouraged to fully hash their pinned \
dependencies
ERROR:pip_audit._cli:annotated-types: Dependency not found on PyPI and could not be audited: \
annotated-types (0.8.0)
"""
OSV_503_FAILURE = """Traceback (most recent call last):
requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: https://api.osv.dev/v1/query
"""
BAD_LOCK_FAILURE = "ERROR:pip_audit._cli:invalid requirements input: requirements.lock\n"


def report(*deps: dict[str, object]) -> str:
    return json.dumps({"dependencies": list(deps), "fixes": []})


CLEAN = Run(0, report({"name": "jinja2", "version": "3.1.6", "vulns": []}), "")
VULNERABLE = Run(
    1,
    report(
        {"name": "starlette", "version": "1.10.0", "vulns": []},
        {
            "name": "jinja2",
            "version": "3.1.2",
            "vulns": [
                {
                    "id": "CVE-2024-22195",
                    "fix_versions": ["3.1.3"],
                    "aliases": ["GHSA-h5c8-rqwp-cp95"],
                }
            ],
        },
    ),
    "Found 1 known vulnerability in 1 package\n",
)


class Services:
    """A stand-in for pip-audit: a recorded run per service, and which services were asked."""

    def __init__(self, **runs: Run) -> None:
        self.runs = runs
        self.asked: list[str] = []

    def __call__(self, service: str) -> Run:
        self.asked.append(service)
        return self.runs[service]


def test_no_reachable_service_prints_one_line_saying_the_audit_did_not_run() -> None:
    services = Services(osv=Run(1, None, OSV_DNS_FAILURE), pypi=Run(1, None, PYPI_404_FAILURE))

    status, lines = audit(["osv", "pypi"], services)

    assert status == 0
    assert lines == [
        "dependency audit NOT RUN: no vulnerability service reachable (osv: cannot resolve "
        "api.osv.dev; pypi: per-version API answered 404 for annotated-types (0.8.0))"
    ]
    assert services.asked == ["osv", "pypi"]


def test_a_known_vulnerability_fails_and_is_listed() -> None:
    services = Services(osv=VULNERABLE, pypi=CLEAN)

    status, lines = audit(["osv", "pypi"], services)

    assert status == 1
    assert lines == [
        "dependency audit FAILED: 1 known vulnerability (osv):",
        "  jinja2 3.1.2: CVE-2024-22195 (GHSA-h5c8-rqwp-cp95), fixed in 3.1.3",
    ]
    assert services.asked == ["osv"], "a service that answered decides; no second opinion"


def test_the_next_service_is_tried_when_the_first_cannot_be_reached() -> None:
    services = Services(osv=Run(1, None, OSV_DNS_FAILURE), pypi=VULNERABLE)

    status, lines = audit(["osv", "pypi"], services)

    assert status == 1
    assert lines[0] == "dependency audit FAILED: 1 known vulnerability (pypi):"


def test_a_clean_audit_passes_and_says_how_much_it_checked() -> None:
    status, lines = audit(["osv", "pypi"], Services(osv=CLEAN))

    assert (status, lines) == (0, ["dependency audit passed: no known vulnerabilities in 1 "
                                   "locked packages (osv)"])  # fmt: skip


def test_a_broken_audit_setup_fails_ci_instead_of_passing_as_not_run() -> None:
    services = Services(osv=Run(1, None, BAD_LOCK_FAILURE), pypi=CLEAN)

    status, lines = audit(["osv", "pypi"], services)

    assert status == 2
    assert lines == [
        "dependency audit ERROR (osv): pip-audit exited 1: "
        "ERROR:pip_audit._cli:invalid requirements input: requirements.lock"
    ]


@pytest.mark.parametrize(
    ("run", "outcome", "reason"),
    [
        (Run(1, None, OSV_503_FAILURE), Outcome.UNREACHABLE,
         "HTTP 503 Server Error: Service Unavailable"),
        (Run(124, None, "pip-audit did not finish within 600 s"), Outcome.UNREACHABLE,
         "did not finish within 600 s"),
        (Run(1, None, "requests.exceptions.ConnectionError: ... [Errno 111] Connection refused"),
         Outcome.UNREACHABLE, "connection refused"),
        # Without --strict, pip-audit skips what it cannot look up and exits 0: not a pass.
        (Run(0, report({"name": "anyio", "skip_reason": "Dependency not found on PyPI"}), ""),
         Outcome.UNREACHABLE, "1 of 1 packages not audited: Dependency not found on PyPI"),
        (Run(0, None, ""), Outcome.ERROR, "pip-audit exited 0: no error output"),
        (Run(1, "{not json", ""), Outcome.ERROR, None),
        (Run(1, report({"name": "anyio", "version": "4.16.0", "vulns": []}), "Traceback"),
         Outcome.ERROR, "pip-audit exited 1: Traceback"),
    ],
)  # fmt: skip
def test_classification_of_other_runs(run: Run, outcome: Outcome, reason: str | None) -> None:
    verdict = classify(run)

    assert verdict.outcome is outcome
    if reason is not None:
        assert verdict.reason == reason
