"""Several machines (issue 10 item 5, ADR 0027): two web servers and a worker that share
nothing but the database, the object store and the keys.

"Machines" here are processes with their own data folder (and so their own temp folders,
generated-key files, SMS log and upload spool) on one host: two gunicorn servers (A, B)
and a worker (C), against one private PostgreSQL primary with a real streaming replica
(``pg_basebackup`` + a hot standby on its own port) and one S3-compatible object store
(moto's server, over HTTP). The keys every machine must share (Django's secret key, the
field and blind-index keys, the audit key, the seal keys) are handed to each, as a
deployment would from its key vault. A request sequence alternates between the servers:

- a counter clerk signs in on A; the session works on B (sessions in the database);
- the clerk enters a case with a scan on B; the scan is in the object store, encrypted;
- an officer signed in on A downloads the scan on A (it never was on A's disk);
- the worker C sends the case's SMS (its own SMS log; A and B have none);
- the police system completes the birth registration over the API on B (a sealed
  e-licence); the public verification on A finds it valid, reading from the replica
  (its connection is seen on the standby) with the primary as the fallback;
- the public verification's per-address limit is one count for both servers, kept in a
  shared Redis (a private ``redis-server``; where none is installed, the database's
  counter table, which is shared as well).

Minutes of real processes: runs with ``pytest -m machines`` or ONESTOP_MACHINES_TEST=1
(also under ``make reliability``, which sets ONESTOP_RELIABILITY_OUT).
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from onestop.ops.tests.test_fault_injection import PrivatePostgres, _pg_bin, _sql
from onestop.testing.object_store import ObjectStore, moto_store
from onestop.testing.processes import ROOT, free_port_block
from onestop.testing.reliability import reliability_record

pytestmark = pytest.mark.machines

DEMO_PASSWORD = "onestop-demo-2026"  # onestop.ops.demo.DEMO_PASSWORD (demo data only)
# The counter tests' Jilin case, for a newborn the demo data does not have yet.
ANOTHER_NEWBORN = {
    "newborns_0_born_at": "2026-11-02 10:30",
    "newborns_0_record_number": "CC-2026-7788",
}
POLICE_TOKEN = "osk_jilin_police.demo-osk_jilin_police-onestop-demo-2026"
VERIFY_LIMIT = 6


@pytest.fixture(autouse=True)
def _only_when_asked(request: pytest.FixtureRequest) -> None:
    expression = str(request.config.getoption("markexpr") or "")
    asked = ("machines" in expression and "not machines" not in expression) or any(
        os.environ.get(name) for name in ("ONESTOP_RELIABILITY_OUT", "ONESTOP_MACHINES_TEST")
    )
    if not asked:
        pytest.skip("several machines (minutes, real processes): pytest -m machines")


class Standby(PrivatePostgres):
    """A hot standby of ``primary``: a base backup streaming from it (``-R``)."""

    def __init__(self, primary: PrivatePostgres, root: Path, port: int) -> None:
        super().__init__(primary.bin, root, port)
        self.primary = primary

    def start(self) -> None:
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o700)
        self._run(
            "pg_basebackup",
            *("-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.primary.port)),
            *("-U", "postgres", "-R", "-X", "stream", "--no-sync"),
            timeout=120,
        )
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.root} -c hot_standby=on"
        )
        self._run(
            "pg_ctl",
            *("-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options),
            *("-w", "-t", "60", "start"),
        )


@pytest.fixture
def clusters() -> Iterator[tuple[PrivatePostgres, Standby]]:
    bin_dir = _pg_bin()
    if bin_dir is None or not (bin_dir / "pg_basebackup").exists():
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as postgres")
    base = free_port_block(2)
    primary = PrivatePostgres(bin_dir, Path(tempfile.mkdtemp(prefix="onestop-multi-pg-")), base)
    standby = Standby(primary, Path(tempfile.mkdtemp(prefix="onestop-multi-standby-")), base + 1)
    try:
        try:
            primary.start()
            standby.start()
        except (subprocess.SubprocessError, OSError, KeyError, LookupError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            pytest.skip(f"cannot start a primary and a streaming standby: {detail[:300]}")
        yield primary, standby
    finally:
        standby.stop()
        primary.stop()
        shutil.rmtree(standby.root, ignore_errors=True)
        shutil.rmtree(primary.root, ignore_errors=True)


@contextlib.contextmanager
def private_redis(root: Path) -> Iterator[str | None]:
    """A throwaway ``redis-server`` on a free port (no persistence), or None without one."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = free_port_block(1)
    root.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, "no redis-server"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


class Machines:
    """The processes, each with its own data folder, and the environment they share."""

    def __init__(
        self,
        root: Path,
        primary: str,
        replica: str,
        store: ObjectStore,
        cache_url: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.logs = root / "logs"
        self.logs.mkdir(parents=True)
        seal_keys = root / "vault" / "seal-keys"  # distributed to every machine
        self.shared = {
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "onestop.config.settings",
            "DATABASE_URL": primary,
            "DATABASE_REPLICA_URL": replica,
            "ONESTOP_SECRET_KEY": secrets.token_urlsafe(50),
            "ONESTOP_FIELD_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "ONESTOP_INDEX_KEY": secrets.token_hex(32),
            "ONESTOP_AUDIT_KEY": secrets.token_hex(32),
            "ONESTOP_SEAL_KEYS_DIR": str(seal_keys),
            "ONESTOP_LOG_LEVEL": "WARNING",
            # The public verification's per-address limit, small enough to reach here.
            "ONESTOP_RATE_VERIFY": f"{VERIFY_LIMIT}/h",
            **({"ONESTOP_CACHE_URL": cache_url} if cache_url else {}),
            **store.env,
            **(extra or {}),
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.ports = free_port_block(2)

    def env(self, machine: str) -> dict[str, str]:
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ONESTOP_", "DATABASE_", "DJANGO_", "AWS_"))
        }
        data = self.root / machine
        return {
            **base,
            **self.shared,
            "ONESTOP_DATA_DIR": str(data),
            "TMPDIR": str(data / "tmp"),
        }

    def data(self, machine: str) -> Path:
        return self.root / machine

    def prepare(self) -> None:
        self.data("a").joinpath("tmp").mkdir(parents=True)
        script = (
            "import django; django.setup()\n"
            "from django.core.management import call_command\n"
            "from onestop.ops.demo import seed_demo\n"
            "call_command('migrate', interactive=False, verbosity=0)\n"
            "seed_demo()\n"
        )
        subprocess.run(
            [sys.executable, "-c", script],
            env={**self.env("a"), "PGOPTIONS": "-c synchronous_commit=off"},
            cwd=self.root,
            check=True,
            capture_output=True,
            timeout=600,
        )

    def start(self, machine: str, command: list[str]) -> None:
        (self.data(machine) / "tmp").mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{machine}.log").open("ab") as log:
            self.processes[machine] = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env(machine),
                cwd=self.root,
                start_new_session=True,  # its own process group: a "machine" to crash
            )

    def start_web(self, machine: str, port: int) -> None:
        self.start(
            machine,
            [
                sys.executable,
                *("-m", "gunicorn", "onestop.config.wsgi:application"),
                *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"),
                *("--graceful-timeout", "5"),
            ],
        )

    def url(self, machine: str) -> str:
        return f"http://127.0.0.1:{self.ports + 'ab'.index(machine)}"

    def wait_ready(self, machine: str) -> None:
        import requests

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.processes[machine].poll() is None, self.tail()
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url(machine)}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        raise AssertionError(f"{machine} did not get ready\n{self.tail()}")

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop(self, machine: str, *, kill: bool = False) -> None:
        """Stop ``machine``: SIGTERM to its main process (a deployment's graceful stop), or
        with ``kill`` SIGKILL to every process of it at once (the machine is lost)."""
        process = self.processes[machine]
        if kill:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.terminate()
        process.wait(timeout=30)

    def tail(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.logs.glob("*.log"))
        )


def _csrf(session: Any, url: str) -> str:
    page = session.get(url, timeout=30)
    assert page.status_code == 200, (url, page.status_code)
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert found, url
    return found.group(1)


def _sign_in(session: Any, base: str, username: str) -> None:
    token = _csrf(session, f"{base}/accounts/login/")
    answer = session.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/"},
        allow_redirects=False,
        timeout=60,
    )
    assert answer.status_code == 302, answer.text[:2000]


def _standby_clients(url: str) -> int:
    return int(
        _sql(
            url,
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
            "AND pid <> pg_backend_pid()",
        )[0][0]
    )


def test_two_web_servers_and_a_worker_share_only_the_database_the_store_and_the_keys(
    clusters: tuple[PrivatePostgres, Standby], tmp_path: Path
) -> None:
    import requests

    from onestop.counter.tests.test_counter import JILIN
    from onestop.simulate.department import build_result
    from onestop.testing.files import pdf_bytes

    primary, standby = clusters
    with (
        moto_store(log=tmp_path / "moto.log") as store,
        private_redis(tmp_path / "redis") as cache_url,
    ):
        machines = Machines(tmp_path, primary.url, standby.url, store, cache_url)
        machines.prepare()
        try:
            machines.start_web("a", machines.ports)
            machines.start_web("b", machines.ports + 1)
            machines.start(
                "c",
                [sys.executable, "-m", "django", "worker", "--worker-id", "c", "--interval", "0.5"],
            )
            machines.wait_ready("a")
            machines.wait_ready("b")
            a, b = machines.url("a"), machines.url("b")

            # A clerk signs in on A; the session cookie works on B.
            clerk = requests.Session()
            _sign_in(clerk, a, "jilin-clerk")
            # The clerk enters a case with a scan on B.
            scan = pdf_bytes()
            token = _csrf(clerk, f"{b}/counter/new/")
            answer = clerk.post(
                f"{b}/counter/new/",
                data={**JILIN, **ANOTHER_NEWBORN, "csrfmiddlewaretoken": token},
                files={"scan__birth_certificate": ("bmc.pdf", scan, "application/pdf")},
                headers={"Referer": f"{b}/counter/new/"},
                allow_redirects=False,
                timeout=120,
            )
            errors = re.findall(r'class="error[^"]*"[^>]*>(.*?)<', answer.text, re.S)
            assert answer.status_code == 302, errors or answer.text[-3000:]
            number = answer.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
            assert clerk.get(f"{a}{answer.headers['Location']}", timeout=30).status_code == 200

            # The scan is in the object store, encrypted; on no machine's disk.
            objects = store.objects()
            assert len(objects) == 1
            (blob,) = objects.values()
            assert b"%PDF" not in blob and scan not in blob
            for machine in ("a", "b", "c"):
                media = machines.data(machine) / "media"
                assert not media.exists() or not any(media.rglob("*.*"))

            # An officer signed in on A downloads the scan (through A) from the store.
            rows = _sql(
                primary.url,
                "SELECT i.id, m.token FROM workflow_caseitem i JOIN cases_case c "
                "ON c.id = i.case_id JOIN cases_material m ON m.case_id = c.id "
                "WHERE c.number = %s AND i.item = 'birth_registration' "
                "AND m.code = 'birth_certificate'",
                (number,),
            )
            item_id, material = rows[0]
            officer = requests.Session()
            _sign_in(officer, a, "jilin-police")
            got = officer.get(f"{a}/work/tasks/{item_id}/materials/{material}/", timeout=30)
            assert got.status_code == 200 and got.content == scan

            # The police system completes the item over the API on B: a sealed e-licence.
            api = requests.Session()
            api.headers["Authorization"] = f"Bearer {POLICE_TOKEN}"
            task = api.get(f"{b}/api/v1/tasks/{item_id}", timeout=30).json()
            claim = api.post(
                f"{b}/api/v1/tasks/{item_id}/claim",
                json={"expected_version": task["version"]},
                timeout=30,
            )
            assert claim.status_code == 200, claim.text
            result = build_result(task["result_fields"], item_id, task.get("data"))
            done = api.post(
                f"{b}/api/v1/tasks/{item_id}/complete",
                json={"result": result, "expected_version": claim.json()["version"]},
                timeout=60,
            )
            assert done.status_code == 200, done.text
            (serial,) = _sql(
                primary.url,
                "SELECT e.serial FROM certificates_elicence e JOIN cases_case c "
                "ON c.id = e.case_id WHERE c.number = %s AND e.kind = 'birth_registration'",
                (number,),
            )[0]

            # The public verification on A: valid, read through the replica.
            before = _standby_clients(standby.url)
            verified = requests.get(f"{a}/verify/{serial}.json", timeout=30)
            assert verified.status_code == 200, verified.text
            assert verified.json()["valid"] is True, verified.json()
            after = _standby_clients(standby.url)
            assert after > before, (before, after)  # A keeps its replica connection open
            unknown = requests.get(f"{b}/verify/NOPE-{number}.json", timeout=30).json()
            assert unknown["valid"] is False and unknown["code"] == "not_found"

            # One limit for both servers: an address that alternates between A and B is
            # stopped after VERIFY_LIMIT checks in all (two made above), not after that
            # many on each; the counts live in the shared Redis, not in the database.
            answered = 2
            for attempt in range(2 * VERIFY_LIMIT):
                server = (a, b)[attempt % 2]
                got = requests.get(f"{server}/verify/NOPE-{attempt}.json", timeout=30)
                if got.status_code == 429:
                    assert got.headers["Retry-After"], got.headers
                    break
                assert got.status_code == 404, got.text  # unknown serial, answered
                answered += 1
            assert answered == VERIFY_LIMIT, answered
            for server in (a, b):
                assert requests.get(f"{server}/verify/{serial}.json", timeout=30).status_code == 429
            counted = _sql(primary.url, "SELECT count(*) FROM onestop_rate_counter")[0][0]
            if cache_url:
                import redis

                assert redis.Redis.from_url(cache_url).dbsize() > 0
                assert counted == 0
            else:
                assert counted > 0

            # The worker C sent the SMS (its gateway log); the web machines sent none.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                pending = _sql(
                    primary.url,
                    "SELECT count(*) FROM notifications_notification WHERE status <> 'sent' "
                    "AND channel = 'sms'",
                )[0][0]
                if not pending:
                    break
                time.sleep(0.5)
            assert pending == 0, machines.tail()
            assert (machines.data("c") / "sms.log").read_text("utf-8").strip()
            for machine in ("a", "b"):
                assert not (machines.data(machine) / "sms.log").exists()
            # Nothing on the web machines' disks a request needs: no uploads, no keys made.
            for machine in ("a", "b", "c"):
                made = {p.name for p in machines.data(machine).iterdir()}
                assert not made & {"secret_key", "field_keys", "index_key", "audit_key"}, made
            reliability_record("machines", "web servers sharing one database and store", 2)
            reliability_record("machines", "objects in the store holding plaintext", 0)
        finally:
            machines.stop_all()


HAPROXY_CONFIG = """\
global
    maxconn 256
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend web
    bind 127.0.0.1:{port}
    # Appends the address the request came from: the product counts that one entry
    # (ONESTOP_TRUSTED_PROXIES=1), never what the client wrote to its left.
    option forwardfor
    default_backend app
backend app
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    # A server that refuses the connection (stopped, crashed) costs a retry on the other,
    # not an error to the person: the request never reached it.
    retries 3
    option redispatch
    # A kept-alive connection to a server that has since died fails without an answer:
    # retried on another server, but only where a second run changes nothing: GET/HEAD,
    # and API calls that carry an Idempotency-Key (the product answers a repeat from its
    # record). A form POST that may have reached a dying server is not sent again.
    retry-on conn-failure empty-response response-timeout
    # A body is sent again only if the balancer holds all of it: wait for the whole
    # request (the API's bodies are small, the upload limit bounds the forms') first.
    option http-buffer-request
    http-request disable-l7-retry if !METH_GET !{{ req.hdr(idempotency-key) -m found }}
    http-response set-header X-Served-By %[srv_name]
    server a 127.0.0.1:{a} check inter 300ms fall 2 rise 2
    server b 127.0.0.1:{b} check inter 300ms fall 2 rise 2
"""


@contextlib.contextmanager
def haproxy(root: Path, a: int, b: int) -> Iterator[str]:
    """Debian's HAProxy in front of the servers A and B (health check: ``/readyz``)."""
    binary = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if binary is None:
        pytest.skip("no haproxy (apt-get install haproxy): the load balancer is not tested")
    port = free_port_block(1)
    root.mkdir(parents=True, exist_ok=True)
    config = root / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(port=port, a=a, b=b), "utf-8")
    check = subprocess.run([binary, "-c", "-f", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    log = (root / "haproxy.log").open("ab")
    process = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        import requests

        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (root / "haproxy.log").read_text(errors="replace")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "haproxy did not answer"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@contextlib.contextmanager
def balanced_pair(
    clusters: tuple[PrivatePostgres, Standby], tmp_path: Path
) -> Iterator[tuple[Machines, str]]:
    """Servers A and B on the primary (reads of reports on the standby) behind HAProxy,
    which the product trusts as its one proxy: (the machines, the balancer's URL)."""
    primary, standby = clusters
    with moto_store(log=tmp_path / "moto.log") as store:
        machines = Machines(
            tmp_path, primary.url, standby.url, store, extra={"ONESTOP_TRUSTED_PROXIES": "1"}
        )
        machines.prepare()
        try:
            machines.start_web("a", machines.ports)
            machines.start_web("b", machines.ports + 1)
            machines.wait_ready("a")
            machines.wait_ready("b")
            with haproxy(tmp_path / "lb", machines.ports, machines.ports + 1) as lb:
                yield machines, lb
        finally:
            machines.stop_all()


def _served_by(session: Any, url: str, count: int) -> tuple[list[str], list[int]]:
    """Which server answered each of ``count`` GETs of ``url``, and the statuses."""
    servers, statuses = [], []
    for _ in range(count):
        answer = session.get(url, timeout=30, allow_redirects=False)
        servers.append(answer.headers.get("X-Served-By", ""))
        statuses.append(answer.status_code)
    return servers, statuses


def test_behind_a_load_balancer_a_lost_server_is_taken_out_and_no_request_fails(
    clusters: tuple[PrivatePostgres, Standby], tmp_path: Path
) -> None:
    """Issue 10 item 5: stateless web servers behind a load balancer (HAProxy, Debian's),
    its health check the product's ``/readyz``. A person signed in through the balancer is
    served by both servers in turn; when B crashes (SIGKILL) or is stopped for a
    deployment, no request fails and B is out of the rotation; when B is back, it is in
    again. The per-address limit counts the address the balancer saw, whatever the client
    writes in X-Forwarded-For."""
    import requests

    with balanced_pair(clusters, tmp_path) as (machines, lb):
        officer = requests.Session()
        _sign_in(officer, lb, "jilin-police")
        queue = f"{lb}/work/"
        servers, statuses = _served_by(officer, queue, 8)
        # Round robin: both servers answered, and the session held on each.
        assert set(servers) == {"a", "b"}, servers
        assert statuses == [200] * 8, statuses

        # B crashes between two requests: the balancer retries the refused
        # connection on A, then its health check takes B out.
        machines.stop("b", kill=True)
        servers, statuses = _served_by(officer, queue, 12)
        assert statuses == [200] * 12, (statuses, machines.tail())
        assert set(servers) == {"a"}, servers

        # B comes back (a new process, nothing of the old one): in the rotation
        # again after its health checks pass.
        machines.start_web("b", machines.ports + 1)
        machines.wait_ready("b")
        deadline = time.monotonic() + 30
        while True:
            servers, statuses = _served_by(officer, queue, 4)
            assert statuses == [200] * 4, statuses
            if "b" in servers:
                break
            assert time.monotonic() < deadline, "B never came back into the rotation"
            time.sleep(0.3)

        # A deployment stops A gracefully (SIGTERM): no request fails.
        machines.stop("a")
        servers, statuses = _served_by(officer, queue, 8)
        assert statuses == [200] * 8, statuses
        assert set(servers) == {"b"}, servers

        # Through the balancer every request comes from its address; a client
        # that writes another X-Forwarded-For each time is still one address.
        answered = 0
        for attempt in range(2 * VERIFY_LIMIT):
            got = requests.get(
                f"{lb}/verify/NOPE-{attempt}.json",
                headers={"X-Forwarded-For": f"203.0.113.{attempt + 1}"},
                timeout=30,
            )
            if got.status_code == 429:
                break
            assert got.status_code == 404, got.text
            answered += 1
        assert answered == VERIFY_LIMIT, answered
    reliability_record("machines", "requests failed while a server behind the balancer was lost", 0)


def _replication(url: str) -> list[Any]:
    return _sql(url, "SELECT application_name, sync_state FROM pg_stat_replication")


def test_after_the_primary_is_lost_and_the_standby_promoted_nothing_answered_is_lost(
    clusters: tuple[PrivatePostgres, Standby], tmp_path: Path
) -> None:
    """Primary failover (ADR 0027): ``DATABASE_URL`` lists both servers with
    ``target_session_attrs=read-write``; the standby is synchronous, so a write the product
    answered is on it. The primary is crashed and the standby promoted (what Patroni or the
    provider does): while no server takes writes, the web server answers 503 with
    Retry-After, never 500; then the same settings find the new primary — the case
    answered before is there, a replay of it gets the same number, a new case is taken,
    the officer's session still holds, and the worker sends the new case's SMS."""
    import psycopg
    import requests

    from onestop.ops.tests.test_fault_injection import _document, _submit
    from onestop.simulate.credentials import demo_credentials

    primary, standby = clusters
    with psycopg.connect(primary.url, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
        conn.execute("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 30
    while [row[1] for row in _replication(primary.url)] != ["sync"]:
        assert time.monotonic() < deadline, _replication(primary.url)
        time.sleep(0.2)
    both = (
        f"postgres://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}/postgres"
        "?target_session_attrs=read-write"
    )
    run = secrets.token_hex(2)
    token = next(c.token for c in demo_credentials() if c.key_id == "osk_qinbei_hosp")
    hospital = {"Authorization": f"Bearer {token}"}
    with moto_store(log=tmp_path / "moto.log") as store:
        machines = Machines(tmp_path, both, standby.url, store)
        machines.prepare()
        try:
            machines.start_web("a", machines.ports)
            machines.start(
                "c",
                [sys.executable, "-m", "django", "worker", "--worker-id", "c", "--interval", "0.5"],
            )
            machines.wait_ready("a")
            a = machines.url("a")
            document = _document(1, run)
            first = _submit(a, document, f"failover-{run}-1", timeout=60)
            officer = requests.Session()
            _sign_in(officer, a, "qinbei-police")
            assert officer.get(f"{a}/work/", timeout=30).url.endswith("/work/")

            # The primary is lost; for a moment no server takes writes.
            primary.stop()
            during = requests.get(f"{a}/api/v1/cases/{first}", headers=hospital, timeout=60)
            assert during.status_code == 503, (during.status_code, during.text[:500])
            assert during.headers.get("Retry-After"), during.headers
            standby._run("pg_ctl", "-D", str(standby.data), "-w", "-t", "60", "promote")

            # The same settings find the promoted standby.
            answers: list[int] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                got = requests.get(f"{a}/api/v1/cases/{first}", headers=hospital, timeout=60)
                answers.append(got.status_code)
                if got.status_code == 200:
                    break
                time.sleep(0.5)
            assert answers[-1] == 200, (answers, machines.tail())
            assert set(answers[:-1]) <= {503}, answers  # refused with a retry, never a 500
            assert _sql(standby.url, "SELECT pg_is_in_recovery()")[0][0] is False
            assert (
                _sql(standby.url, "SELECT count(*) FROM cases_case WHERE number = %s", (first,))[0][
                    0
                ]
                == 1
            )
            # A replay of the answered submission gets its number; a new case is taken.
            assert _submit(a, document, f"failover-{run}-1", timeout=60) == first
            second = _submit(a, _document(2, run), f"failover-{run}-2", timeout=60)
            assert second != first
            assert (
                _sql(
                    standby.url,
                    "SELECT count(*) FROM cases_case WHERE number IN (%s, %s)",
                    (first, second),
                )[0][0]
                == 2
            )
            page = officer.get(f"{a}/work/", timeout=30)
            assert page.status_code == 200 and page.url.endswith("/work/"), page.url
            # The worker found the new primary too: every SMS is sent.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                pending = _sql(
                    standby.url,
                    "SELECT count(*) FROM notifications_notification n JOIN cases_case c "
                    "ON c.id = n.case_id WHERE c.number = %s AND n.channel = 'sms' "
                    "AND n.status <> 'sent'",
                    (second,),
                )[0][0]
                if not pending:
                    break
                time.sleep(0.5)
            assert pending == 0, machines.tail()
            reliability_record("machines", "answered writes lost in a primary failover", 0)
        finally:
            machines.stop_all()


def _waiting_on_locks(url: str) -> int:
    return int(
        _sql(
            url,
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND backend_type = 'client backend'",
        )[0][0]
    )


def test_a_write_in_flight_on_a_server_that_dies_is_done_once_or_not_at_all(
    clusters: tuple[PrivatePostgres, Standby], tmp_path: Path
) -> None:
    """A request in flight on the server that dies (ADR 0027, deployment.md): a write
    reaches B through the balancer and waits inside PostgreSQL (the test holds a lock on
    the table it writes); B is killed. With an Idempotency-Key (a submission) the balancer
    sends it again to A: one answer, one case — B's half-done transaction never commits
    (its client is gone before COMMIT). Without a key (a department system's claim) the
    balancer does not repeat it: 502, and nothing written; the sender's own repeat then
    claims the task once."""
    import psycopg
    import requests

    from onestop.ops.tests.test_fault_injection import _document
    from onestop.simulate.credentials import demo_credentials

    primary = clusters[0]
    run = secrets.token_hex(2)
    tokens = {c.key_id: c.token for c in demo_credentials()}
    hospital = {"Authorization": f"Bearer {tokens['osk_qinbei_hosp']}"}
    with balanced_pair(clusters, tmp_path) as (machines, lb):

        def in_flight_on_b(
            send: Callable[[], requests.Response], table: str, retried: bool
        ) -> requests.Response:
            """``send`` so that it reaches B, hold it in the database, kill B."""
            # Round robin: after an answer from A the next request goes to B.
            while requests.get(f"{lb}/healthz", timeout=10).headers["X-Served-By"] != "a":
                pass
            answers: list[requests.Response] = []

            def waiting_for(count: int) -> None:
                deadline = time.monotonic() + 60
                while _waiting_on_locks(primary.url) < count:
                    assert sender.is_alive(), (answers[0].status_code, answers[0].text)
                    assert time.monotonic() < deadline, machines.tail()
                    time.sleep(0.1)

            with psycopg.connect(primary.url) as holder:
                holder.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
                sender = threading.Thread(target=lambda: answers.append(send()))
                sender.start()
                waiting_for(1)
                machines.stop("b", kill=True)  # the request is in flight on B
                if retried:  # the balancer sends it again, to A: it waits as well
                    waiting_for(2)
                else:
                    time.sleep(1)
            sender.join(timeout=90)
            assert answers, "no answer"
            return answers[0]

        def back_in_rotation(machine: str) -> None:
            machines.start_web(machine, machines.ports + "ab".index(machine))
            machines.wait_ready(machine)
            deadline = time.monotonic() + 30
            while machine not in _served_by(requests.Session(), f"{lb}/healthz", 2)[0]:
                assert time.monotonic() < deadline, f"{machine} not back in the rotation"
                time.sleep(0.3)

        def cases() -> int:  # nothing else makes cases in this test
            return int(_sql(primary.url, "SELECT count(*) FROM cases_case")[0][0])

        # With an Idempotency-Key: the balancer repeats it on A; one answer, one case.
        before = cases()
        document = _document(1, run)
        keyed = {**hospital, "Idempotency-Key": f"inflight-{run}"}
        answer = in_flight_on_b(
            lambda: requests.post(f"{lb}/api/v1/cases", json=document, headers=keyed, timeout=90),
            "cases_case",
            retried=True,
        )
        assert answer.status_code in (200, 201), (answer.status_code, answer.text[:500])
        assert answer.headers.get("X-Served-By") == "a", answer.headers
        number = answer.json()["number"]
        assert cases() == before + 1
        again = requests.post(f"{lb}/api/v1/cases", json=document, headers=keyed, timeout=60)
        assert again.json()["number"] == number and cases() == before + 1
        back_in_rotation("b")

        # Without a key: a department system's claim is not repeated; 502, nothing
        # written; its own repeat claims the task once.
        ready = next(
            (key_id, task)
            for key_id, token in tokens.items()
            if key_id.startswith("osk_qinbei_")
            for task in requests.get(
                f"{lb}/api/v1/tasks",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ).json()["tasks"]
            if task["case_number"] == number
        )
        client = {"Authorization": f"Bearer {tokens[ready[0]]}"}
        claim = f"{lb}/api/v1/tasks/{ready[1]['id']}/claim"

        def state() -> tuple[str, int]:
            found = _sql(
                primary.url,
                "SELECT state, version FROM workflow_caseitem WHERE id = %s",
                (ready[1]["id"],),
            )[0]
            return str(found[0]), int(found[1])

        was = state()
        lost = in_flight_on_b(
            lambda: requests.post(claim, json={}, headers=client, timeout=90),
            "workflow_caseitem",
            retried=False,
        )
        assert lost.status_code == 502, (lost.status_code, lost.text[:300])
        assert state() == was  # B's claim never committed
        repeat = requests.post(claim, json={}, headers=client, timeout=60)
        assert repeat.status_code == 200, repeat.text[:300]
        assert state()[0] != was[0] and state()[1] == was[1] + 1
    reliability_record("machines", "writes in flight on a dying server done twice", 0)
