"""Request bodies of the REST API (v1). The HTTP adapter turns each into a command."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, StringConstraints

from application.contracts.base import RequestContract
from domain.status import WorkerStatus
from domain.worker import MAX_IDLE_TIMEOUT_MINUTES

NO_CONTROLS = r"^[^\x00-\x1f\x7f]*$"
"""No control characters (NUL, newlines, tabs, DEL...)."""
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_CONTROLS)
]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$", max_length=32)]
InstanceType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+\.[a-z0-9-]+$", max_length=32)]
AmiId = Annotated[str, StringConstraints(pattern=r"^ami-[0-9a-f]{8,17}$")]
InstanceId = Annotated[str, StringConstraints(pattern=r"^i-[0-9a-f]{8,17}$")]
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=NO_CONTROLS)
]
EC2_TAG_CHARACTERS = r"[\w .:/=+\-@]"
"""What EC2 allows in tag keys and values: letters, digits, spaces and + - = . _ : / @."""
TagKey = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=f"^{EC2_TAG_CHARACTERS}+$")
]
TagValue = Annotated[str, StringConstraints(max_length=256, pattern=f"^{EC2_TAG_CHARACTERS}*$")]
TimeoutMinutes = Annotated[int, Field(ge=1, le=MAX_IDLE_TIMEOUT_MINUTES)]

TAGS_DOC = "Tags to set (key to value); at most 50."
TIMEOUT_DOC = "This worker's own idle timeout in minutes; null uses the global default."


class CreateWorkerRequest(RequestContract):
    """Request a new worker. An AMI id or a launch template is required."""

    name: Name = Field(description="Human name of the worker.")
    region: Region = Field(description="AWS region, e.g. us-east-1.")
    instance_type: InstanceType = Field(description="EC2 instance type, e.g. c5.2xlarge.")
    ami_id: AmiId | None = Field(None, description="AMI to launch from.")
    launch_template: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        None, description="Launch template name or id to launch from."
    )
    tags: dict[TagKey, TagValue] = Field(default_factory=dict, max_length=50, description=TAGS_DOC)
    idle_detection_enabled: bool = Field(True, description="Pause the worker when it is idle.")
    idle_timeout_minutes: TimeoutMinutes | None = Field(None, description=TIMEOUT_DOC)


class ImportWorkerRequest(RequestContract):
    """Take an existing EC2 instance under management. cml-fleet looks it up in its
    region: its type, AMI, Name tag, state and tags come from EC2. Given, ``instance_type``
    and ``ami_id`` must agree with EC2 (else 422); ``tags`` are added to EC2's."""

    instance_id: InstanceId = Field(description="EC2 instance id, e.g. i-0123456789abcdef0.")
    region: Region = Field(description="AWS region the instance is in.")
    name: Name | None = Field(None, description="Worker name; default: its Name tag, else its id.")
    instance_type: InstanceType | None = Field(
        None, description="EC2 instance type, if you want it checked; EC2's is recorded."
    )
    status: WorkerStatus = Field(
        WorkerStatus.UNKNOWN, description="Ignored (kept for old clients): EC2's state is recorded."
    )
    ami_id: AmiId | None = Field(
        None, description="AMI, if you want it checked; EC2's is recorded."
    )
    tags: dict[TagKey, TagValue] = Field(
        default_factory=dict,
        max_length=50,
        description="Tags to add to the instance's own (written to EC2); at most 50.",
    )
    idle_detection_enabled: bool = Field(True, description="Pause the worker when it is idle.")
    idle_timeout_minutes: TimeoutMinutes | None = Field(None, description=TIMEOUT_DOC)


class ReleaseRequest(RequestContract):
    """Release a worker from management: cml-fleet stops watching and acting on it, its
    instance is left as it is, its history stays. Final (import the instance again to
    manage it)."""

    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)
    ] = Field(description="Why, for the worker's history (e.g. 'region closed').")


class IdleDetectionRequest(RequestContract):
    """Switch idle auto-pause on or off for one worker, and set its timeout."""

    enabled: bool = Field(description="Whether idle workers are paused automatically.")
    timeout_minutes: TimeoutMinutes | None = Field(None, description=TIMEOUT_DOC)


class LicenseRequest(RequestContract):
    """Register CML with a Smart Licensing token. The token is never stored or shown."""

    token: SecretStr = Field(
        min_length=1, max_length=4096, description="Smart Licensing registration token."
    )


class TagsPatchRequest(RequestContract):
    """Add or change some tags and remove others; tags not named are kept."""

    add: dict[TagKey, TagValue] = Field(
        default_factory=dict, max_length=50, description="Tags to add or change."
    )
    remove: list[TagKey] = Field(
        default_factory=list, max_length=50, description="Keys of tags to remove."
    )
