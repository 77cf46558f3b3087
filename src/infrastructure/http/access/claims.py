"""From an OpenID Connect provider's claims to an :class:`Identity`: the role from a
configurable claim path and value map, the teams from another claim, the display name.

Claim shapes differ by provider (notes/SSO.md): Entra ID puts app roles in ``roles``,
Keycloak in ``realm_access.roles`` (or ``resource_access.<client>.roles``), Okta and
Google Workspace setups often use ``groups``. A path is dotted; a value may be a string
or a list of strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infrastructure.http.access.auth import Identity, Role

LADDER = (Role.VIEWER, Role.OPERATOR, Role.ADMIN)


class NoRole(Exception):
    """The claims name none of the values the role map knows: signed in, but no role."""


class BadRoleMap(ValueError):
    """``OIDC_ROLE_MAP`` is not a list of ``value:role`` pairs."""


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` (``realm_access.roles``), or ``None``. A key
    that itself holds a dot (Auth0's namespaced ``https://x.io/roles``) is found whole
    first."""
    if path in claims:
        return claims[path]
    here: Any = claims
    for part in path.split("."):
        if not isinstance(here, Mapping) or part not in here:
            return None
        here = here[part]
    return here


def strings_at(claims: Mapping[str, Any], path: str) -> tuple[str, ...]:
    """The strings at ``path``: a list's strings, a single string (split on spaces, as
    ``scope`` is), or nothing."""
    value = claim_at(claims, path)
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list | tuple):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def parse_role_map(text: str) -> dict[str, Role]:
    """``"fleet-admin:admin,fleet-ops:operator"`` → claim value to role."""
    found: dict[str, Role] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        value, sep, role = pair.rpartition(":")
        if not sep or not value.strip():
            raise BadRoleMap(f"OIDC_ROLE_MAP: {pair!r} is not value:role")
        try:
            found[value.strip()] = Role(role.strip())
        except ValueError:
            raise BadRoleMap(
                f"OIDC_ROLE_MAP: {role.strip()!r} is not a role (viewer, operator, admin)"
            ) from None
    if not found:
        raise BadRoleMap("OIDC_ROLE_MAP names no role")
    return found


@dataclass(frozen=True)
class ClaimRules:
    """Where the role, teams and name are in a provider's claims."""

    roles_claim: str
    role_map: Mapping[str, Role]
    teams_claim: str
    name_claim: str

    def identity(self, claims: Mapping[str, Any], credential: str) -> Identity:
        """The identity the claims describe; raises :class:`NoRole`."""
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise NoRole("the token has no subject (sub)")
        granted = {
            self.role_map[v] for v in strings_at(claims, self.roles_claim) if v in self.role_map
        }
        if not granted:
            raise NoRole(
                f"{subject!r} has no role here: none of the values in the claim"
                f" {self.roles_claim!r} is mapped to a role (OIDC_ROLE_MAP)"
            )
        role = max(granted, key=LADDER.index)
        return Identity(
            name=display_name(claims, self.name_claim, subject),
            role=role,
            token_id=credential,
            subject=subject,
            teams=frozenset(strings_at(claims, self.teams_claim)),
        )


MAX_NAME = 80


def display_name(claims: Mapping[str, Any], name_claim: str, subject: str) -> str:
    """The name shown and recorded: the name claim, else ``preferred_username``, else the
    subject; one line, at most 80 characters."""
    for candidate in (claim_at(claims, name_claim), claims.get("preferred_username"), subject):
        if isinstance(candidate, str) and candidate.strip():
            return " ".join(candidate.split())[:MAX_NAME]
    return subject[:MAX_NAME]
