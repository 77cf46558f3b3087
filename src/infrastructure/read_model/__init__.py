"""The read model: one SQLite row per worker holding its DTO, following the event log.

Pieces, each in its own module:

- ``view``: ``WorkerView``, an eventsourcing ``TrackingRecorder`` over SQLite tables
  (rows + tracked position, written in one transaction);
- ``projection``: ``WorkerProjection``, an eventsourcing ``Projection`` turning events into
  rows with THE mapper (``map_worker_to_dto``), with an LRU cache of aggregates;
- ``follower``: the daemon thread that reads the log and drives the projection;
- ``listing``: filters, sort and keyset cursor pagination as SQL;
- ``view``: what the model needs of a view (``WorkerViewBase``), the backends being
  ``sqlite.view`` and ``postgres.view`` (chosen by ``wiring.builders.build_read_model``);
- ``model``: ``ReadModel``, the queries.

With PostgreSQL persistence the same read model runs on shared tables
(``infrastructure.read_model.postgres.view``), projected by every process (decision record 0003).

Why our own follower and batches rather than ``ProjectionRunner``: the SQLite application
recorder has no subscriptions (``NotImplementedError``), so the runner cannot follow a
SQLite log; and the runner commits one transaction per event. A SQLite commit costs far
more than projecting one event, so the follower reads up to 500 notifications at a time
and commits each batch in one transaction: a burst (1,000 workers recorded in one save, a
metrics cycle over the whole fleet, a rebuild of 100,000 events) is projected at the
speed of the mapper, not of the disk. When the log is quiet it waits on the event store's
in-process append signal, with a short timeout for writes by other processes.
"""

from infrastructure.read_model.model import Listener, ReadModel, fingerprint, idle_defaults
from infrastructure.read_model.projected import ProjectedEvent

__all__ = ["Listener", "ProjectedEvent", "ReadModel", "fingerprint", "idle_defaults"]
