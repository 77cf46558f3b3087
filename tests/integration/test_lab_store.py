"""The lab store contract, on SQLite (a file) and PostgreSQL (after ``db init``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from application.cml import CmlLab
from application.labs import ListLabs
from infrastructure.shared.postgres.database import Database
from infrastructure.store.lab_sql import SqlLabStore
from infrastructure.store.lab_store import SqliteLabStore
from infrastructure.store.postgres.lab_store import PgLabStore
from tests.postgres_support import pg_settings

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlLabStore]:
    if request.param == "sqlite":
        lab_store: SqlLabStore = SqliteLabStore(tmp_path / "labs.sqlite")
        yield lab_store
        lab_store.close()
        return
    dsn = request.getfixturevalue("pg_dsn")
    db = Database.for_settings(pg_settings(dsn))
    yield PgLabStore(db)
    db.close()


def lab(title: str, owner: str = "alice", state: str = "STOPPED", **more: object) -> CmlLab:
    values: dict[str, object] = {
        "id": str(uuid4()),
        "title": title,
        "state": state,
        "node_count": 3,
        "running_nodes": 3 if state == "STARTED" else 0,
        "owner_username": owner,
        "owner_id": str(uuid4()),
        "link_count": 2,
        "created": NOW - timedelta(days=2),
        "modified": NOW - timedelta(hours=1),
    }
    return CmlLab(**(values | more))  # type: ignore[arg-type]


def test_a_workers_labs_are_replaced_whole_and_read_back_as_seen(store: SqlLabStore) -> None:
    worker, other = str(uuid4()), str(uuid4())
    first, second, theirs = lab("OSPF"), lab("BGP", state="STARTED"), lab("QoS", owner="bob")
    store.replace({worker: [first, second], other: [theirs]}, NOW)
    assert [r.lab for r in store.labs_of(worker)] == [second, first]  # by title
    assert {r.seen_at for r in store.labs_of(worker)} == {NOW}

    store.replace({worker: [first]}, NOW + timedelta(minutes=1))
    assert [r.lab for r in store.labs_of(worker)] == [first]
    assert [r.lab for r in store.labs_of(other)] == [theirs]  # untouched
    store.replace({worker: []}, NOW)
    assert store.labs_of(worker) == ()


def test_one_lab_is_put_or_removed_and_gone_workers_are_forgotten(store: SqlLabStore) -> None:
    worker, gone = str(uuid4()), str(uuid4())
    kept = lab("OSPF")
    store.replace({worker: [kept], gone: [lab("old")]}, NOW)
    stopped = CmlLab(**{**kept.__dict__, "state": "STOPPED", "running_nodes": 0})
    store.put(worker, stopped, NOW)
    assert [r.lab for r in store.labs_of(worker)] == [stopped]
    store.retain([worker])
    assert store.labs_of(gone) == ()
    store.remove(worker, kept.id)
    assert store.labs_of(worker) == ()


def test_the_fleets_labs_are_filtered_and_paged_without_gaps(store: SqlLabStore) -> None:
    workers = [str(uuid4()) for _ in range(3)]
    everything = {w: [lab(f"lab {i}", owner="alice" if i % 2 else "bob") for i in range(5)]
                  for w in workers}  # fmt: skip
    store.replace(everything, NOW)
    seen, cursor = [], None
    while True:
        page = store.page(ListLabs(limit=4, cursor=cursor))
        seen += [(r.worker_id, r.lab.id) for r in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == seen and len(seen) == 15 == len(set(seen))
    alice = store.page(ListLabs(owner="alice", worker_id=workers[1]))
    assert {r.lab.owner_username for r in alice.items} == {"alice"} and len(alice.items) == 2
    assert store.page(ListLabs(state="STARTED")).items == ()


def test_an_import_topology_is_taken_once_and_not_after_it_expires(store: SqlLabStore) -> None:
    topology = {"lab": {"version": "0.2.2"}, "nodes": [], "links": []}
    store.keep_topology("w/1", topology, NOW + timedelta(minutes=5))
    store.keep_topology("w/2", topology, NOW + timedelta(minutes=5))
    assert store.take_topology("w/1", NOW) == topology
    assert store.take_topology("w/1", NOW) is None
    assert store.take_topology("w/2", NOW + timedelta(minutes=6)) is None
