"""The web workers' start (`onestop.ops.gunicorn_conf`): what Django would otherwise load
at the first requests (URLconf, templates, catalogues) is loaded before a worker serves,
and the loaded application is frozen out of the garbage collector's generations."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from django.template import engines

from onestop.ops import gunicorn_conf


def _cached(engine: Any) -> dict[Any, Any]:
    (loader,) = engine.engine.template_loaders  # the cached loader (DEBUG off)
    cache: dict[Any, Any] = loader.get_template_cache
    return cache


def test_every_template_is_compiled_into_the_cached_loader_before_serving() -> None:
    engine = engines["django"]
    _cached(engine).clear()
    compiled = gunicorn_conf.load_before_serving()
    assert compiled >= 100
    names = set(_cached(engine))
    assert {"base.html", "accounts/login.html", "portal/case.html"} <= names


def test_a_template_that_does_not_compile_is_left_to_its_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = engines["django"]
    real = engine.get_template

    def refuse(name: str) -> Any:
        if name == "base.html":
            raise ValueError("broken")
        return real(name)

    monkeypatch.setattr(engine, "get_template", refuse)
    assert gunicorn_conf.load_before_serving() >= 100  # the others still compiled


def test_the_loaded_application_is_frozen_out_of_the_collector() -> None:
    try:
        frozen = gunicorn_conf.freeze_loaded_application()
        assert frozen == gc.get_freeze_count() > 50_000
        # A full collection no longer walks them: what is left is what came after.
        assert len(gc.get_objects()) < frozen
    finally:
        gc.unfreeze()


def test_the_worker_hook_can_be_turned_off_to_compare(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(gunicorn_conf, "load_before_serving", lambda: calls.append("warm"))
    monkeypatch.setattr(gunicorn_conf, "freeze_loaded_application", lambda: calls.append("gc"))
    gunicorn_conf.post_worker_init(object())
    assert calls == ["warm", "gc"]
    calls.clear()
    monkeypatch.setenv("ONESTOP_WORKER_WARM", "off")
    monkeypatch.setenv("ONESTOP_GC_FREEZE", "off")
    gunicorn_conf.post_worker_init(object())
    assert calls == []


def test_a_failing_load_does_not_keep_the_worker_from_serving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A view module or catalogue that fails to load is reported and left to its requests,
    as before the warm-up: raised from the hook, gunicorn would halt the whole server
    (session 23 review)."""
    logged: list[str] = []

    class Log:
        def exception(self, message: str) -> None:
            logged.append(message)

    class Worker:
        log = Log()

    def broken() -> int:
        raise ImportError("a view module that does not import")

    frozen: list[str] = []
    monkeypatch.setattr(gunicorn_conf, "load_before_serving", broken)
    monkeypatch.setattr(gunicorn_conf, "freeze_loaded_application", lambda: frozen.append("gc"))
    gunicorn_conf.post_worker_init(Worker())
    assert len(logged) == 1 and "serving anyway" in logged[0]
    assert frozen == ["gc"]
