"""Claims to an identity, in the shapes real providers send (notes/SSO.md)."""

from __future__ import annotations

import pytest

from infrastructure.http.access.auth import Role
from infrastructure.http.access.claims import (
    BadRoleMap,
    ClaimRules,
    NoRole,
    claim_at,
    parse_role_map,
)

ROLE_MAP = parse_role_map("fleet-admin:admin,fleet-ops:operator,fleet-read:viewer,ops:operator")


def rules(roles_claim: str, teams_claim: str = "groups") -> ClaimRules:
    return ClaimRules(roles_claim, ROLE_MAP, teams_claim, "name")


KEYCLOAK = {
    "sub": "0b5c7c1e-6f7a-4a8e-9d38-1f4c3e2b9a10",
    "name": "Kim Keycloak",
    "preferred_username": "kim",
    "realm_access": {"roles": ["offline_access", "fleet-ops"]},
    "resource_access": {"cml-fleet": {"roles": ["fleet-admin"]}},
    "groups": ["/labs/red", "blue"],
}
ENTRA = {
    "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
    "oid": "00000000-0000-0000-66f3-3332eca7ea81",
    "name": "Erin Entra",
    "roles": ["fleet-read"],
    "groups": ["6a7b1f0e-47a2-4b3c-9d16-3e8b0a0c2f11"],
}


def test_keycloak_realm_roles_and_client_roles_and_groups() -> None:
    realm = rules("realm_access.roles").identity(KEYCLOAK, "c1")
    client = rules("resource_access.cml-fleet.roles").identity(KEYCLOAK, "c1")

    assert (realm.role, client.role) == (Role.OPERATOR, Role.ADMIN)
    assert realm.teams == frozenset({"/labs/red", "blue"})
    assert realm.actor == "Kim Keycloak <0b5c7c1e-6f7a-4a8e-9d38-1f4c3e2b9a10>"


def test_entra_app_roles_and_group_object_ids() -> None:
    found = rules("roles").identity(ENTRA, "c2")

    assert found.role == Role.VIEWER and found.subject == ENTRA["sub"]
    assert found.teams == frozenset(ENTRA["groups"])


def test_the_highest_mapped_role_wins_and_unknown_values_are_ignored() -> None:
    claims = {"sub": "s", "roles": ["fleet-read", "something-else", "fleet-admin"]}

    assert rules("roles").identity(claims, "c").role == Role.ADMIN


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "s", "roles": ["something-else"]},
        {"sub": "s", "roles": []},
        {"sub": "s"},
        {"sub": "s", "roles": {"fleet-admin": True}},  # not a list of strings
        {"sub": "s", "roles": [["fleet-admin"]]},
    ],
)
def test_claims_that_map_to_no_role_are_refused_saying_which_claim(claims: dict) -> None:
    with pytest.raises(NoRole, match="'roles'"):
        rules("roles").identity(claims, "c")


def test_a_token_without_a_subject_has_no_identity() -> None:
    with pytest.raises(NoRole, match="subject"):
        rules("roles").identity({"roles": ["fleet-admin"]}, "c")


def test_a_space_separated_string_claim_counts_as_a_list() -> None:
    claims = {"sub": "s", "scp": "read fleet-ops"}

    assert rules("scp").identity(claims, "c").role == Role.OPERATOR


def test_a_namespaced_claim_with_dots_in_its_name_is_found_whole() -> None:
    claims = {"sub": "s", "https://fleet.example.com/roles": ["fleet-admin"]}

    assert claim_at(claims, "https://fleet.example.com/roles") == ["fleet-admin"]
    assert rules("https://fleet.example.com/roles").identity(claims, "c").role == Role.ADMIN


def test_the_display_name_falls_back_and_is_one_short_line() -> None:
    named = rules("roles").identity({"sub": "s", "roles": ["ops"], "name": "A\n  B" * 50}, "c")
    username = rules("roles").identity(
        {"sub": "s", "roles": ["ops"], "preferred_username": "pat"}, "c"
    )
    bare = rules("roles").identity({"sub": "s9", "roles": ["ops"]}, "c")

    assert "\n" not in named.name and len(named.name) <= 80
    assert (username.name, bare.name) == ("pat", "s9")


@pytest.mark.parametrize(
    "text", ["", "fleet-admin", "fleet-admin:root", ":admin", "fleet-admin=admin"]
)
def test_a_bad_role_map_is_refused_saying_what_is_wrong(text: str) -> None:
    with pytest.raises(BadRoleMap, match="OIDC_ROLE_MAP"):
        parse_role_map(text)
