"""The read model's worker → team index: loaded once, kept current by the projection,
a change heard while loading wins over the row read."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from infrastructure.read_model.teams import UNKNOWN, TeamIndex


def heard(worker: str, team: str | None) -> Any:
    return SimpleNamespace(worker_id=worker, team=team)


def test_loads_once_then_follows_the_projection() -> None:
    reads, listeners = [], []

    def rows() -> list[str]:
        reads.append(1)
        return [json.dumps({"id": "a", "team": "red"}), json.dumps({"id": "b"})]

    index = TeamIndex(rows, listeners.append)

    assert (index.team_of("a"), index.team_of("b"), index.team_of("z")) == ("red", None, UNKNOWN)
    listeners[0]([heard("a", "blue"), heard("c", "red")])
    assert (index.team_of("a"), index.team_of("c")) == ("blue", "red")
    assert sorted(index.members(frozenset({"red"}))) == ["c"]
    assert len(reads) == 1 and len(listeners) == 1


def test_a_change_heard_while_loading_wins_over_the_row_read() -> None:
    index: TeamIndex

    def rows() -> list[str]:
        index.heard([heard("a", "blue")])  # the projection commits while the view is read
        return [json.dumps({"id": "a", "team": "red"})]

    index = TeamIndex(rows, lambda listener: None)

    assert index.team_of("a") == "blue"
