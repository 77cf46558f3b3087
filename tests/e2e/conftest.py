"""End-to-end fixtures: a real server process and headless Chromium (sync Playwright).

Without Chromium (or Playwright) the tests skip, saying why; with
``CML_FLEET_REQUIRE_BROWSER=1`` (CI) they fail instead. Run them in their own pytest
invocation: ``pytest tests/e2e`` (Playwright's sync API cannot share a process with
running asyncio tests).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import FleetServer, Tokens, chromium_path, create_tokens, launch_chromium

REQUIRED = os.environ.get("CML_FLEET_REQUIRE_BROWSER") == "1"


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"CML_FLEET_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install playwright)")
    if chromium_path() is None:
        _unavailable("Chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FleetServer]:
    fleet = FleetServer(tmp_path / "data")
    yield fleet
    fleet.stop()


@pytest.fixture
def tokens(server: FleetServer) -> Tokens:
    return create_tokens(server.settings())


class PageErrors:
    """Console errors and uncaught exceptions of a page (CSP violations included)."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.expected: list[str] = []

    def allow(self, text: str) -> None:
        """Errors containing ``text`` are expected in this test (e.g. a refused connection)."""
        self.expected.append(text)

    @property
    def unexpected(self) -> list[str]:
        return [m for m in self.messages if not any(text in m for text in self.expected)]

    def watch(self, page: Any) -> Any:
        page.on("pageerror", lambda error: self.messages.append(f"uncaught: {error}"))
        page.on(
            "console",
            lambda m: self.messages.append(f"console: {m.text}") if m.type == "error" else None,
        )
        return page


@pytest.fixture
def page_errors() -> Iterator[PageErrors]:
    errors = PageErrors()
    yield errors
    assert errors.unexpected == [], "the page logged errors"


@pytest.fixture
def new_page(browser: Any, page_errors: PageErrors) -> Iterator[Any]:
    """``new_page()``: a fresh browser context (its own cookies) and page."""
    contexts = []

    def make(width: int = 1400, height: int = 900) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        return page_errors.watch(context.new_page())

    yield make
    for context in contexts:
        context.close()
