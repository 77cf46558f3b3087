"""The simulated world's AMI catalogue: a few CML images and one that is not CML.

The same images exist in every region (real AMIs are per region; the simulation
does not need that). Ids are fixed, so launches and tests are the same on every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

IMAGES: dict[str, str] = {
    "ami-0c1f2e3d4b5a69788": "cml-2.9.0-1-x86_64",
    "ami-0c1f2e3d4b5a69789": "cml-2.9.0-2-x86_64",
    "ami-0c1f2e3d4b5a6978a": "cml-2.9.0-3-x86_64",
    "ami-0a9b8c7d6e5f40312": "ubuntu-24.04-server-x86_64",
}
"""AMI id to name."""

CML_IMAGE = "ami-0c1f2e3d4b5a6978a"
"""The newest CML image: what demo instances and every launch template run."""
OTHER_IMAGE = "ami-0a9b8c7d6e5f40312"
"""An image that is not CML."""


def image_ids(name_patterns: Sequence[str]) -> tuple[str, ...]:
    """Ids of the images whose name matches any pattern (case-sensitive, like EC2)."""
    return tuple(
        sorted(
            ami
            for ami, name in IMAGES.items()
            if any(fnmatchcase(name, pattern) for pattern in name_patterns)
        )
    )
