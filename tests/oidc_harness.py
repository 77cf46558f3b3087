"""A real OpenID Connect provider for the tests: ``tests/oidc/provider.mjs`` (the npm
package ``oidc-provider``) started with node on 127.0.0.1.

Its packages are installed from the lock file (``npm ci``) the first time. Without node
and npm the tests that need it skip, saying so; with ``CML_FLEET_REQUIRE_OIDC=1`` (CI)
they fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

NODE_DIR = Path(__file__).parent / "oidc"
REQUIRED = os.environ.get("CML_FLEET_REQUIRE_OIDC") == "1"
CLIENT_ID = "cml-fleet"
CLIENT_SECRET = "cml-fleet-test-secret"
AUDIENCE = "cml-fleet"
ROLE_MAP = "fleet-admin:admin,fleet-operator:operator,fleet-viewer:viewer"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def need_node() -> None:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        reason = f"the OpenID provider needs {' and '.join(missing)} (apt-get install nodejs npm)"
        if REQUIRED:
            pytest.fail(f"CML_FLEET_REQUIRE_OIDC=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    if not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            check=True,
            timeout=300,
        )


@dataclass
class Provider:
    """One provider process; ``restart`` keeps its port (and, with ``rotate``, puts a
    new signing key first)."""

    port: int
    keys: Path
    redirects: Sequence[str]
    access_ttl: int = 300
    process: subprocess.Popen[str] | None = field(default=None, repr=False)
    kid: str = ""

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, rotate: bool = False) -> Provider:
        need_node()
        command = ["node", str(NODE_DIR / "provider.mjs"), "--port", str(self.port)]
        command += ["--keys", str(self.keys), "--access-ttl", str(self.access_ttl)]
        for base in self.redirects:
            command += ["--redirect", base]
        if rotate:
            command.append("--rotate")
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # printed once it listens
        if not line:
            raise RuntimeError(f"the OpenID provider did not start (exit {self.process.wait()})")
        self.kid = json.loads(line)["kid"]
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()

    def restart(self, rotate: bool = False) -> None:
        self.stop()
        self.start(rotate=rotate)

    def robot_token(self, who: str, resource: str | None = None) -> str:
        """A JWT access token the provider issues to ``robot-<who>`` (client credentials),
        carrying the claims of the person ``who`` (``provider.mjs``'s ``PEOPLE``)."""
        form = {"grant_type": "client_credentials", "scope": "openid"}
        if resource is not None:
            form["resource"] = resource
        client = f"robot-{who}"
        answer = httpx.post(
            f"{self.issuer}/token", data=form, auth=(client, f"{client}-secret"), timeout=10
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])


def oidc_settings(provider: Provider, secret_file: Path, **more: object) -> dict[str, object]:
    """The cml-fleet settings that trust ``provider`` (the claim shapes of Entra ID:
    ``roles``, and ``groups`` for teams)."""
    secret_file.write_text(CLIENT_SECRET)
    return {
        "oidc_issuer": provider.issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret_file": secret_file,
        "oidc_role_map": ROLE_MAP,
        "oidc_provider_name": "the test provider",
        **more,
    }


def sign_in_at_provider(authorize_url: str, who: str, back_to: str) -> str:
    """Sign in as ``who`` on the provider's own pages, as a browser would (its login form,
    any password); the URL it sends the browser back to (starting with ``back_to``)."""
    import re
    from urllib.parse import urljoin

    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        response = browser.get(authorize_url)
        for _ in range(10):
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["location"])
                if target.startswith(back_to):
                    return target
                response = browser.get(target)
                continue
            form = re.search(r'<form[^>]*action="([^"]+)"', response.text)
            assert form is not None, response.text[:500]
            fields = dict(
                re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', response.text)
            )
            if 'name="login"' in response.text:
                fields |= {"login": who, "password": "any password"}
            response = browser.post(urljoin(str(response.url), form.group(1)), data=fields)
    raise AssertionError("the provider never sent the browser back")
