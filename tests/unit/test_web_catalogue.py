"""The dashboard listens to every notification type of the catalogue, and knows no other.

EventSource delivers a named event only to a listener for that name, so a type missing
from the dashboard's list would never reach its reducer.
"""

from __future__ import annotations

import re

from application.notifications import NOTIFICATION_TYPES
from infrastructure.http.web.routes import STATIC


def dashboard_types() -> list[str]:
    source = (STATIC / "js" / "model.mjs").read_text()
    block = re.search(r"NOTIFICATION_TYPES = Object\.freeze\(\[(.*?)\]\)", source, re.S)
    assert block is not None
    return re.findall(r"'([a-z_.]+)'", block.group(1))


def test_the_dashboard_listens_to_exactly_the_catalogue_types() -> None:
    assert sorted(dashboard_types()) == sorted(NOTIFICATION_TYPES)
