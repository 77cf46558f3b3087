"""The domain's rules that the dashboard applies too, exported as a JavaScript module
(``static/js/rules.mjs``), so the browser's reducer and its tests read them from the
one statement in ``domain`` instead of restating them: the statuses each event leaves
a worker in (where the event alone decides), every status, which are up and final, the
pause counters, the history limits, the notification types and the settings changes'
types. ``cml-fleet schemas export`` writes it; a test fails when the committed module
differs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from application.changes import CHANGE_TYPES
from application.notifications import CATALOGUE, NOTIFICATION_TYPES
from domain import status

MODULE = Path(__file__).parent / "static" / "js" / "rules.mjs"


def domain_rules() -> dict[str, Any]:
    leaves = {
        entry[0]: event.LEAVES.value
        for event, entry in CATALOGUE.items()
        if event.LEAVES is not None
    }
    return {
        "NOTIFICATION_TYPES": list(NOTIFICATION_TYPES),
        "CHANGE_TYPES": list(CHANGE_TYPES),
        "STATUSES": [s.value for s in status.WorkerStatus],
        "STATUS_AFTER": leaves,
        "UP_STATUSES": sorted(s.value for s in status.UP_STATUSES),
        "FINAL_STATUSES": sorted(s.value for s in status.FINAL_STATUSES),
        "LICENSE_IN_PROGRESS": sorted(s.value for s in status.LICENSE_IN_PROGRESS),
        "PAUSE_COUNTERS": {r.value: name for r, name in status.PAUSE_COUNTERS.items()},
        "PAUSE_HISTORY_LIMIT": status.PAUSE_HISTORY_LIMIT,
        "RECENT_ACTIVITY_LIMIT": status.RECENT_ACTIVITY_LIMIT,
    }


def rules_module() -> str:
    lines = [
        "// Generated from the domain's rules by `cml-fleet schemas export` (make schemas):",
        "// do not edit. src/infrastructure/http/web/rules.py says what is here and why.",
        "",
    ]
    for name, value in domain_rules().items():
        lines.append(f"export const {name} = Object.freeze({json.dumps(value, indent=2)});")
    return "\n".join(lines) + "\n"


def write_rules_module(path: Path = MODULE) -> Path:
    path.write_text(rules_module())
    return path
