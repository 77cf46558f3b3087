"""The projection follows the log: listeners after commit, restart, rebuild, bulk writes,
and a failing batch that is retried rather than lost. SQLite files in ``tmp_path``."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from uuid import UUID

from application.commands.lifecycle import PauseWorker, ResumeWorker, pause_worker, resume_worker
from application.commands.observations import (
    ObserveInstance,
    RecordMetrics,
    observe_instance,
    record_metrics,
)
from application.commands.settings import ChangeTags, change_tags
from application.queries import GetWorker, ListWorkers
from domain.cause import Cause
from domain.spec import WorkerSpec
from domain.status import WorkerStatus
from domain.values import Telemetry
from domain.worker import CMLWorker
from infrastructure.read_model import ProjectedEvent
from infrastructure.store.event_store import FleetEventStore
from infrastructure.wiring.bootstrap import bootstrap, event_store_env
from infrastructure.wiring.builders import build_read_model
from tests.integration.read_model_fleet import (
    WAIT,
    fleet_settings,
    read_model,
    record_worker,
    running_system,
    visible,
)


def dump(data_dir: Path) -> list[tuple]:
    """Every stored row and the tracked position, read straight from the file."""
    db = sqlite3.connect(data_dir / "readmodel.sqlite")
    try:
        return [
            *db.execute("SELECT * FROM workers ORDER BY id"),
            *db.execute("SELECT * FROM worker_dtos ORDER BY id"),
            *db.execute("SELECT * FROM workers_tracking"),
        ]
    finally:
        db.close()


def new_worker(name: str) -> CMLWorker:
    return CMLWorker.create(
        WorkerSpec(name=name, region="eu-west-1", instance_type="m5.xlarge", ami_id="ami-1"),
        cause=Cause("alice", f"c-{name}"),
    )


def busy_history(system, clock) -> None:
    """Several workers, each paused, stopped, measured, resumed and tagged."""
    store = system.store
    for i in range(6):
        worker = record_worker(system, f"w{i}", status=WorkerStatus.RUNNING).worker_id
        pause_worker(PauseWorker(worker, "bob", f"p{i}"), store, clock)
        observe_instance(
            ObserveInstance(worker, "ec2", f"o{i}", status=WorkerStatus.STOPPED), store
        )
        metrics = RecordMetrics(worker, "job", f"m{i}", Telemetry(cml_cpu_percent=i * 9.0))
        record_metrics(metrics, store, clock)
        resume_worker(ResumeWorker(worker, "bob", f"r{i}"), store, clock)
        visible(system, change_tags(ChangeTags(worker, "ann", f"t{i}", add={"n": str(i)}), store))


class Batches:
    """A listener that remembers the batches it was given, and can be waited on."""

    def __init__(self) -> None:
        self.batches: list[Sequence[ProjectedEvent]] = []
        self._seen = threading.Condition()

    def __call__(self, batch: Sequence[ProjectedEvent]) -> None:
        with self._seen:
            self.batches.append(batch)
            self._seen.notify_all()

    @property
    def positions(self) -> list[int]:
        return [p.position for batch in self.batches for p in batch]

    def wait_for(self, position: int) -> bool:
        with self._seen:
            return self._seen.wait_for(lambda: position in self.positions, WAIT)


def test_listeners_get_each_batch_after_it_is_committed(tmp_path) -> None:
    with running_system(tmp_path) as system:
        model = read_model(system)
        seen_by_query = []

        def query_each(batch: Sequence[ProjectedEvent]) -> None:
            for projected in batch:
                row = model.get_worker(GetWorker(projected.event.originator_id))
                seen_by_query.append((row.version, projected.event.originator_version))

        batches = Batches()
        model.add_listener(query_each)
        model.add_listener(batches)
        result = record_worker(system, "w1")
        assert batches.wait_for(result.position)

    [[projected]] = batches.batches
    assert (projected.position, projected.name) == (result.position, "w1")
    assert isinstance(projected.event, CMLWorker.Imported)
    assert seen_by_query == [(1, 1)]  # the listener's own query already sees the row


def test_a_failing_listener_does_not_stop_the_projection(tmp_path, caplog) -> None:
    def broken(batch: Sequence[ProjectedEvent]) -> None:
        raise RuntimeError("listener bug")

    with running_system(tmp_path) as system:
        batches = Batches()
        read_model(system).add_listener(broken)
        read_model(system).add_listener(batches)
        first = record_worker(system, "w1")
        second = record_worker(system, "w2")
        assert batches.wait_for(second.position)
    assert first.position in batches.positions
    assert "listener" in caplog.text and "listener bug" in caplog.text


def test_a_removed_listener_hears_nothing_more(tmp_path) -> None:
    with running_system(tmp_path) as system:
        removed, kept = Batches(), Batches()
        remove = read_model(system).add_listener(removed)
        read_model(system).add_listener(kept)
        remove()
        result = record_worker(system, "w1")
        assert kept.wait_for(result.position)
    assert removed.batches == []


def test_after_a_restart_it_resumes_from_its_tracked_position(tmp_path, clock) -> None:
    with running_system(tmp_path) as system:
        busy_history(system, clock)
        before, position = dump(tmp_path), read_model(system).position()

    # Another process records a worker while no read model is running.
    settings = fleet_settings(tmp_path)
    late = new_worker("late")
    late_position = FleetEventStore(event_store_env(settings)).save(late)

    restarted = bootstrap(settings)
    model = read_model(restarted)
    assert model.position() == position and dump(tmp_path) == before
    batches = Batches()
    model.add_listener(batches)
    model.start()
    try:
        assert model.wait_until_blocking(late_position, WAIT)
        assert model.get_worker(GetWorker(late.id)).name == "late"
        w0 = UUID(model.list_workers(ListWorkers(text="w0")).items[0].id)
        tagged = change_tags(ChangeTags(w0, "ann", "again", add={"x": "1"}), restarted.store)
        assert batches.wait_for(tagged.position)
    finally:
        model.close()
    # Only what the view had not applied yet: nothing from before the restart again.
    assert batches.positions == [late_position, tagged.position]


def test_a_rebuild_from_an_empty_view_gives_identical_rows(tmp_path, clock) -> None:
    with running_system(tmp_path) as system:
        busy_history(system, clock)
        before = dump(tmp_path)
        batches = Batches()
        read_model(system).add_listener(batches)
        assert read_model(system).rebuild() == system.store.max_position()
        assert dump(tmp_path) == before
    assert batches.batches == []  # a rebuild is not news


def test_a_cold_cache_and_small_batches_give_the_same_rows(tmp_path, clock) -> None:
    with running_system(tmp_path) as system:
        busy_history(system, clock)
        before = dump(tmp_path)
    store = FleetEventStore(event_store_env(fleet_settings(tmp_path)))
    # No cache and batches of 3: every event after a worker's first is applied to the
    # worker loaded from the store at that version, not to a cached aggregate.
    model = build_read_model(fleet_settings(tmp_path), store, batch_size=3, cache_size=0)
    try:
        model.rebuild()
    finally:
        model.close()
    assert dump(tmp_path) == before


def test_thousands_of_workers_recorded_in_one_save_are_all_projected(tmp_path) -> None:
    with running_system(tmp_path) as system:
        batches = Batches()
        read_model(system).add_listener(batches)
        position = system.store.save(*(new_worker(f"bulk-{i:04d}") for i in range(1_200)))
        assert read_model(system).wait_until_blocking(position, WAIT * 3)
        summary = read_model(system).fleet_summary()
        last = read_model(system).list_workers(ListWorkers(descending=True, limit=1)).items

    assert (summary.total, summary.by_status["pending"], summary.position) == (1200, 1200, 1200)
    assert last[0].name == "bulk-1199"
    assert batches.positions == list(range(1, 1_201))
    assert max(len(batch) for batch in batches.batches) <= 500


class FlakyStore(FleetEventStore):
    """The real store, whose event decoding fails the first ``failures`` times."""

    def __init__(self, env, failures: int) -> None:
        super().__init__(env)
        self.failures = failures

    def to_domain_event(self, notification):
        if self.failures > 0:
            self.failures -= 1
            raise OSError("disk hiccup")
        return super().to_domain_event(notification)


def test_a_failing_batch_is_logged_and_retried_until_it_succeeds(tmp_path, caplog) -> None:
    settings = fleet_settings(tmp_path)
    store = FlakyStore(event_store_env(settings), failures=2)
    model = build_read_model(settings, store)
    model.start()
    try:
        worker = new_worker("w1")
        position = store.save(worker)
        assert model.wait_until_blocking(position, WAIT)
        assert model.get_worker(GetWorker(worker.id)).name == "w1"
    finally:
        model.close()
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 2 and "OSError" in failures[0].getMessage()


def test_a_new_global_idle_timeout_shows_in_every_row_after_a_restart(tmp_path) -> None:
    with running_system(tmp_path) as system:
        worker = record_worker(system, "w1").worker_id
        assert read_model(system).get_worker(GetWorker(worker)).idle_timeout_minutes == 60

    settings = fleet_settings(tmp_path).model_copy(update={"idle_timeout_minutes": 45})
    restarted = bootstrap(settings)
    model = read_model(restarted)
    assert model.position() == 0  # rows mapped with the old setting were dropped
    model.start()
    try:
        assert model.wait_until_blocking(restarted.store.max_position(), WAIT)
        assert model.get_worker(GetWorker(worker)).idle_timeout_minutes == 45
    finally:
        model.close()
