"""Importing an instance takes what EC2 says of it; the caller may override any of it."""

from __future__ import annotations

from uuid import uuid4

from application.cloud import InstanceInfo
from application.commands.lifecycle import import_command
from domain.cause import Cause
from domain.status import WorkerStatus

STOPPED = InstanceInfo(
    "i-0abc", "eu-west-1", "stopped", "m5.xlarge", "ami-1", "lab-7", {"Name": "lab-7", "Team": "qa"}
)


def test_an_instance_is_imported_as_ec2_describes_it() -> None:
    command = import_command(STOPPED, cause=Cause("discovery", "c-1"))
    assert (command.instance_id, command.name, command.region) == ("i-0abc", "lab-7", "eu-west-1")
    assert (command.instance_type, command.ami_id) == ("m5.xlarge", "ami-1")
    assert command.status is WorkerStatus.STOPPED
    assert command.tags == {"Name": "lab-7", "Team": "qa"}
    assert (command.actor, command.correlation_id) == ("discovery", "c-1")


def test_an_unnamed_instance_goes_by_its_id_and_overrides_win() -> None:
    unnamed = InstanceInfo("i-0def", "us-east-1", "running", "c5.large")
    worker_id = uuid4()
    command = import_command(unnamed, cause=Cause("a", "c"), worker_id=worker_id, tags={})
    assert command.name == "i-0def" and command.status is WorkerStatus.RUNNING
    assert command.worker_id == worker_id and command.tags == {}
