"""`serve` runs with the collector thresholds from its settings."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from infrastructure.shared.settings import Settings
from infrastructure.wiring.runtime import tune_process


@pytest.fixture
def restored_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_the_collector_runs_as_rarely_as_the_settings_say(restored_gc: None) -> None:
    tune_process(Settings())
    assert gc.get_threshold() == (50_000, 20, 100)


def test_the_thresholds_come_from_the_environment(
    restored_gc: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CML_FLEET_GC_THRESHOLDS", "[20000, 10, 50]")
    tune_process(Settings())
    assert gc.get_threshold() == (20_000, 10, 50)
