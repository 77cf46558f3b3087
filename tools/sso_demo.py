"""``make sso-demo``: single sign-on on this machine, in one command (notes/SSO.md).

Starts the test OpenID provider (``tests/oidc/provider.mjs``, the npm package
``oidc-provider``; installed from its lock file on first use) and ``cml-fleet serve``
trusting it, with the demo fleet split between teams red and blue and visibility by
team. Sign in at the printed address as one of the provider's people (any password).
Ctrl-C stops both.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PROVIDER_DIR = ROOT / "tests" / "oidc"
CLIENT_SECRET = "cml-fleet-test-secret"  # the test provider's; not a real secret
PEOPLE = (
    ("ada", "admin, sees every worker"),
    ("olga", "operator of team red"),
    ("otto", "operator of team blue"),
    ("vera", "viewer of team blue"),
    ("nobody", "no role: refused"),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sso_demo", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="cml-fleet's port")
    parser.add_argument("--provider-port", type=int, default=9400, help="the provider's port")
    parser.add_argument("--data-dir", type=Path, default=Path("sso-demo"))
    args = parser.parse_args(argv)
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            print(f"sso-demo: {tool} is needed (apt-get install -y nodejs npm)", file=sys.stderr)
            return 2
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, check=True)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    secret = args.data_dir / "oidc-client-secret"
    secret.write_text(CLIENT_SECRET)
    secret.chmod(0o600)
    site = f"http://127.0.0.1:{args.port}"
    provider = start_provider(args.provider_port, args.data_dir / "oidc-keys.json", site)
    issuer = f"http://127.0.0.1:{args.provider_port}"
    server = start_server(args, issuer, secret, site)
    try:
        split_demo_fleet(args.data_dir, site)
        print(f"cml-fleet with single sign-on is ready: open {site}", flush=True)
        print('Choose "Sign in with the test provider" and sign in (any password) as:')
        for who, what in PEOPLE:
            print(f"  {who:7} {what}")
        print("Ctrl-C stops it.", flush=True)
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for process in (server, provider):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
    return 0


def start_provider(port: int, keys: Path, site: str) -> subprocess.Popen[str]:
    command = ["node", str(PROVIDER_DIR / "provider.mjs"), "--port", str(port)]
    command += ["--keys", str(keys), "--redirect", site]
    provider = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert provider.stdout is not None
    line = provider.stdout.readline()
    if not line:
        raise SystemExit(f"sso-demo: the provider did not start (is port {port} free?)")
    print(f"test OpenID provider: {json.loads(line)['issuer']}", flush=True)
    return provider


def start_server(
    args: argparse.Namespace, issuer: str, secret: Path, site: str
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "CML_FLEET_DATA_DIR": str(args.data_dir / "data"),
        "CML_FLEET_PORT": str(args.port),
        "CML_FLEET_PUBLIC_URL": site,
        "CML_FLEET_OIDC_ISSUER": issuer,
        "CML_FLEET_OIDC_PROVIDER_NAME": "the test provider",
        "CML_FLEET_OIDC_CLIENT_ID": "cml-fleet",
        "CML_FLEET_OIDC_CLIENT_SECRET_FILE": str(secret.resolve()),
        "CML_FLEET_OIDC_ROLE_MAP": "fleet-admin:admin,fleet-operator:operator,fleet-viewer:viewer",
        "CML_FLEET_VISIBILITY": "team",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "infrastructure.wiring.cli", "serve"], env=env, text=True
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{site}/readyz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            raise SystemExit("sso-demo: cml-fleet did not start (see above)")
        time.sleep(0.2)  # bounded wait for another process to listen
    raise SystemExit("sso-demo: cml-fleet was not ready in 30 s")


def split_demo_fleet(data_dir: Path, site: str) -> None:
    """Put the demo workers without a team in red and blue, in turn (an admin token of
    this data directory, made for the purpose and revoked after)."""
    from infrastructure.http.access.auth import AuthStore, Role
    from infrastructure.shared.clock import SystemClock
    from infrastructure.shared.settings import Settings

    store = AuthStore.for_settings(Settings(data_dir=data_dir / "data"), SystemClock())
    token = store.create_token(Role.ADMIN, "sso-demo")
    try:
        with httpx.Client(base_url=site, headers={"Authorization": f"Bearer {token}"}) as api:
            workers = api.get("/api/workers", params={"limit": 500}).json()["items"]
            for k, worker in enumerate(w for w in workers if not w.get("team")):
                team = ("red", "blue")[k % 2]
                api.put(f"/api/workers/{worker['id']}/team", json={"team": team})
    finally:
        store.revoke(token_id_of_token(token))
        store.close()


def token_id_of_token(token: str) -> str:
    from infrastructure.http.access.auth import digest, token_id_of

    return token_id_of(digest(token))


if __name__ == "__main__":
    sys.exit(main())
