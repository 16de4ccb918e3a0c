"""End to end over HTTP: cases submitted to the running product complete by themselves
while the simulated department systems work through the API (and the webhooks)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from onestop.integration.services import api_client_create
from onestop.ops.demo import shift_dates
from onestop.simulate.credentials import DEPARTMENTS, demo_credentials
from onestop.simulate.department import Behaviour, DepartmentSystem
from onestop.simulate.session import ApiSession
from onestop.testing.newborns import another_newborn
from onestop.testing.processes import free_port_block

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


_babies = itertools.count(1)


def _document(name: str) -> dict[str, Any]:
    from datetime import datetime, timedelta, timezone

    document: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text("utf-8"))
    shift_dates(document, datetime.now(timezone(timedelta(hours=8))))
    # The demo data already holds each example's newborn: one newborn, one active case.
    another_newborn(document, next(_babies))
    if name.startswith("jilin"):  # with the items Jilin grants without application (免申即享)
        document["items"] += ["vaccination_certificate", "maternity_reimbursement"]
        document["maternity"] = {"plurality": 1, "delivery_mode": "natural", "payout": "ssc"}
    return document


def _submit(base_url: str, region: str, name: str) -> str:
    token = next(c.token for c in demo_credentials() if c.key_id == f"osk_{region}_hosp")
    answer = ApiSession(base_url, token).call(
        "POST", "/cases", _document(name), key=str(uuid.uuid4())
    )
    assert answer.status == 201, answer.body
    assert answer.body["decision"]["decision"] == "accept", answer.body
    return str(answer.body["number"])


def _wait_completed(
    base_url: str, region: str, numbers: list[str], timeout: float
) -> dict[str, Any]:
    token = next(c.token for c in demo_credentials() if c.key_id == f"osk_{region}_hosp")
    session = ApiSession(base_url, token)
    deadline = time.monotonic() + timeout
    states: dict[str, Any] = {}
    while time.monotonic() < deadline:
        states = {n: session.get(f"/cases/{n}").body for n in numbers}
        if all(s.get("status") == "completed" for s in states.values()):
            return states
        time.sleep(0.5)
    raise AssertionError(f"not completed in {timeout}s: {json.dumps(states, ensure_ascii=False)}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="concurrent writers on the in-memory SQLite test database lock whole tables; "
    "the serve test below runs the same flow on SQLite in real processes",
)
def test_simulated_departments_in_process_complete_cases(live_server, media_root):
    """In-process department systems (threads) on the live server, with webhooks delivered
    by a worker thread and polling as the fallback."""
    from onestop.ops.worker import run_queued_tasks

    with_webhooks = True
    systems = []
    for department in DEPARTMENTS:
        mine = [c for c in demo_credentials() if c.department == department]
        systems.append(
            DepartmentSystem(
                department=department,
                base_url=live_server.url,
                credentials=mine,
                behaviour=Behaviour(poll=0.5 if with_webhooks else 0.3, idle_exit=None),
                hook_port=0 if with_webhooks else None,
            )
        )
    for system in systems:
        for cred in system.credentials:
            api_client_create(
                **cred.client_fields(),
                webhook_url=system.receiver.url if system.receiver else "",
            )
    stop = threading.Event()

    def worker() -> None:
        try:
            while not stop.is_set():
                run_queued_tasks(max_tasks=20)
                stop.wait(0.2)
        finally:
            connection.close()

    threads = [threading.Thread(target=s.run, daemon=True) for s in systems]
    if with_webhooks:
        threads.append(threading.Thread(target=worker, daemon=True))
    for t in threads:
        t.start()
    try:
        qinbei = _submit(live_server.url, "qinbei", "qinbei-accept")
        jilin = _submit(live_server.url, "jilin", "jilin-accept-counter")
        cases = _wait_completed(live_server.url, "qinbei", [qinbei], 60)
        cases |= _wait_completed(live_server.url, "jilin", [jilin], 60)
    finally:
        stop.set()
        for s in systems:
            s.stop()
        for t in threads:
            t.join(timeout=15)

    for case in cases.values():
        assert {i["state"] for i in case["items"]} == {"done"}
        assert all(i["elicence_serial"] for i in case["items"])
    automatic = {"vaccination_certificate", "maternity_reimbursement"}
    assert automatic <= {i["item"] for i in cases[jilin]["items"]}
    worked = sum(s.counters.completed for s in systems)
    assert worked == len(cases[qinbei]["items"]) + len(cases[jilin]["items"]) - len(automatic)
    assert sum(s.counters.errors for s in systems) == 0
    if with_webhooks:
        assert sum(s.counters.webhooks for s in systems) > 0


def test_serve_with_simulate_completes_a_case_submitted_over_http(tmp_path):
    """The product as `make run` starts it (`onestop serve --simulate`, separate processes,
    webhooks and all): a case submitted over HTTP completes by itself."""
    web_port = free_port_block(1)
    hook_base = free_port_block(len(DEPARTMENTS) + 1) + 1
    if hook_base <= web_port <= hook_base + len(DEPARTMENTS):
        web_port = hook_base - 1
    env = {
        **os.environ,
        "ONESTOP_SIMULATE_HOOK_PORT": str(hook_base),
        "ONESTOP_LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    env.pop("ONESTOP_DATA_DIR", None)
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "onestop",
            "serve",
            "--port",
            str(web_port),
            "--simulate",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base_url = f"http://127.0.0.1:{web_port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if ApiSession(base_url, "x.y").get("/me").status == 401:
                    break
            except Exception:
                pass
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.5)
        number = _submit(base_url, "qinbei", "qinbei-accept")
        cases = _wait_completed(base_url, "qinbei", [number], 90)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    case = cases[number]
    assert {i["state"] for i in case["items"]} == {"done"}
    assert all(i["elicence_serial"] for i in case["items"])
    output = (tmp_path / "serve.log").read_text()
    assert f"[police] {number} birth_registration: completed" in output
    assert "已停止 stopped" in output


@pytest.mark.django_db(transaction=True)
def test_a_late_webhook_for_a_task_the_poll_finished_is_not_a_second_completion(
    live_server, media_root
):
    """The poll (the fallback) finishes a task before its ``task.created`` webhook is read:
    the late webhook, or the same webhook after a restart of the department system, makes
    no second completion on the platform and is not counted as one (seen in CI: twelve
    completions counted for eleven tasks)."""
    import queue

    from onestop.ops.worker import run_queued_tasks
    from onestop.workflow.models import CaseItem

    mine = [c for c in demo_credentials() if c.department == "hospital"]

    def system() -> DepartmentSystem:
        return DepartmentSystem(
            department="hospital",
            base_url=live_server.url,
            credentials=mine,
            behaviour=Behaviour(poll=0.5, idle_exit=None),
            hook_port=0,
        )

    first = system()
    restarted: DepartmentSystem | None = None
    assert first.receiver is not None
    first.receiver.start()
    try:
        for cred in mine:
            api_client_create(
                **cred.client_fields(),
                webhook_url=first.receiver.url,
            )
        number = _submit(live_server.url, "qinbei", "qinbei-accept")
        run_queued_tasks()  # the webhooks reach the receiver; nobody reads them yet
        events: list[dict[str, Any]] = []
        while True:
            try:
                events.append(first.inbox.events.get(timeout=2 if not events else 0.2))
            except queue.Empty:
                break
        created = [e for e in events if e.get("event") == "task.created"]
        assert created, events

        assert first._poll()  # the fallback gets there first
        done = first.counters.completed
        assert done >= 1
        finished = [row.key for row in CaseItem.objects.filter(case__number=number, state="done")]
        assert len(finished) == done

        for event in events:
            first.inbox.events.put(event)
        first._drain_webhooks()
        restarted = system()  # the same credentials, nothing remembered
        for event in events:
            restarted.inbox.events.put(event)
        restarted._drain_webhooks()
    finally:
        first.receiver.stop()
        first.close()
        if restarted is not None:
            restarted.close()

    assert first.counters.completed == done
    assert restarted is not None and restarted.counters.completed == 0
    assert first.counters.replays >= done and restarted.counters.replays >= done
    assert first.counters.errors == restarted.counters.errors == 0
    # One completion per task on the platform, in the case's audit chain.
    from onestop.audit.models import AuditRecord

    for key in finished:
        completions = AuditRecord.objects.filter(
            stream=number, action="item_completed", object_id=key
        )
        assert completions.count() == 1, key
