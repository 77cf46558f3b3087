"""The worker view honours eventsourcing's TrackingRecorder contract."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from infrastructure.read_model.sqlite.connections import Connections
from infrastructure.read_model.sqlite.view import WorkerView


def test_the_tracked_position_only_moves_forward() -> None:
    view = WorkerView(Connections(None), "CMLFleet", "fingerprint")
    try:
        assert view.max_tracking_id("CMLFleet") is None
        view.insert_tracking(Tracking("CMLFleet", 3))
        assert view.has_tracking_id("CMLFleet", 3) and not view.has_tracking_id("CMLFleet", 4)
        with pytest.raises(IntegrityError):
            view.insert_tracking(Tracking("CMLFleet", 3))
        view.write([], Tracking("CMLFleet", 2))  # a batch applied twice changes nothing
        assert view.position() == 3
        view.write([], Tracking("CMLFleet", 5))
        assert view.max_tracking_id("CMLFleet") == 5
        assert view.max_tracking_id("OtherApp") is None
    finally:
        view.close()
