"""gunicorn settings for the product (``gunicorn -c python:onestop.ops.gunicorn_conf``).

The access log goes to stdout with personal data scrubbed (`ScrubbingLogger`); bind,
workers and the rest come from the command line or ``GUNICORN_CMD_ARGS``.
"""

from typing import Any

logger_class = "onestop.ops.gunicorn_logging.ScrubbingLogger"
accesslog = "-"

# An idle keep-alive connection is closed after this many seconds. gunicorn's 2 s is
# shorter than the pause between a person's requests (3–7 s in `make bench-users`): the
# server then closes connections just as a client sends its next request on it, and the
# client sees the connection dropped without an answer (3 of 20,315 requests in session
# 21's 1,000-users run). Behind a load balancer this must exceed the balancer's own idle
# time for the same reason. Idle connections wait in gthread's poller, not in a thread.
keepalive = 10


# A worker loads the application (`django.setup()`) but Django leaves the rest to the first
# requests that need it: the URLconf with every view module (~0.85 s of CPU on this box),
# each template's compilation (164 templates, ~0.23 s), each language's message catalogue.
# Each worker's first requests paid for them, while the users arrived, holding the GIL
# from its other threads. They are done here, before the worker takes a connection
# (`load_before_serving`). ONESTOP_WORKER_WARM=off leaves them to the first requests.
#
# Python's cyclic garbage collector walks every tracked object of the process in a full
# (generation 2) collection, holding the GIL: every thread of the worker waits. The loaded
# application is ~135,000 such objects (modules, classes, functions, URL patterns,
# compiled templates: ~170,000 after the above), ~110 ms of CPU a full collection during
# `bench_users` on this box, and none of them ever becomes garbage. They are then moved
# out of the collector's generations (`gc.freeze`): a full collection walks only what
# requests made since (≤ ~25 ms measured). ONESTOP_GC_FREEZE=off keeps the default.


def post_worker_init(worker: Any) -> None:
    import os

    if os.environ.get("ONESTOP_WORKER_WARM", "on") != "off":
        try:
            load_before_serving()
        except Exception:
            # A view module or a catalogue that fails to load must not keep the worker
            # from booting (gunicorn would halt the whole server): the failing requests
            # answer 500 and report it, as they did without this warm-up.
            worker.log.exception("onestop: loading before serving failed; serving anyway")
    if os.environ.get("ONESTOP_GC_FREEZE", "on") != "off":
        freeze_loaded_application()


def load_before_serving() -> int:
    """Import the URLconf (every view module), compile every template of the template
    folders into the cached loader, load each language's catalogue; the number of templates
    compiled. A template that does not compile is left to the request that renders it
    (which reports its error as before)."""
    from pathlib import Path

    from django.conf import settings
    from django.template import engines
    from django.urls import get_resolver
    from django.utils.translation import trans_real

    get_resolver().url_patterns  # noqa: B018 (imports every view module)
    names: set[str] = set()
    for engine in engines.all():
        loaders = list(getattr(getattr(engine, "engine", engine), "template_loaders", []))
        while loaders:
            loader = loaders.pop()
            loaders += getattr(loader, "loaders", [])
            for folder in getattr(loader, "get_dirs", list)():
                root = Path(folder)
                names.update(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    compiled = 0
    for name in sorted(names):
        for engine in engines.all():
            try:
                engine.get_template(name)
            except Exception:  # a broken template fails where it is used, as before
                continue
            compiled += 1
    for code, _name in settings.LANGUAGES:
        trans_real.translation(code)  # the language's catalogue, loaded and kept
    return compiled


def freeze_loaded_application() -> int:
    """Collect, and move every object left to the permanent generation; the number of
    objects frozen."""
    import gc

    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


# --- an opt-in probe of where a request's time goes inside a worker (issue 10 part 3) -----
# ONESTOP_SERVER_PROBE=<folder>: each worker records its garbage collections (generation,
# pause, the CPU it took) and, per request, how long the connection waited for one of the
# worker's threads and how long the thread then took (and its CPU); written to
# <folder>/probe-<pid>.json when the worker stops (paths without the query, scrubbed as the
# access log is). Off unless set (`bench_users --probe` sets it).


def _probe_folder() -> str:
    import os

    return os.environ.get("ONESTOP_SERVER_PROBE", "")


def post_fork(server: object, worker: Any) -> None:
    if _probe_folder():
        _ServerProbe.install(worker)


def worker_exit(server: object, worker: Any) -> None:
    probe = getattr(worker, "_onestop_probe", None)
    if probe is not None:
        probe.write(_probe_folder())


class _ServerProbe:
    """Garbage-collection pauses and thread-pool waits of one gunicorn worker."""

    def __init__(self) -> None:
        # (start, generation, seconds, CPU seconds)
        self.gc: list[tuple[float, int, float, float]] = []
        # (queued at, wait, handling, handling's CPU: seconds; path)
        self.requests: list[tuple[float, float, float, float, str]] = []
        self._gc_started = (0.0, 0.0)

    @classmethod
    def install(cls, worker: Any) -> None:
        import gc
        import time

        from onestop.core.logscrub import scrub

        probe = cls()
        worker._onestop_probe = probe
        clock, cpu = time.monotonic, time.thread_time

        def on_gc(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                probe._gc_started = (clock(), cpu())
            else:
                began, began_cpu = probe._gc_started
                probe.gc.append((began, info["generation"], clock() - began, cpu() - began_cpu))

        gc.callbacks.append(on_gc)
        enqueue, handle, handle_request = worker.enqueue_req, worker.handle, worker.handle_request

        def enqueue_req(conn: Any) -> None:
            conn._onestop_queued = clock()
            enqueue(conn)

        def request_handled(req: Any, conn: Any) -> Any:
            conn._onestop_path = scrub(req.path)  # as the access log (issue 8)
            return handle_request(req, conn)

        def handled(conn: Any) -> Any:
            begun, begun_cpu = clock(), cpu()
            queued = getattr(conn, "_onestop_queued", begun)
            try:
                return handle(conn)
            finally:
                path = getattr(conn, "_onestop_path", "")
                probe.requests.append(
                    (queued, begun - queued, clock() - begun, cpu() - begun_cpu, path)
                )

        worker.enqueue_req, worker.handle = enqueue_req, handled
        worker.handle_request = request_handled

    def write(self, folder: str) -> None:
        import json
        import os
        import time
        from pathlib import Path

        offset = time.time() - time.monotonic()  # monotonic → epoch seconds
        Path(folder, f"probe-{os.getpid()}.json").write_text(
            json.dumps(
                {
                    "gc": [(t + offset, *rest) for t, *rest in self.gc],
                    "requests": [(t + offset, *rest) for t, *rest in self.requests],
                }
            ),
            "utf-8",
        )
