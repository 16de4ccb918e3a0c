"""`onestop serve`: the whole product on the embedded default.

Migrates, loads demo data, then runs two children — the web server (gunicorn) and the
background worker — and stops both cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO


def _django(data_dir: Path) -> None:
    os.environ["ONESTOP_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onestop.config.settings")
    import django

    django.setup()


def demo_wanted(*, demo: bool) -> bool:
    """Demo accounts and API tokens go only into the demo: the embedded SQLite default or an
    explicit ``--demo``; never silently into a ``DATABASE_URL`` deployment (issue 8)."""
    return demo or not os.environ.get("DATABASE_URL")


def setup_database(out: TextIO, *, demo: bool, simulate: bool = False) -> dict[str, int]:
    """Migrate, create the shared cache table, seed the reference data, and the demo data
    (users, API clients with known secrets, example cases) only when ``demo``."""
    from django.core.management import call_command

    from onestop.ops.demo import demo_webhooks, seed_demo
    from onestop.reference.services import reference_seed

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    if not demo:
        counts = {"reference": reference_seed()}
        out.write("未加载演示账号 no demo accounts or API tokens (DATABASE_URL without --demo)\n")
        return counts
    counts = seed_demo()
    demo_webhooks(enabled=simulate)
    out.write("演示数据 demo data: " + ", ".join(f"{k} +{v}" for k, v in counts.items()) + "\n")
    return counts


def prepare(data_dir: Path, out: TextIO, *, simulate: bool = False, demo: bool = True) -> None:
    """Create the database and the demo data (idempotent); demo webhooks on or off."""
    _django(data_dir)
    from django.core.management import call_command

    out.write(f"数据目录 data: {data_dir}\n")
    setup_database(out, demo=demo, simulate=simulate)
    call_command("collectstatic", interactive=False, verbosity=0)


def logins_text() -> str:
    from onestop.ops.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, REGIONS

    lines = [
        f"演示账号 demo logins (password / 密码: {DEMO_PASSWORD}):",
        "  admin                              系统管理员 (/admin/)",
    ]
    for region, *_ in REGIONS:
        lines.append(
            f"  {region}-clerk, {region}-hospital, {region}-police, {region}-medical-insurance, "
            f"{region}-hrss, {region}-cdc, {region}-tax, {region}-health, {region}-supervisor"
        )
    lines.append(
        "  admin 与 *-supervisor 还需动态口令 (TOTP second factor): 在验证器App中添加演示密钥"
        f" (add the demo key to an authenticator app) {DEMO_TOTP_SECRET},"
    )
    lines.append(
        "    或运行 (or run) `python manage.py demo_totp admin` 显示当前口令 (current code)"
    )
    lines.append(
        "  家长 parents: 手机号 + 短信验证码 (phone + one-time code; codes in the SMS log)"
    )
    lines.append("    e.g. 13800000000 (qinbei), 13700001111 (lanzhou), 13500008888 (jilin)")
    return "\n".join(lines)


def serve(
    *,
    host: str,
    port: int,
    data_dir: Path,
    out: TextIO,
    simulate: bool = False,
    demo: bool = False,
) -> int:
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    demo = demo_wanted(demo=demo)
    if simulate and not demo:
        out.write("--simulate 需要演示数据 needs the demo data: add --demo\n")
        return 2
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    # The address printed in QR codes: this server unless the operator says otherwise.
    os.environ.setdefault("ONESTOP_PUBLIC_BASE_URL", f"http://{shown}:{port}")
    prepare(data_dir, out, simulate=simulate, demo=demo)
    env = {
        **os.environ,
        "ONESTOP_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "onestop.config.settings",
    }
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "onestop.config.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            # The product's gunicorn settings: the access log with ID numbers and phones
            # scrubbed (issue 8), the keep-alive time.
            "-c",
            "python:onestop.ops.gunicorn_conf",
            "--graceful-timeout",
            "10",
        ],
        env=env,
    )
    worker = subprocess.Popen([sys.executable, "-m", "django", "worker"], env=env)
    children = {"web": web, "worker": worker}
    if simulate:  # department systems over HTTP: demo cases complete by themselves
        children["simulate"] = subprocess.Popen(
            [sys.executable, "-m", "onestop", "simulate", "--base-url", f"http://{shown}:{port}"],
            env=env,
        )
    out.write(f"\n出生一件事 已启动 running at http://{shown}:{port}/\n")
    out.write(f"短信日志 SMS log: {data_dir / 'sms.log'}\n")
    if demo:
        out.write(logins_text() + "\n")
    out.write("按 Ctrl+C 停止 (Ctrl+C to stop)\n")
    out.flush()

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                out.write(f"{name} process exited ({child.returncode}); stopping\n")
                stopping = True
                status = 1
        time.sleep(0.3)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    out.write("已停止 stopped\n")
    return status
