"""Which server the command line talks to, and as whom.

The URL comes from ``--server``, else ``CML_FLEET_URL``, else the config file; the token
from ``CML_FLEET_TOKEN``, else the config file — never from the command line, where
``ps`` and the shell's history would show it. The config file is
``$XDG_CONFIG_HOME/cml-fleet/cli.toml`` (``~/.config/…``), or ``CML_FLEET_CLI_CONFIG``::

    url = "https://fleet.example.com"
    token = "…"

A file that holds a token and that others may read is refused (``chmod 600`` it).
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class NotConfigured(Exception):
    """No server or no token: what to set, said plainly."""


@dataclass(frozen=True)
class Connection:
    url: str
    token: str

    def __repr__(self) -> str:  # never the token
        return f"Connection(url={self.url!r})"


def config_path(env: Mapping[str, str]) -> Path:
    if env.get("CML_FLEET_CLI_CONFIG"):
        return Path(env["CML_FLEET_CLI_CONFIG"])
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")) / ".config")
    return Path(base).expanduser() / "cml-fleet" / "cli.toml"


def _file(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    try:
        found = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise NotConfigured(f"cannot read {path}: {error}") from None
    if "token" in found and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise NotConfigured(f"{path} holds a token and others may read it: chmod 600 {path}")
    return found


def connection(server: str | None, env: Mapping[str, str] = os.environ) -> Connection:
    path = config_path(env)
    found = _file(path)
    url = server or env.get("CML_FLEET_URL") or found.get("url")
    token = env.get("CML_FLEET_TOKEN") or found.get("token")
    if not isinstance(url, str) or not url:
        raise NotConfigured(
            f'which server? pass --server URL, set CML_FLEET_URL, or put url = "…" in {path}'
        )
    if not isinstance(token, str) or not token:
        raise NotConfigured(
            f'no token: set CML_FLEET_TOKEN, or put token = "…" in {path} (chmod 600); '
            "an admin makes one with: cml-fleet token create --role operator --name you"
        )
    return Connection(url.rstrip("/"), token)
