"""The users of `onestop.ops.bench_users` (issue 10, part 3), for locust.

Run by the benchmark as a child process (locust imports gevent and patches the standard
library: never import this module from the product or from tests). By hand, against a
seeded database (``python -m onestop.ops.bench_users --keep`` leaves one and its plan):

    ONESTOP_LOCUST_PLAN=/tmp/onestop-users-…/plan.json \\
      .venv/bin/locust -f onestop/ops/locustfile.py --headless -u 1000 -r 50 -t 120s \\
      --host http://127.0.0.1:8000

Four kinds of people, each waiting 3–7 s (5 s on average) between two requests:

- **parents** (70 %): their cases, the case's progress page, their messages. Signed in
  with a session the seed made directly in the session store (the SMS sign-in is rate
  limited per phone and address and costs an SMS; see the benchmark's docstring);
- **officers** (15 %): sign in through the login form with their password, then work their
  queue: the queue page, a task page picked from it;
- **the public** (10 %): verify an e-licence by its serial (``/verify/<serial>/``), each
  from its own address (``X-Forwarded-For``; the benchmark trusts one proxy);
- **department systems** (5 %): poll their task list, ``GET /api/v1/tasks``, with their
  API credentials (the demo clients of every department and region).

The parents' pages carry an ETag (a stamp of what they show, ADR 0026 amendment) but also
``Cache-Control: no-store`` (issue 8): a phone's browser keeps no copy and so sends no
``If-None-Match``, and neither do the parents here. What is counted instead: how many of
a parent's re-reads found the page unchanged (the same ETag as their last read of that
URL) — those a process that rendered it before answers from its kept body — printed at
the end of the run ("parents' re-reads unchanged").

The users are locust's `FastHttpUser` (geventhttpclient): the load generator runs on the
same two cores as the product, and the requests-based `HttpUser` spent ~1.3 ms of CPU per
request (0.2 cores at 170 req/s, session 21) that the product could not have. A parent's
page that answers with the sign-in form counts as a failure ("not signed in"), as an
officer's queue does.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser
from requests.cookies import create_cookie

PLAN: dict[str, Any] = json.loads(Path(os.environ["ONESTOP_LOCUST_PLAN"]).read_text("utf-8"))
THINK = between(3, 7)
_parents = itertools.cycle(PLAN["parents"])
_officers = itertools.cycle(PLAN["officers"])
_tokens = itertools.cycle(PLAN["api_tokens"])
_addresses = itertools.count(1)
TASK_LINK = re.compile(r'href="(/work/tasks/\d+/)"')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# The parents' re-reads of a page: [unchanged (same ETag as their last read), all].
REREADS = {"unchanged": 0, "all": 0}


# ONESTOP_LOCUST_TIMES=<file>: every request's start (epoch seconds), name, milliseconds and
# whether it failed, written there as CSV when the run stops (`bench_users --probe`: the
# run's latencies split by time, e.g. the arrival of the users against the steady state).
TIMES_PATH = os.environ.get("ONESTOP_LOCUST_TIMES", "")
TIMES: list[tuple[float, str, float, int]] = []

if TIMES_PATH:

    @events.request.add_listener  # type: ignore[untyped-decorator]
    def _record_time(
        name: str, response_time: float, exception: Any, start_time: float = 0.0, **_: Any
    ) -> None:
        TIMES.append((start_time, name, response_time, exception is not None))

    @events.test_stop.add_listener  # type: ignore[untyped-decorator]
    def _write_times(**_: Any) -> None:
        with open(TIMES_PATH, "w", encoding="utf-8") as handle:
            handle.writelines(f"{t:.4f},{n},{ms:.2f},{int(f)}\n" for t, n, ms, f in TIMES)


@events.test_stop.add_listener  # type: ignore[untyped-decorator]
def _report_rereads(**_: Any) -> None:
    unchanged, every = REREADS["unchanged"], REREADS["all"]
    share = f"{unchanged / every:.0%}" if every else "-"
    print(f"parents' re-reads unchanged: {unchanged} of {every} ({share})", flush=True)


class Parent(FastHttpUser):
    weight = 70
    wait_time = THINK

    def on_start(self) -> None:
        me = next(_parents)
        self.cases: list[str] = list(me["cases"])
        jar: CookieJar = self.client.cookiejar
        jar.set_cookie(
            create_cookie("sessionid", me["session"], domain=urlsplit(self.host).hostname or "")
        )
        self.etags: dict[str, str] = {}

    def read(self, url: str, name: str) -> None:
        with self.client.get(url, name=name, catch_response=True) as r:
            if r.status_code == 200 and "/accounts/login/" in (r.url or ""):
                r.failure("not signed in")
                return
            etag = (r.headers or {}).get("ETag", "") or ""
        if url in self.etags:
            REREADS["all"] += 1
            REREADS["unchanged"] += bool(etag) and etag == self.etags[url]
        self.etags[url] = etag

    @task(2)
    def my_cases(self) -> None:
        self.read("/my/cases/", name="parent: /my/cases/")

    @task(4)
    def case_page(self) -> None:
        number = random.choice(self.cases)
        self.read(f"/my/cases/{number}/", name="parent: /my/cases/<number>/")

    @task(2)
    def messages(self) -> None:
        self.read("/my/messages/", name="parent: /my/messages/")


class Officer(FastHttpUser):
    weight = 15
    wait_time = THINK

    def on_start(self) -> None:
        me = next(_officers)
        self.tasks_seen: list[str] = []
        page = self.client.get("/accounts/login/", name="officer: GET /accounts/login/")
        found = CSRF_INPUT.search(page.text or "")
        self.client.post(
            "/accounts/login/",
            data={
                "username": me["username"],
                "password": me["password"],
                "csrfmiddlewaretoken": found.group(1) if found else "",
            },
            name="officer: POST /accounts/login/ (password check)",
        )

    @task(1)
    def queue(self) -> None:
        with self.client.get("/work/", name="officer: /work/ (queue)", catch_response=True) as r:
            if r.status_code == 200 and "/accounts/login/" in r.url:
                r.failure("not signed in")
                return
            self.tasks_seen = TASK_LINK.findall(r.text or "")

    @task(1)
    def task_page(self) -> None:
        if not self.tasks_seen:
            self.queue()
            return
        self.client.get(random.choice(self.tasks_seen), name="officer: /work/tasks/<id>/")


class Public(FastHttpUser):
    weight = 10
    wait_time = THINK

    def on_start(self) -> None:
        n = next(_addresses)
        self.address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"

    @task
    def verify(self) -> None:
        serial = random.choice(PLAN["serials"]) if PLAN["serials"] else "none"
        self.client.get(
            f"/verify/{serial}/",
            headers={"X-Forwarded-For": self.address},
            name="public: /verify/<serial>/",
        )


class DepartmentSystem(FastHttpUser):
    weight = 5
    wait_time = THINK

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {next(_tokens)}"}

    @task
    def poll(self) -> None:
        self.client.get("/api/v1/tasks", headers=self.headers, name="api: GET /api/v1/tasks")
