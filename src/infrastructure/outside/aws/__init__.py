"""The cloud port on real AWS: EC2 and CloudWatch through boto3.

boto3 is imported only when the AWS adapter is built, so the embedded default (the
simulated fleet) does not need it installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from infrastructure.outside.aws.config import AwsConfig
from infrastructure.shared.settings import Settings

if TYPE_CHECKING:
    from infrastructure.outside.aws.cloud import AwsCloud

__all__ = ["AwsConfig", "build_cloud"]


def build_cloud(settings: Settings) -> AwsCloud | None:
    """The AWS adapter when ``settings.cloud == "aws"``, else ``None``."""
    if settings.cloud != "aws":
        return None
    from infrastructure.outside.aws.cloud import AwsCloud

    return AwsCloud(AwsConfig.from_settings(settings))
