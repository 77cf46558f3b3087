"""Rules of a worker's tags: which keys cml-fleet manages, and how many there may be.

The tags a worker holds are its instance's EC2 tags less the protected ones: ``Name``
(the instance's name, shown as the worker's name), our own ``cml-fleet:*`` bookkeeping
(worker id, client token) and AWS's reserved ``aws:*``. Protected tags are never set
or removed through cml-fleet and never compared when EC2's tags are observed.

Two of ours are the worker's, kept, observed and written to EC2 like any tag:
``cml-fleet:team`` (:data:`TEAM_TAG`) names its team and is changed only as the team
(``CMLWorker.assign_team``, an admin's), never through a tag patch;
``cml-fleet:schedule`` (:data:`SCHEDULE_TAG`) names the office-hours schedule it follows
(``domain.schedules``), set like any tag (an admin's patch, or in EC2);
``cml-fleet:budget-exempt`` (:data:`BUDGET_EXEMPT_TAG`) ``true`` keeps an enforced budget
from pausing it (``application.budgets``), set the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from domain.errors import DomainError, InvalidValue

MAX_TAGS = 50
"""EC2's limit of user tags per resource."""
PROTECTED_KEYS = frozenset({"Name"})
PROTECTED_PREFIXES = ("cml-fleet:", "aws:")
TEAM_TAG = "cml-fleet:team"
SCHEDULE_TAG = "cml-fleet:schedule"
BUDGET_EXEMPT_TAG = "cml-fleet:budget-exempt"
WORKERS_OWN = frozenset({TEAM_TAG, SCHEDULE_TAG, BUDGET_EXEMPT_TAG})
"""``cml-fleet:*`` keys that belong to the worker, not to cml-fleet's bookkeeping."""
MAX_TEAM = 64


def is_protected(key: str) -> bool:
    if key in WORKERS_OWN:
        return False
    return key in PROTECTED_KEYS or key.lower().startswith(PROTECTED_PREFIXES)


def team_name(value: str | None) -> str | None:
    """A team as given (``None``: no team); raises ``InvalidValue`` for a bad one."""
    if value is None:
        return None
    team = value.strip()
    if not team or len(team) > MAX_TEAM or any(ord(c) < 32 or c == "\x7f" for c in team):
        raise InvalidValue("team", f"a team is 1 to {MAX_TEAM} printable characters")
    return team


def refuse_team_patch(keys: Iterable[str]) -> None:
    """The team tag is not changed by a tag patch: it is the team."""
    if TEAM_TAG in keys:
        raise InvalidValue(
            "tags", f"{TEAM_TAG} is the worker's team: an admin sets it with PUT .../team"
        )


def managed(tags: Mapping[str, str]) -> dict[str, str]:
    """``tags`` without the protected ones, sorted by key."""
    return {k: tags[k] for k in sorted(tags) if not is_protected(k)}


def refuse_protected(keys: Iterable[str]) -> None:
    """Raise ``InvalidValue`` naming the protected keys among ``keys``."""
    named = sorted({k for k in keys if is_protected(k)})
    if named:
        raise InvalidValue(
            "tags",
            f"{', '.join(named)}: protected (Name, cml-fleet:* and aws:* are not changed here)",
        )


def refuse_too_many(tags: Mapping[str, str]) -> None:
    if len(tags) > MAX_TAGS:
        raise InvalidValue("tags", f"{len(tags)} tags: EC2 allows at most {MAX_TAGS}")


def refuse_past_limit(tags: Mapping[str, str]) -> None:
    """A change that would leave a worker more tags than EC2 allows: refused for the
    worker's current tags (409), the request itself being well formed."""
    if len(tags) > MAX_TAGS:
        raise TagLimitReached(len(tags))


class TagLimitReached(DomainError):
    def __init__(self, count: int) -> None:
        self.count = count
        super().__init__(f"the worker would have {count} tags: EC2 allows at most {MAX_TAGS}")


def differences(
    recorded: Mapping[str, str], seen: Mapping[str, str]
) -> tuple[dict[str, str], tuple[str, ...]]:
    """What changed from ``recorded`` to ``seen`` among managed tags: (added or
    changed, removed keys)."""
    before, after = managed(recorded), managed(seen)
    added = {k: v for k, v in after.items() if before.get(k) != v}
    removed = tuple(k for k in before if k not in after)
    return added, removed
