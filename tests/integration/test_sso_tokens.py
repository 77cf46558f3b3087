"""API clients with the provider's JWTs: a real OpenID provider (``oidc-provider`` on
127.0.0.1) issues them; the app checks signature, issuer, audience, expiry and the
algorithm, maps the claims to a role, and picks up rotated keys."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from starlette.testclient import TestClient

from infrastructure.http.app import create_app
from infrastructure.shared.clock import FakeClock
from infrastructure.wiring.bootstrap import bootstrap
from tests.integration.test_http_api import NEW_WORKER, settings_for
from tests.oidc_harness import Provider, free_port, oidc_settings


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    keys = tmp_path_factory.mktemp("oidc") / "keys.json"
    found = Provider(free_port(), keys, ["http://testserver"]).start()
    yield found
    found.stop()


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """Another provider, with its own issuer and keys."""
    keys = tmp_path_factory.mktemp("other") / "keys.json"
    found = Provider(free_port(), keys, ["http://testserver"]).start()
    yield found
    found.stop()


class App:
    def __init__(self, client: TestClient, clock: FakeClock) -> None:
        self.client, self.clock = client, clock

    def get(self, token: str, path: str = "/api/workers") -> tuple[int, dict[str, object]]:
        answer = self.client.get(path, headers={"Authorization": f"Bearer {token}"})
        return answer.status_code, answer.json()


@pytest.fixture
def app(provider: Provider, tmp_path: Path) -> Iterator[App]:
    clock = FakeClock(datetime.now(UTC))
    settings = settings_for(tmp_path, **oidc_settings(provider, tmp_path / "secret"))
    with TestClient(create_app(bootstrap(settings, clock=clock))) as client:
        yield App(client, clock)


def test_a_provider_token_reads_and_acts_with_the_role_its_claims_map_to(
    app: App, provider: Provider
) -> None:
    viewer, operator = provider.robot_token("vera"), provider.robot_token("olga")

    assert app.get(viewer)[0] == 200
    me = app.get(viewer, "/api/me")[1]
    assert (me["name"], me["role"]) == ("Vera Viewer", "viewer")
    refused = app.client.post(
        "/api/workers", json=NEW_WORKER, headers={"Authorization": f"Bearer {operator}"}
    )
    assert refused.status_code == 403  # creating a worker is an admin's
    admin = provider.robot_token("ada")
    created = app.client.post(
        "/api/workers", json=NEW_WORKER, headers={"Authorization": f"Bearer {admin}"}
    )
    assert created.status_code == 202
    history = app.client.get(
        f"/api/workers/{created.json()['worker_id']}/history",
        headers={"Authorization": f"Bearer {admin}"},
    ).json()
    assert history["items"][-1]["actor"] == "Ada Admin <robot-ada>"


def test_a_token_whose_claims_name_no_role_is_refused_with_403_saying_so(
    app: App, provider: Provider
) -> None:
    status, body = app.get(provider.robot_token("nobody"))

    assert status == 403
    assert body["type"].endswith("no-role")
    assert "no role" in str(body["detail"]) and "roles" in str(body["detail"])


def test_an_expired_token_is_refused(app: App, provider: Provider) -> None:
    token = provider.robot_token("vera")
    assert app.get(token)[0] == 200

    app.clock.advance(timedelta(seconds=300 + 31))  # its lifetime, and the leeway
    status, body = app.get(token)

    assert status == 401 and "expired" in str(body["detail"])


def test_a_token_for_another_audience_is_refused(app: App, provider: Provider) -> None:
    status, body = app.get(provider.robot_token("ada", resource="urn:another-api"))

    assert status == 401 and "aud" in str(body["detail"])


def test_a_token_from_another_issuer_is_refused(app: App, stranger: Provider) -> None:
    status, body = app.get(stranger.robot_token("ada"))

    assert status == 401
    assert "not valid" in str(body["detail"])


def _part(value: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_unsigned_and_tampered_and_forged_tokens_are_refused(app: App, provider: Provider) -> None:
    genuine = provider.robot_token("vera")
    header, _, signature = genuine.split(".")
    promoted = {**_claims(genuine), "roles": ["fleet-admin"]}
    unsigned = f"{_part({'alg': 'none', 'typ': 'JWT'})}.{_part(promoted)}."
    tampered = f"{header}.{_part(promoted)}.{signature}"
    # Signed with a key of our own that claims the provider's key id.
    own_key = RSAKey.generate_key(2048, parameters={"kid": provider.kid})
    forged = jwt.encode({"alg": "RS256", "kid": provider.kid}, promoted, own_key)
    # "HS256" with the provider's public key as the shared secret (algorithm confusion).
    confused = jwt.encode(
        {"alg": "HS256", "kid": provider.kid}, promoted, OctKey.import_key(provider.kid)
    )

    for token in (unsigned, tampered, forged, confused, "a.b.c"):
        status, body = app.get(token)
        assert status == 401, token
        assert body["type"].endswith("unauthenticated")
    assert app.get(genuine)[0] == 200


def test_keys_rotated_by_the_provider_are_picked_up(app: App, provider: Provider) -> None:
    before = provider.robot_token("vera")
    assert app.get(before)[0] == 200  # the first key is now cached

    provider.restart(rotate=True)  # a new key signs from now on
    after = provider.robot_token("vera")

    assert json.loads(base64.urlsafe_b64decode(after.split(".")[0] + "=="))["kid"] == provider.kid
    assert app.get(after)[0] == 200  # the unknown key id made the app fetch the keys again
    assert app.get(before)[0] == 200  # the old key is still published beside it


def test_a_provider_out_of_reach_gives_503_not_a_pass(tmp_path: Path, provider: Provider) -> None:
    token = provider.robot_token("vera")
    gone = Provider(free_port(), tmp_path / "k.json", [])  # nobody listens there
    settings = settings_for(tmp_path, **oidc_settings(gone, tmp_path / "secret"))
    # The token names the real provider as issuer; the app trusts the one out of reach.
    with TestClient(create_app(bootstrap(settings))) as client:
        answer = client.get("/api/workers", headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 503
    assert answer.json()["type"].endswith("identity-provider-unreachable")


def test_our_own_tokens_still_work_beside_the_provider(app: App) -> None:
    system = app.client.app.state.system  # type: ignore[attr-defined]
    from infrastructure.http.access.auth import Role

    token = system.auth.create_token(Role.VIEWER, "robot")
    assert app.get(token)[0] == 200


def test_provider_identities_see_their_teams_workers_only(
    provider: Provider, tmp_path: Path
) -> None:
    settings = settings_for(
        tmp_path, visibility="team", **oidc_settings(provider, tmp_path / "secret")
    )
    with TestClient(create_app(bootstrap(settings))) as client:
        admin = {"Authorization": f"Bearer {provider.robot_token('ada')}"}
        ids = {}
        for team in ("red", "blue"):
            body = {**NEW_WORKER, "name": f"lab-{team}", "tags": {"cml-fleet:team": team}}
            answer = client.post("/api/workers", json=body, headers=admin).json()
            ids[team] = answer["worker_id"]
            client.get(f"/api/workers?min_position={answer['position']}", headers=admin)

        for who, team, other in (("olga", "red", "blue"), ("vera", "blue", "red")):
            caller = {"Authorization": f"Bearer {provider.robot_token(who)}"}
            listed = client.get("/api/workers", headers=caller).json()["items"]
            assert [w["name"] for w in listed] == [f"lab-{team}"], who
            assert client.get(f"/api/workers/{ids[team]}", headers=caller).status_code == 200
            assert client.get(f"/api/workers/{ids[other]}", headers=caller).status_code == 404
        everything = client.get("/api/workers", headers=admin).json()["items"]
        assert len(everything) == 2
