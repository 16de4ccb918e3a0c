"""Fault injection on the real product: nothing lost, nothing sent twice.

Issue 8: "200 cases survived `kill -9` of the worker and a PostgreSQL restart with nothing
lost or sent twice. Those stay." — this test proves it again on every run.

It starts a private PostgreSQL cluster (never the shared server), migrates the product into
it and runs the product's own processes against it: the web server (gunicorn, as `onestop
serve` starts it), two workers (`django worker`) and the simulated department systems
(`onestop simulate`, HTTP only). Between the platform and the simulators' webhook receivers
sits a recording relay in this process, so every delivery the platform sends is counted.

While ``ONESTOP_FAULTS_CASES`` cases (default 20) go through, it injects:

1. *receiver down*: the department systems (and their webhook receivers) are stopped for a
   while and started again;
2. *worker kill -9*: a worker is killed mid-batch, while outbox rows are leased (the relay
   answers slowly then, so there are), and a new worker is started;
3. *database restart*: ``pg_ctl restart -m immediate`` while submissions, department
   systems and workers run.

Then it waits until every case is completed and both outboxes (SMS, webhooks) are empty,
and counts from the database, the SMS gateway log and the relay: cases lost, items done
twice, e-licences issued twice, SMS sent twice (one text to one phone under two message
ids, or one message id sent twice by the gateway), webhook events queued twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from onestop.testing.processes import free_port_block, simulate_argv
from onestop.testing.reliability import reliability_record

pytestmark = pytest.mark.faults


@pytest.fixture(autouse=True)
def _only_when_asked(request: pytest.FixtureRequest) -> None:
    """Minutes of real processes: not part of `make test`. It runs under `make reliability`
    (which sets ONESTOP_RELIABILITY_OUT), with ``pytest -m faults``, or when
    ONESTOP_FAULTS_CASES is set."""
    expression = str(request.config.getoption("markexpr") or "")
    asked = ("faults" in expression and "not faults" not in expression) or any(
        os.environ.get(name) for name in ("ONESTOP_RELIABILITY_OUT", "ONESTOP_FAULTS_CASES")
    )
    if not asked:
        pytest.skip("fault injection (minutes, real processes): run by make reliability")


ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "onestop" / "examples"
CASES = int(os.environ.get("ONESTOP_FAULTS_CASES", "20"))
# Outbox recovery (the lease) shortened from 2 minutes so that a message whose worker
# was killed is taken back within the test; the mechanism is the production one.
RECOVERY_SECONDS = 20
WORKER_A = "faults-a"
DEPARTMENTS = ("hospital", "police", "cdc", "medical_insurance", "hrss", "tax", "health")
SUBMITTER = "osk_qinbei_hosp"


# --- a private PostgreSQL cluster -----------------------------------------------------------


def _pg_bin() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    which = shutil.which("initdb")  # last: on Debian it is a wrapper that picks a cluster
    if which:
        candidates.append(Path(which).parent)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


class PrivatePostgres:
    """One throw-away cluster in a temp folder, on 127.0.0.1:``port``, trust auth.

    PostgreSQL refuses to run as root: as root, the cluster belongs to the ``postgres`` OS
    user and its commands run through ``runuser``.
    """

    def __init__(self, bin_dir: Path, root: Path, port: int) -> None:
        self.bin = bin_dir
        self.root = root
        self.data = root / "data"
        self.port = port
        self.as_root = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.root, check=True
        )

    def start(self) -> None:
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o700)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root}",
                "-c shared_buffers=16MB",
                "-c max_connections=80",
                "-c fsync=on",
            ]
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def restart_immediate(self) -> None:
        """Crash-stop (no checkpoint, clients cut off) and start again: crash recovery."""
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-m",
            "immediate",
            "-w",
            "-t",
            "60",
            "restart",
        )

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as postgres")
    root = Path(tempfile.mkdtemp(prefix="onestop-faults-pg-"))
    cluster = PrivatePostgres(bin_dir, root, free_port_block(1))
    try:
        cluster.start()
    except (subprocess.SubprocessError, OSError, KeyError, LookupError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"cannot start a private PostgreSQL cluster: {detail.strip()[:300]}")
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def _sql(url: str, query: str, params: tuple[Any, ...] = (), *, wait: float = 30) -> list[Any]:
    """Rows of one query on the private cluster, retried while it restarts."""
    import psycopg

    deadline = time.monotonic() + wait
    while True:
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                return conn.execute(query, params).fetchall()
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


# --- the recording relay in front of the department systems' webhook receivers -------------


@dataclass
class Receipt:
    delivery_id: str
    key_id: str
    event: str
    logical: str  # what the event is about; two ids for one logical event = queued twice
    status: int  # what the receiver behind the relay answered (503 when it was down)


@dataclass
class Relay:
    """Takes each webhook, records it, and passes it on to the department system's
    receiver; answers what the receiver answered, or 503 when the receiver is down."""

    listen_base: int
    target_base: int
    receipts: list[Receipt] = field(default_factory=list)
    slow: float = 0.0
    posts: int = 0  # HTTP requests (a batched one carries several receipts)
    batched_posts: int = 0
    servers: list[ThreadingHTTPServer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        relay = self
        for index in range(len(DEPARTMENTS)):
            target = f"http://127.0.0.1:{self.target_base + index}/webhook"

            class Handler(BaseHTTPRequestHandler):
                def do_POST(self, target: str = target) -> None:
                    body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    headers = dict(self.headers.items())
                    if relay.slow:
                        time.sleep(relay.slow)
                    request = urllib.request.Request(
                        target,
                        data=body,
                        method="POST",
                        headers={k: v for k, v in headers.items() if k.lower().startswith("x-")}
                        | {"Content-Type": "application/json"},
                    )
                    try:
                        with urllib.request.urlopen(request, timeout=8) as answer:
                            status = int(answer.status)
                    except urllib.error.HTTPError as exc:
                        status = int(exc.code)
                    except (urllib.error.URLError, OSError):
                        status = 503
                    relay.record(headers, body, status)
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

                def log_message(self, format: str, *args: Any) -> None:
                    return

            server = ThreadingHTTPServer(("127.0.0.1", self.listen_base + index), Handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers.append(server)

    def record(self, headers: dict[str, str], body: bytes, status: int) -> None:
        """One receipt per event: a batched POST (ADR 0028, the simulators' clients opt
        in) carries a JSON array of events, each with its own ``delivery_id``."""
        lower = {k.lower(): v for k, v in headers.items()}
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {}
        batched = isinstance(payload, list)
        events = payload if batched else [payload]
        with self.lock:
            self.posts += 1
            self.batched_posts += int(batched)
            for event in events:
                event = event if isinstance(event, dict) else {}
                task = event.get("task") or {}
                logical = json.dumps(
                    [
                        lower.get("x-onestop-key-id", ""),
                        event.get("event"),
                        event.get("case_number"),
                        event.get("change"),
                        task.get("id"),
                        task.get("state"),
                        task.get("version"),
                        (event.get("case") or {}).get("status"),
                    ]
                )
                self.receipts.append(
                    Receipt(
                        delivery_id=str(event.get("delivery_id"))
                        if batched
                        else lower.get("x-onestop-delivery", ""),
                        key_id=lower.get("x-onestop-key-id", ""),
                        event=str(event.get("event", "")),
                        logical=logical,
                        status=status,
                    )
                )

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


# --- the product's processes --------------------------------------------------------------


class Product:
    def __init__(self, root: Path, database_url: str, ports: int) -> None:
        self.root = root
        self.data = root / "data"
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.web_port = ports
        self.relay_base = ports + 1
        self.hook_base = ports + 1 + len(DEPARTMENTS)
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),  # this checkout's code, whatever the venv points at
            "DATABASE_URL": database_url,
            "ONESTOP_DATA_DIR": str(self.data),
            "DJANGO_SETTINGS_MODULE": "onestop.config.settings",
            "ONESTOP_SIMULATE_HOOK_PORT": str(self.relay_base),  # webhook URLs: the relay
            "ONESTOP_OUTBOX_RECOVERY_SECONDS": str(RECOVERY_SECONDS),
            "ONESTOP_LOG_LEVEL": "WARNING",
        }
        for name in ("ONESTOP_RELIABILITY_OUT", "ONESTOP_TEST_DB_NAME", "ONESTOP_SMS_BACKEND"):
            self.env.pop(name, None)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def _start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.root
        )
        log.close()
        self.processes[name] = process
        return process

    def prepare(self) -> None:
        """Migrate, demo reference data and API clients, webhooks pointed at the relay."""
        script = (
            "import django; django.setup()\n"
            "from django.core.management import call_command\n"
            "from onestop.ops.demo import demo_webhooks, seed_demo\n"
            "call_command('migrate', interactive=False, verbosity=0)\n"
            "seed_demo()\n"
            "demo_webhooks(enabled=True)\n"
        )
        subprocess.run(
            [sys.executable, "-c", script],
            # Setting up commits without waiting for the disk (faster, and nothing is being
            # tested yet); the product's processes then run with the durable default.
            env={**self.env, "PGOPTIONS": "-c synchronous_commit=off"},
            cwd=self.root,
            check=True,
            capture_output=True,
            timeout=300,
        )

    def start_web(self) -> None:
        self._start(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "onestop.config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--graceful-timeout",
                "5",
            ],
        )

    def start_worker(self, worker_id: str) -> subprocess.Popen[bytes]:
        return self._start(
            f"worker-{worker_id}",
            [
                sys.executable,
                "-X",
                "faulthandler",  # SIGABRT dumps the stacks (only on a failure, see below)
                "-m",
                "django",
                "worker",
                "--worker-id",
                worker_id,
                "--interval",
                "0.5",
            ],
        )

    def start_simulate(self) -> None:
        self._start("simulate", simulate_argv(sys.executable, self.base_url, self.hook_base, 1))

    def stop(self, name: str, *, timeout: float = 20) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill9(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def dump_stacks(self) -> str:
        """Which processes still run; the workers' Python stacks into their logs (SIGABRT
        with faulthandler on), for the failure message."""
        alive = {name: p.poll() for name, p in self.processes.items()}
        for name, process in list(self.processes.items()):
            if name.startswith("worker-") and process.poll() is None:
                process.send_signal(signal.SIGABRT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=5)
        return f"processes (None = running): {alive}"

    def tail(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.logs.glob("*.log"))
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.processes["web"].poll() is None, self.tail()
            with contextlib.suppress(OSError):
                request = urllib.request.Request(f"{self.base_url}/api/v1/me")
                try:
                    urllib.request.urlopen(request, timeout=2)
                except urllib.error.HTTPError as exc:
                    if exc.code == 401:
                        return
            time.sleep(0.3)
        raise AssertionError("the web server did not answer\n" + self.tail())


# --- the cases ------------------------------------------------------------------------------


def _document(index: int, run: str) -> dict[str, Any]:
    """The Qinbei example as one distinct newborn: its own delivery record, mother (valid
    ID number) and phone, born ``index`` minutes apart."""
    from onestop.ops.demo import shift_dates
    from onestop.reference.idnumber import make_resident_id

    document: dict[str, Any] = json.loads((EXAMPLES / "qinbei-accept.json").read_text("utf-8"))
    shift_dates(document, datetime.now(timezone(timedelta(hours=8))))
    baby = document["newborns"][0]
    born = datetime.fromisoformat(baby["born_at"]) - timedelta(minutes=7 * index)
    baby["born_at"] = born.isoformat()
    baby["record_number"] = f"ZY{run}-{index:05d}"
    mother_id = make_resident_id("450703", date(1990, 1, 1) + timedelta(days=index), 110, "2")
    phone = f"138{int(run, 16) % 10000:04d}{index:04d}"
    document["mother"]["id_number"] = mother_id
    document["mother"]["phone"] = phone
    document["applicant"]["id_number"] = mother_id
    document["applicant"]["phone"] = phone
    document["delivery"]["address"]["phone"] = phone
    return document


def _submit(base_url: str, document: dict[str, Any], key: str, timeout: float = 90) -> str:
    """POST /cases, retried with the same Idempotency-Key through outages: the case number."""
    from onestop.simulate.credentials import demo_credentials

    token = next(c.token for c in demo_credentials() if c.key_id == SUBMITTER)
    data = json.dumps(document, ensure_ascii=False).encode()
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        request = urllib.request.Request(
            f"{base_url}/api/v1/cases",
            data=data,
            method="POST",
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as answer:
                body = json.loads(answer.read())
                assert body["decision"]["decision"] == "accept", body
                return str(body["number"])
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code} {exc.read()[:300]!r}"
            if exc.code < 500 and exc.code != 429:
                raise AssertionError(f"submission refused: {last}") from None
            time.sleep(float(exc.headers.get("Retry-After") or 0.5))
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
            time.sleep(0.5)
    raise AssertionError(f"submission {key} not accepted within {timeout}s: {last}")


class Submitter:
    """Submits cases from a thread, so faults hit submissions in flight."""

    def __init__(self, base_url: str, run: str) -> None:
        self.base_url = base_url
        self.run = run
        self.numbers: dict[str, str] = {}  # idempotency key -> case number
        self.errors: list[str] = []
        self.thread: threading.Thread | None = None

    def submit(self, indexes: range, pause: float = 0.0) -> None:
        def work() -> None:
            for index in indexes:
                key = f"faults-{self.run}-{index}"
                try:
                    self.numbers[key] = _submit(self.base_url, _document(index, self.run), key)
                except AssertionError as exc:
                    self.errors.append(str(exc))
                time.sleep(pause)

        self.join()
        self.thread = threading.Thread(target=work, daemon=True)
        self.thread.start()

    def join(self, timeout: float = 180) -> None:
        if self.thread is not None:
            self.thread.join(timeout)
            assert not self.thread.is_alive(), "submissions did not finish"
            self.thread = None


# --- the test -------------------------------------------------------------------------------


def _wait(what: str, remaining: Any, stall: float, product: Product, url: str) -> None:
    """Wait until ``remaining()`` is 0. Fails when it has not gone down for ``stall``
    seconds (stuck: lost work), not merely because a shared machine is slow; 30 minutes
    at most."""
    last, progress, cap = remaining(), time.monotonic(), time.monotonic() + 1800
    while last:
        time.sleep(0.5)
        now, current = time.monotonic(), remaining()
        if current < last:
            progress = now
        last = current
        if last and (now - progress > stall or now > cap):
            stuck = _unfinished(url)
            alive = product.dump_stacks()
            raise AssertionError(
                f"{what}: {last} left, no progress for {stall}s\n{alive}\n{stuck}\n{product.tail()}"
            )


def _unfinished(url: str) -> str:
    """What is still open in the database: for the failure message."""
    queries = {
        "cases": "SELECT number, status FROM cases_case WHERE status <> 'completed'",
        "messages": "SELECT id, channel, status, attempts, next_attempt_at, last_error "
        "FROM notifications_notification WHERE status <> 'sent'",
        "webhooks": "SELECT id, event, status, attempts, next_attempt_at, last_status_code, "
        "last_error FROM integration_webhookdelivery WHERE status <> 'delivered'",
        "tasks": "SELECT status, task_path, count(*) FROM django_tasks_database_dbtaskresult "
        "GROUP BY status, task_path",
        "now": "SELECT now()",
        "sessions": "SELECT pid, application_name, state, wait_event_type, wait_event, "
        "now() - xact_start, left(query, 100) FROM pg_stat_activity "
        "WHERE backend_type = 'client backend'",
    }
    lines = []
    for name, query in queries.items():
        try:
            rows = _sql(url, query, wait=5)
        except Exception as exc:
            rows = [(repr(exc),)]
        lines.append(f"{name}: {len(rows)}")
        lines += [f"  {row}" for row in rows[:30]]
    return "\n".join(lines)


def test_cases_survive_worker_kill_database_restart_and_receiver_outage(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    started = time.monotonic()
    url = private_postgres.url
    product = Product(tmp_path, url, free_port_block(1 + 2 * len(DEPARTMENTS)))
    relay = Relay(product.relay_base, product.hook_base)
    run = uuid.uuid4().hex[:6]
    submitter = Submitter(product.base_url, run)
    faults: Counter[str] = Counter()
    killed_mid_task = 0
    third = max(1, CASES // 3)
    try:
        product.prepare()
        print(f"{time.monotonic() - started:6.1f} s prepare")
        relay.start()
        product.start_web()
        product.start_worker(WORKER_A)
        product.start_worker("faults-b")
        product.start_simulate()
        product.wait_ready()
        print(f"{time.monotonic() - started:6.1f} s ready")

        # 1. The department systems (webhook receivers and all) go down while cases arrive,
        # then come back: webhooks sent meanwhile are answered 503 and retried.
        submitter.submit(range(0, third))
        time.sleep(2)
        product.stop("simulate")
        faults["receiver down"] += 1
        submitter.join()
        submitter.submit(range(third, 2 * third))
        time.sleep(3)
        product.start_simulate()
        print(f"{time.monotonic() - started:6.1f} s receiver back")

        # 2. kill -9 of a worker mid-batch: while webhook rows are leased (claimed by a
        # batch, not yet recorded) and the relay answers slowly, so both workers are in the
        # middle of sending one (ADR 0023: the outbox rows are the unit of work).
        relay.slow = 0.4
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            running = _sql(
                url,
                "SELECT count(*) FROM integration_webhookdelivery WHERE status = 'pending' "
                "AND attempts > 0 AND last_error = '' "
                "AND next_attempt_at > now() + interval '5 seconds'",
            )[0][0]
            if running:
                killed_mid_task = 1
                break
            time.sleep(0.02)
        product.kill9(f"worker-{WORKER_A}")
        faults["worker kill -9"] += 1
        relay.slow = 0.0
        product.start_worker("faults-c")
        print(f"{time.monotonic() - started:6.1f} s worker killed")
        submitter.join()

        # 3. The database crashes (immediate stop: no checkpoint, every client cut off) and
        # restarts while cases are submitted and worked.
        submitter.submit(range(2 * third, CASES), pause=0.1)
        time.sleep(1.5)
        private_postgres.restart_immediate()
        faults["database restart"] += 1
        print(f"{time.monotonic() - started:6.1f} s db restarted")
        submitter.join()
        assert not submitter.errors, submitter.errors

        numbers = list(submitter.numbers.values())

        def not_completed() -> int:
            rows = _sql(
                url,
                "SELECT count(*) FROM cases_case WHERE number = ANY(%s) AND status = 'completed'",
                (numbers,),
            )
            return len(numbers) - int(rows[0][0])

        _wait("every case completed", not_completed, 120, product, url)
        print(f"{time.monotonic() - started:6.1f} s completed")

        def outboxes_pending() -> int:
            pending = _sql(
                url,
                "SELECT (SELECT count(*) FROM notifications_notification "
                "WHERE status = 'pending') + (SELECT count(*) FROM "
                "integration_webhookdelivery WHERE status = 'pending')",
            )
            return int(pending[0][0])

        # A message whose worker was killed waits for its lease to end (the recovery time);
        # one refused while the receiver was down, for its backoff (30 s).
        _wait(
            "every message and webhook sent",
            outboxes_pending,
            4 * RECOVERY_SECONDS + 60,
            product,
            url,
        )
        time.sleep(1)
    finally:
        product.stop_all()
        relay.stop()

    figures = _count(url, product, relay, submitter, run)
    figures["run seconds"] = round(time.monotonic() - started)
    figures["killed mid-batch (rows leased)"] = killed_mid_task
    print(json.dumps({"faults": faults, **figures}, ensure_ascii=False, indent=1))
    for kind, count in sorted(faults.items()):
        reliability_record("faults", f"faults injected: {kind}", count)
    for measure, value in figures.items():
        reliability_record("faults", measure, value)

    assert figures["cases submitted"] == CASES
    assert figures["cases lost (missing or not completed)"] == 0, product.tail()
    assert figures["cases created twice"] == 0
    assert figures["items done twice"] == 0
    assert figures["e-licences issued twice for one item"] == 0
    assert figures["cases completed twice"] == 0
    assert figures["SMS sent twice (same text, same phone, two message ids)"] == 0
    assert figures["SMS message ids sent twice to the gateway"] == 0
    assert figures["SMS not sent (pending or dead)"] == 0
    assert figures["webhook events queued twice (one event, two delivery ids)"] == 0
    assert figures["webhooks marked delivered but never acknowledged by the receiver"] == 0
    assert figures["webhooks not delivered (pending or dead)"] == 0
    # At-least-once: a receipt may repeat (a worker killed after sending), the receiver
    # takes each delivery id once.
    assert figures["webhook receipts acknowledged"] >= figures["webhook delivery ids processed"]


def _count(
    url: str, product: Product, relay: Relay, submitter: Submitter, run: str
) -> dict[str, int]:
    numbers = list(submitter.numbers.values())
    completed = _sql(
        url,
        "SELECT count(*) FROM cases_case WHERE number = ANY(%s) AND status = 'completed'",
        (numbers,),
    )[0][0]
    created = _sql(
        url,
        "SELECT count(*) FROM cases_case WHERE idempotency_key LIKE %s",
        (f"api:{SUBMITTER}:faults-{run}-%",),
    )[0][0]
    items_done_twice = _sql(
        url,
        "SELECT count(*) FROM (SELECT case_id, item FROM cases_timelineentry "
        "WHERE kind = 'item_done' GROUP BY case_id, item HAVING count(*) > 1) t",
    )[0][0]
    items_done = _sql(
        url,
        "SELECT count(*) FROM workflow_caseitem i JOIN cases_case c ON c.id = i.case_id "
        "WHERE c.number = ANY(%s) AND i.state = 'done'",
        (numbers,),
    )[0][0]
    elicences_twice = _sql(
        url,
        "SELECT count(*) FROM (SELECT case_id, kind FROM certificates_elicence "
        "GROUP BY case_id, kind HAVING count(*) > 1) t",
    )[0][0]
    elicences = _sql(
        url,
        "SELECT count(*) FROM certificates_elicence e JOIN cases_case c ON c.id = e.case_id "
        "WHERE c.number = ANY(%s)",
        (numbers,),
    )[0][0]
    completed_twice = _sql(
        url,
        "SELECT count(*) FROM (SELECT case_id FROM cases_timelineentry "
        "WHERE kind = 'case_completed' GROUP BY case_id HAVING count(*) > 1) t",
    )[0][0]
    sms_sent, sms_unsent = _sql(
        url,
        "SELECT count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status <> "
        "'sent') FROM notifications_notification WHERE channel = 'sms'",
    )[0]
    webhooks_unsent = _sql(
        url, "SELECT count(*) FROM integration_webhookdelivery WHERE status <> 'delivered'"
    )[0][0]
    delivered_ids = {
        str(row[0])
        for row in _sql(
            url,
            "SELECT delivery_id FROM integration_webhookdelivery WHERE status = 'delivered'",
        )
    }

    # What the SMS gateway (the embedded one: the SMS log) received.
    lines = [
        line.split("\t")
        for line in (product.data / "sms.log").read_text("utf-8").splitlines()
        if line.strip()
    ]
    by_id = Counter(parts[1] for parts in lines)
    ids_by_text: dict[tuple[str, str], set[str]] = {}
    for parts in lines:
        ids_by_text.setdefault((parts[2], parts[3]), set()).add(parts[1])

    # What the department systems' receivers were sent (through the relay).
    acknowledged = [r for r in relay.receipts if 200 <= r.status < 300]
    ids_by_event: dict[str, set[str]] = {}
    for receipt in relay.receipts:
        ids_by_event.setdefault(receipt.logical, set()).add(receipt.delivery_id)
    unique_acknowledged = {r.delivery_id for r in acknowledged}
    return {
        "cases submitted": len(numbers),
        "cases lost (missing or not completed)": CASES - completed,
        "cases created twice": created - len(numbers),
        "items done": items_done,
        "items done twice": items_done_twice,
        "e-licences issued": elicences,
        "e-licences issued twice for one item": elicences_twice,
        "cases completed twice": completed_twice,
        "SMS sent": sms_sent,
        "SMS gateway receipts": len(lines),
        "SMS message ids sent twice to the gateway": sum(1 for n in by_id.values() if n > 1),
        "SMS sent twice (same text, same phone, two message ids)": sum(
            1 for ids in ids_by_text.values() if len(ids) > 1
        ),
        "SMS not sent (pending or dead)": sms_unsent,
        "webhook receipts (raw, all answers)": len(relay.receipts),
        "webhook POSTs (raw, all answers)": relay.posts,
        "webhook POSTs carrying a batch": relay.batched_posts,
        "webhook receipts refused while the receiver was down": sum(
            1 for r in relay.receipts if r.status >= 500
        ),
        "webhook receipts acknowledged": len(acknowledged),
        "webhook delivery ids processed": len(unique_acknowledged),
        "webhook events queued twice (one event, two delivery ids)": sum(
            1 for ids in ids_by_event.values() if len(ids) > 1
        ),
        "webhooks marked delivered but never acknowledged by the receiver": len(
            delivered_ids - unique_acknowledged
        ),
        "webhooks not delivered (pending or dead)": webhooks_unsent,
    }
