"""Every setting is documented in the README, with its current default."""

from __future__ import annotations

from pathlib import Path

from infrastructure.shared.settings import Settings
from infrastructure.wiring.settings_doc import rendered

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_settings_table_is_current() -> None:
    text = README.read_text()
    assert text == rendered(text), (
        "README.md's settings table is out of date: run "
        "`.venv/bin/python -m infrastructure.wiring.settings_doc README.md`"
    )


def test_every_setting_says_what_it_is_for() -> None:
    undocumented = [n for n, f in Settings.model_fields.items() if not f.description]
    assert not undocumented, f"settings without a description: {undocumented}"
