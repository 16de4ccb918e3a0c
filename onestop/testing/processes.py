"""Helpers for tests that start the product in child processes (a real server, a real
``manage.py``): a clean environment and free ports."""

from __future__ import annotations

import os
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def child_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment without any ONESTOP_/DATABASE_URL/DJANGO_ variable (a
    test's settings must not leak into the child), plus the data folder and ``settings``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ONESTOP_", "DATABASE_URL", "DJANGO_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="onestop.config.settings",
        PYTHONPATH=str(ROOT),
        ONESTOP_DATA_DIR=str(data_dir),
        **settings,
    )
    return env


def free_port_block(count: int) -> int:
    """The first of ``count`` consecutive free ports on 127.0.0.1 (the search starts at a
    place that depends on the process id, so parallel test runs rarely meet)."""
    for base in range(21000 + os.getpid() % 997 * 17, 60000, 53):
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                sockets.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free ports")


def simulate_argv(
    python: str,
    base_url: str,
    hook_port_base: int,
    poll: float,
    concurrency: int = 4,
    one_at_a_time: bool = False,
) -> list[str]:
    """The command line of the simulated department systems (`onestop simulate`) answering
    at once, as the end-to-end bench and the fault-injection test start them."""
    return [
        python,
        *("-m", "onestop", "simulate"),
        *("--base-url", base_url, "--hook-port-base", str(hook_port_base)),
        *("--delay", "0", "--poll", f"{poll:g}", "--concurrency", str(concurrency)),
        *(("--one-at-a-time",) if one_at_a_time else ()),
    ]
