"""CI's dependency audit: pip-audit on requirements.lock, trying each vulnerability service in turn.

Exit status:
  0  no known vulnerability, or no service could be reached (then one line says the audit did NOT
     run: that is not a pass)
  1  a service reported known vulnerabilities; each one is listed
  2  pip-audit failed for another reason (a broken lock file, pip-audit missing)

pip-audit exits 1 both for findings and for fatal errors, so the decision reads its JSON report,
which it writes only when the audit finished, and otherwise its error output.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

SERVICES = ("osv", "pypi")


class Outcome(Enum):
    CLEAN = "clean"
    VULNERABLE = "vulnerable"
    UNREACHABLE = "unreachable"
    ERROR = "error"


@dataclass(frozen=True)
class Run:
    """What one pip-audit run left: its exit code, its JSON report (None if absent), its stderr."""

    returncode: int
    report: str | None
    stderr: str


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str = ""
    findings: tuple[str, ...] = ()
    audited: int = 0


# Signs in pip-audit's error output that the service, not the project, is the problem; first match
# wins, and the template turns it into a short reason.
_UNREACHABLE = (
    (r"(did not finish within \d+ s)", "{0}"),
    (r"Failed to resolve '([^']+)'", "cannot resolve {0}"),
    (
        r"Dependency not found on PyPI and could not be audited: (.+)",
        "per-version API answered 404 for {0}",
    ),
    (r"HTTPError: (\d{3} [^:]+: .+?) for url", "HTTP {0}"),
    (r"Connection refused", "connection refused"),
    (r"(Could not connect to .+)", "{0}"),
    (r"(Read timed out|ConnectTimeout)", "{0}"),
    (r"(SSLError|ProxyError|TooManyRedirects|not redirecting properly|ConnectionError)", "{0}"),
)


def unreachable_reason(stderr: str) -> str | None:
    """A short reason if `stderr` shows the service could not be used, else None."""
    for pattern, template in _UNREACHABLE:
        match = re.search(pattern, stderr)
        if match:
            return template.format(*(group.strip() for group in match.groups()))
    return None


def classify(run: Run) -> Verdict:
    """Decide what one pip-audit run means."""
    if run.report is None:
        reason = unreachable_reason(run.stderr)
        if run.returncode != 0 and reason:
            return Verdict(Outcome.UNREACHABLE, reason)
        return _failed(run)
    try:
        dependencies = json.loads(run.report)["dependencies"]
        findings = tuple(
            _finding(dep, vuln) for dep in dependencies for vuln in dep.get("vulns", ())
        )
        skipped = [dep for dep in dependencies if "skip_reason" in dep]
    except (ValueError, KeyError, TypeError) as error:
        return Verdict(Outcome.ERROR, f"unreadable pip-audit report ({error!r})")
    if findings:
        return Verdict(Outcome.VULNERABLE, findings=findings)
    if skipped:
        reason = f"{len(skipped)} of {len(dependencies)} packages not audited"
        return Verdict(Outcome.UNREACHABLE, f"{reason}: {skipped[0]['skip_reason']}")
    if run.returncode != 0:
        return _failed(run)
    return Verdict(Outcome.CLEAN, audited=len(dependencies))


def audit(services: Sequence[str], run: Callable[[str], Run]) -> tuple[int, list[str]]:
    """Try each service until one answers; return the exit status and the lines to print."""
    reasons = []
    for service in services:
        verdict = classify(run(service))
        if verdict.outcome is Outcome.UNREACHABLE:
            reasons.append(f"{service}: {verdict.reason}")
            continue
        return _conclude(service, verdict)
    tried = "; ".join(reasons)
    return 0, [f"dependency audit NOT RUN: no vulnerability service reachable ({tried})"]


def _conclude(service: str, verdict: Verdict) -> tuple[int, list[str]]:
    if verdict.outcome is Outcome.CLEAN:
        counted = f"{verdict.audited} locked packages"
        return 0, [f"dependency audit passed: no known vulnerabilities in {counted} ({service})"]
    if verdict.outcome is Outcome.VULNERABLE:
        count = len(verdict.findings)
        noun = "vulnerability" if count == 1 else "vulnerabilities"
        head = f"dependency audit FAILED: {count} known {noun} ({service}):"
        return 1, [head, *(f"  {finding}" for finding in verdict.findings)]
    return 2, [f"dependency audit ERROR ({service}): {verdict.reason}"]


def _failed(run: Run) -> Verdict:
    lines = [line.strip() for line in run.stderr.splitlines() if line.strip()]
    last = lines[-1][:300] if lines else "no error output"
    return Verdict(Outcome.ERROR, f"pip-audit exited {run.returncode}: {last}")


def _finding(dep: dict[str, Any], vuln: dict[str, Any]) -> str:
    aliases = f" ({', '.join(vuln['aliases'])})" if vuln.get("aliases") else ""
    fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
    return f"{dep['name']} {dep['version']}: {vuln['id']}{aliases}, fixed in {fixes}"


def pip_audit(lock: Path, timeout: int, deadline: int, osv_url: str | None) -> Callable[[str], Run]:
    """A runner of the real pip-audit on the pinned lock file (no resolution, no install)."""

    def run(service: str) -> Run:
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.json"
            command = [
                sys.executable, "-m", "pip_audit", "--requirement", str(lock),
                "--no-deps", "--disable-pip", "--strict", "--progress-spinner", "off",
                "--format", "json", "--output", str(report), "--timeout", str(timeout),
                "--vulnerability-service", service,
            ]  # fmt: skip
            if osv_url and service == "osv":
                command += ["--osv-url", osv_url]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=deadline)
            except subprocess.TimeoutExpired:
                return Run(124, None, f"pip-audit did not finish within {deadline} s")
            text = report.read_text() if report.exists() else None
            return Run(done.returncode, text, done.stderr)

    return run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, default=Path("requirements.lock"))
    parser.add_argument("--service", action="append", choices=SERVICES, help="repeatable")
    parser.add_argument("--timeout", type=int, default=15, help="seconds per request")
    parser.add_argument("--deadline", type=int, default=120, help="seconds per service")
    parser.add_argument("--osv-url", help="another OSV API endpoint (tests use a local one)")
    args = parser.parse_args(argv)
    runner = pip_audit(args.lock, args.timeout, args.deadline, args.osv_url)
    status, lines = audit(args.service or SERVICES, runner)
    print("\n".join(lines), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
