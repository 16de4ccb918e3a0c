"""Sealing benchmark (part of ``make bench``): SM2-SM3 sign and verify per second with the
pure-Python and the compiled (OpenSSL) implementation side by side, and the public
``/verify/<serial>.json`` view with its answer cache cold (cleared before every request)
and warm. Not a test: it prints a table and asserts nothing about speed.

The view runs in a child process (``python -m onestop.ops.sealbench``, which prints
its figures as JSON) on a throw-away SQLite database and data folder in a temporary
directory (one case submitted, its birth certificate issued): no server, and nothing of
the calling process's Django settings or database is touched.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from onestop.certificates.seal import SM2_IMPLEMENTATION, Sm2Sm3OpenSsl, Sm2Sm3Python
from onestop.certificates.sm2_openssl import load as load_openssl

MESSAGE_SIZE = 600  # bytes: about a sealed document's size
SIGNS = 60
VERIFIES = 60
VIEWS = 60


Measure = Callable[[str, Callable[[], object], int], Any]


def bench_sm2(measure: Measure, scale: float) -> list[Any]:
    """Sign and verify with each available implementation (one key, public key derived
    once, as the key store's signer does)."""
    message = b'{"seal":"' + b"x" * (MESSAGE_SIZE - 12) + b'"}'
    implementations: list[tuple[str, Any, float]] = [("pure Python (gmssl)", Sm2Sm3Python(), 0.2)]
    if load_openssl() is not None:
        implementations.append(("OpenSSL libcrypto (ctypes)", Sm2Sm3OpenSsl(), 3.0))
    out = []
    for label, impl, factor in implementations:
        private = impl.new_private_key()
        public = impl.public_key(private)
        signature = impl.sign(private, message)
        n = max(1, round(SIGNS * factor * scale))
        out.append(measure(f"SM2 sign, {label}", functools.partial(impl.sign, private, message), n))
        n = max(1, round(VERIFIES * factor * scale))
        check = functools.partial(impl.verify, public, message, signature)
        out.append(measure(f"SM2 verify, {label}", check, n))
    return out


def _django_licence(folder: Path) -> str:
    """A fresh SQLite database with one issued e-licence; its serial."""
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ["ONESTOP_DATA_DIR"] = str(folder)
    os.environ["ONESTOP_SEAL_KEYS_DIR"] = str(folder / "seal-keys")
    os.environ["ONESTOP_RATE_VERIFY"] = "1000000/m"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onestop.config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    from onestop.cases.services import case_submit
    from onestop.certificates.models import ELicence
    from onestop.core.clock import parse_time
    from onestop.testing.factories import officer
    from onestop.workflow.models import CaseItem, ItemState
    from onestop.workflow.services import item_complete

    examples = Path(__file__).resolve().parents[1] / "examples"
    document = json.loads((examples / "qinbei-accept.json").read_text(encoding="utf-8"))
    now = parse_time("2026-11-20T10:00:00+08:00")
    case = case_submit(document=document, actor=None, now=now).case
    item = CaseItem.objects.get(case=case, item="birth_certificate", state=ItemState.READY)
    actor = officer(item.department, item.jurisdiction_kind, item.jurisdiction_code)
    item_complete(item_id=item.pk, actor=actor, result={"bmc_number": "Q450123456"}, now=now)
    return str(ELicence.objects.get(case=case, kind="birth_certificate").serial)


def bench_verify_view(measure: Measure, scale: float) -> list[Any]:
    """``GET /verify/<serial>.json`` through Django's test client (every middleware, the
    per-IP rate limit): cache cleared before each request (every request verifies) vs warm
    (the remembered answer); and the service alone (`elicence_verify` by serial), the same
    two ways, without the web stack's cost around it."""
    with tempfile.TemporaryDirectory(prefix="onestop-bench-seal-") as tmp:
        serial = _django_licence(Path(tmp))
        from django.test import Client

        from onestop.certificates.services import elicence_verify, verify_cache_clear

        client = Client()
        url = f"/verify/{serial}.json"
        assert client.get(url).json()["valid"] is True, "the benchmark licence must verify"

        def cold() -> object:
            verify_cache_clear()
            return client.get(url)

        def service_cold() -> object:
            verify_cache_clear()
            return elicence_verify(serial=serial)

        n = max(1, round(VIEWS * scale))
        sm2 = f"{SM2_IMPLEMENTATION} SM2"
        return [
            measure(f"/verify/<serial>.json, cache cleared ({sm2})", cold, n),
            measure("/verify/<serial>.json, answer cached", lambda: client.get(url), n),
            measure(f"elicence_verify(serial), cache cleared ({sm2})", service_cold, n),
            measure(
                "elicence_verify(serial), answer cached",
                lambda: elicence_verify(serial=serial),
                n,
            ),
        ]


def verify_view_in_child(scale: float, repeats: int) -> list[tuple[str, float]]:
    """`bench_verify_view` in fresh interpreters, with the pure-Python SM2 (as before issue
    10; only its uncached figure is kept) and with the implementation in use: (name, median
    seconds per request)."""
    out: list[tuple[str, float]] = []
    for python_sm2 in (True, False):
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        if python_sm2:
            env["ONESTOP_SEAL_SM2"] = "python"
        done = subprocess.run(
            [
                sys.executable,
                *("-m", "onestop.ops.sealbench"),
                *("--scale", str(scale), "--repeats", str(repeats)),
            ],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        rows = [(str(name), float(seconds)) for name, seconds in json.loads(done.stdout)]
        # From the pure-Python run only the uncached figures (the cached ones do no SM2).
        out += [r for r in rows if "cached" not in r[0]] if python_sm2 else rows
    return out


def _median_per_call(
    name: str, operation: Callable[[], object], number: int, repeats: int
) -> tuple[str, float]:
    operation()
    runs = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        for _ in range(number):
            operation()
        runs.append((time.perf_counter() - start) / number)
    return name, statistics.median(runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m onestop.ops.sealbench")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    def measure(name: str, operation: Callable[[], object], number: int) -> tuple[str, float]:
        return _median_per_call(name, operation, number, args.repeats)

    print(json.dumps(bench_verify_view(measure, args.scale)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
