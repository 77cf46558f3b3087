"""The dashboard reads the domain's rules from a module generated from them
(``static/js/rules.mjs``), listens to every notification type of the catalogue, and
knows no other.

EventSource delivers a named event only to a listener for that name, so a type missing
from the dashboard's list would never reach its reducer; a rule restated by hand in the
browser would drift from the server's.
"""

from __future__ import annotations

import re

from application.notifications import NOTIFICATION_TYPES
from domain.status import PAUSE_HISTORY_LIMIT, WorkerStatus
from infrastructure.http.web.routes import STATIC
from infrastructure.http.web.rules import MODULE, domain_rules, rules_module


def test_the_committed_rules_module_is_what_the_domain_states() -> None:
    assert MODULE.read_text() == rules_module(), "run `make schemas` to write it again"


def test_the_dashboard_listens_to_exactly_the_catalogue_types() -> None:
    assert domain_rules()["NOTIFICATION_TYPES"] == list(NOTIFICATION_TYPES)
    model = (STATIC / "js" / "model.mjs").read_text()
    assert re.search(r"import \{[^}]*NOTIFICATION_TYPES[^}]*\} from './rules.mjs'", model)


def test_the_rules_carry_the_domain_values() -> None:
    rules = domain_rules()
    assert rules["STATUS_AFTER"]["worker.start.requested"] == WorkerStatus.STARTING.value
    assert rules["PAUSE_HISTORY_LIMIT"] == PAUSE_HISTORY_LIMIT


def test_no_module_of_the_dashboard_restates_a_rule() -> None:
    restated = re.compile(
        r"(PAUSE_HISTORY_LIMIT|RECENT_ACTIVITY_LIMIT)\s*=\s*\d"  # a limit
        r"|'worker\.instance\.assigned',\s*'worker\.status\.changed'"  # the type list
        r"|\['starting', 'running'\]"  # the up statuses
    )
    for path in (STATIC / "js").glob("*.mjs"):
        if path.name != "rules.mjs":
            assert not restated.search(path.read_text()), path.name
    statuses = "|".join(s.value for s in WorkerStatus)
    listed = re.compile(f'<option value="({statuses})"')
    assert not listed.search((STATIC / "index.html").read_text())  # filled from the rules
