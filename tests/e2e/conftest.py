"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's
live server (a real HTTP server on a transactional test database).

Chromium is the system package (/usr/bin/chromium); ``playwright install`` is never run.
Without it the browser tests are skipped locally and fail under CI (env CI set).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("ONESTOP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
TIMEOUT_MS = 10_000

# Playwright's sync API runs an asyncio event loop in this thread, so Django would refuse
# the ORM calls the tests make between browser steps (SynchronousOnlyOperation). The calls
# are ordinary synchronous ones; allow them for the browser tests.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def _need_chromium() -> None:
    if CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK):
        return
    reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium); browser tests need it"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _need_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def new_page(browser: Any, live_server: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(phone=False)``: a page in a fresh browser context (its own cookies),
    desktop-sized or phone-sized (390×844, touch), with relative URLs on the live server."""
    contexts: list[Any] = []

    def make(*, phone: bool = False) -> Any:
        options: dict[str, Any] = {
            "base_url": live_server.url,
            "locale": "zh-CN",
            "timezone_id": "Asia/Shanghai",
        }
        if phone:
            options |= {"viewport": PHONE, "is_mobile": True, "has_touch": True}
        else:
            options |= {"viewport": DESKTOP}
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    return new_page()


@pytest.fixture
def phone_page(new_page: Callable[..., Any]) -> Any:
    return new_page(phone=True)
