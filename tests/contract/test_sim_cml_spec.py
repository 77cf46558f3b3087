"""The simulated CML answers with bodies the CML 2.9 spec allows, so it cannot drift
from the real API (the same check the fake CML server of the httpx adapter makes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infrastructure.outside.simulated import SimKnobs, SimWorld
from infrastructure.outside.simulated import cml_bodies as bodies
from infrastructure.outside.simulated.cml import stats_body
from infrastructure.outside.simulated.instance import SimInstance
from infrastructure.shared.clock import FakeClock

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema validates against the spec")
referencing = pytest.importorskip("referencing")

SPEC = Path(__file__).with_name("cml-2.9-openapi.json")
SPEC_URI = "urn:cml-2.9-openapi"


def validator(schema_name: str) -> Any:
    from referencing.jsonschema import DRAFT202012

    spec = json.loads(SPEC.read_text())
    resource = referencing.Resource.from_contents(spec, default_specification=DRAFT202012)
    registry = referencing.Registry().with_resource(SPEC_URI, resource)
    schema = {"$ref": f"{SPEC_URI}#/components/schemas/{schema_name}"}
    return jsonschema.Draft202012Validator(
        schema, registry=registry, format_checker=jsonschema.FormatChecker()
    )


def busy_instance(hours: int) -> SimInstance:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    world = SimWorld(clock, SimKnobs(seed=3, busy_fraction=1.0))
    instance = world.launch("eu-west-1", "m5.2xlarge", "ami-1", {"Name": "spec"})
    clock.advance(timedelta(hours=hours))
    instance.advance(clock.now())
    return instance


@pytest.fixture(scope="module")
def instance() -> SimInstance:
    return busy_instance(hours=3)


def test_system_information_matches_the_spec(instance: SimInstance) -> None:
    validator("SystemInformation").validate(bodies.system_information(instance.cml, _now()))


def test_system_health_matches_the_spec(instance: SimInstance) -> None:
    validator("SystemHealth").validate(bodies.system_health(instance.cml, _now()))


def test_system_stats_match_the_spec(instance: SimInstance) -> None:
    validator("SystemStats").validate(stats_body(instance))


def test_licensing_matches_the_spec(instance: SimInstance) -> None:
    validator("LicensingStatus").validate(bodies.licensing(instance.cml, _now()))


def test_labs_match_the_spec(instance: SimInstance) -> None:
    assert instance.cml.labs, "a busy worker has labs after three hours"
    check = validator("LabResponse")
    for lab in instance.cml.labs:
        check.validate(bodies.lab(instance.cml, lab))


def test_telemetry_events_match_the_spec(instance: SimInstance) -> None:
    assert instance.cml.events
    check = validator("TelemetryEventResponse")
    for event in instance.cml.events:
        check.validate(event)


def test_the_validator_rejects_what_the_spec_forbids() -> None:
    with pytest.raises(jsonschema.ValidationError):
        validator("SystemInformation").validate({"version": "2.9", "ready": "yes"})


def _now() -> datetime:
    return datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
