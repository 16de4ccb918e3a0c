"""One simulated department system: its webhook receiver plus a worker that takes tasks
(from webhooks, and by polling as a fallback), claims them, waits the configured delay and
completes them with valid result data — or refuses some, at the configured rate.

Every write carries an Idempotency-Key and the version it saw, so a retry after a lost
answer repeats nothing and two systems never both win a task.
"""

from __future__ import annotations

import hashlib
import json
import queue
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TextIO

from onestop.core.batches import TASK_BATCH_MAX
from onestop.core.clock import parse_time, to_beijing
from onestop.reference.idnumber import make_resident_id
from onestop.simulate.credentials import Credential
from onestop.simulate.receiver import Inbox, WebhookReceiver
from onestop.simulate.session import Answer, ApiSession, Unreachable

# A batch the platform refuses as too large (e.g. over the client's rate window): the
# tasks are then worked one by one.
BATCH_TOO_LARGE = "batch_too_large"


@dataclass(frozen=True)
class Behaviour:
    delay: float = 0.0  # seconds between claiming and completing a task
    refusal_rate: float = 0.0  # 0..1
    outages: tuple[tuple[float, float], ...] = ()  # (start, end) seconds after start
    poll: float = 2.0  # seconds between polls of the task list (no webhooks)
    # With a webhook receiver, tasks come by webhook (task.created): the task list is polled
    # only as a safety net (issue 10: a good client does not poll every 2 s) — at the
    # start, after an outage, and then every ``safety_poll`` seconds.
    safety_poll: float = 30.0
    idle_exit: float | None = None  # --once: stop after this long without work
    seed: int | None = None
    # Tasks worked at the same time, each on its own connection: a department has many
    # clerks, and its system does not wait for one task's answers before taking the next
    # (issue 10: one at a time capped a department at 1 / (claim + complete) tasks a
    # second, below what the platform served).
    concurrency: int = 1
    # Several tasks in hand (a webhook batch, a list poll) claimed in one request and
    # completed in one (issue 10, session 26); False: each task by its own requests.
    batches: bool = True


@dataclass
class Counters:
    completed: int = 0
    refused: int = 0
    conflicts: int = 0
    errors: int = 0
    webhooks: int = 0
    replays: int = 0  # a finish the platform had already recorded (answered from store)
    finished: set[int] = field(default_factory=set)  # task ids this system finished


def parse_outages(text: str) -> tuple[tuple[float, float], ...]:
    """``"10-20,60-90"`` → ((10, 20), (60, 90)) seconds after the start."""
    windows = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        start, sep, end = part.partition("-")
        if not sep:
            raise ValueError(f"outage window {part!r}: use START-END in seconds")
        a, b = float(start), float(end)
        if b <= a or a < 0:
            raise ValueError(f"outage window {part!r}: END must be after START")
        windows.append((a, b))
    return tuple(windows)


def citizen_id(data: Any, task_id: int) -> str | None:
    """A made-up citizen ID number for the task's first newborn that a real police system
    could have issued: the registering parent's hukou division, the newborn's birth date
    and sex, and a valid GB 11643 check digit (issue 8, defect 6). None without a birth
    date."""
    if not isinstance(data, dict):
        return None
    newborns = data.get("newborns")
    baby = newborns[0] if isinstance(newborns, list) and newborns else None
    if not isinstance(baby, dict) or not isinstance(baby.get("born_at"), str):
        return None
    try:
        born = to_beijing(parse_time(baby["born_at"])).date()
    except (ValueError, OverflowError):
        return None
    registration = data.get("birth_registration")
    follows = registration.get("follows") if isinstance(registration, dict) else None
    division = "110101"
    for side in (follows, "mother", "father"):
        parent = data.get(side) if isinstance(side, str) else None
        code = parent.get("hukou_division") if isinstance(parent, dict) else None
        if isinstance(code, str) and re.fullmatch(r"[0-9]{6}", code):
            division = code
            break
    sex = baby.get("sex") if baby.get("sex") in ("1", "2") else "1"
    try:
        return make_resident_id(division, born, task_id % 500, str(sex))
    except ValueError:
        return make_resident_id("110101", born, task_id % 500, str(sex))


def result_value(spec: dict[str, Any], task_id: int, data: Any = None) -> str | None:
    """A value for one result field that satisfies its pattern, unique per task where the
    field is a number or reference."""
    if spec.get("kind") == "id_number":
        return citizen_id(data, task_id)
    if spec.get("kind") == "datetime":  # a time the platform takes as "now" when left out
        return None
    example = str(spec.get("example") or "")
    pattern = spec.get("pattern")
    name = str(spec.get("name", ""))
    if not example:
        return "模拟系统已安排" if spec.get("required") else None
    if pattern and "amount" not in name:
        match = re.search(r"\d+(?!.*\d)", example)
        if match:
            width = len(match.group())
            digits = str(task_id).rjust(width, "0")[-width:]
            candidate = example[: match.start()] + digits + example[match.end() :]
            if re.fullmatch(str(pattern), candidate):
                return candidate
    return example


def build_result(
    fields: Sequence[dict[str, Any]], task_id: int, data: Any = None
) -> dict[str, str]:
    """Valid result data for a task from its ``result_fields`` (and its case ``data``)."""
    out = {}
    for spec in fields:
        value = result_value(spec, task_id, data)
        if value is not None:
            out[str(spec["name"])] = value
    return out


def _result_of(task: dict[str, Any]) -> dict[str, str]:
    """The result a task held is completed with: built from its result fields and case
    data, and a payment task's amount the notice's."""
    result = build_result(task.get("result_fields", []), int(task["id"]), task.get("data"))
    due = task.get("payment")
    if isinstance(due, dict) and due.get("amount_yuan"):
        result["amount_yuan"] = str(due["amount_yuan"])  # the notice's amount
    return result


def _batch_key(kind: str, body: dict[str, Any]) -> str:
    """A batch request's Idempotency-Key: of its body, so that sending the same batch again
    (a retry) repeats nothing, as a single action's ``{id}-claim`` key does."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:40]}"


class DepartmentSystem:
    def __init__(
        self,
        *,
        department: str,
        base_url: str,
        credentials: Sequence[Credential],
        behaviour: Behaviour,
        hook_port: int | None = None,
        out: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.department = department
        self.credentials = list(credentials)
        self.sessions = {c.key_id: ApiSession(base_url, c.token) for c in credentials}
        self.behaviour = behaviour
        self.clock = clock
        self.started = clock()
        self.random = random.Random(behaviour.seed)
        self.counters = Counters()
        self.out = out
        self.inbox = Inbox(
            {c.key_id: c.webhook_secret for c in credentials if c.webhook_secret},
            down=self.in_outage,
        )
        self.receiver = (
            WebhookReceiver(self.inbox, port=hook_port) if hook_port is not None else None
        )
        self.stopping = threading.Event()
        self._counting = threading.Lock()
        self._pool = (
            ThreadPoolExecutor(behaviour.concurrency, thread_name_prefix=f"sim-{department}")
            if behaviour.concurrency > 1
            else None
        )
        self._in_flight: set[Future[bool]] = set()
        # The task list is polled at the start, after an outage, and then only when no
        # webhook came for ``poll_every`` seconds (with a receiver: the safety poll).
        self.next_poll = 0.0
        self.poll_every = behaviour.poll

    # --- state --------------------------------------------------------------------------

    def in_outage(self) -> bool:
        elapsed = self.clock() - self.started
        return any(a <= elapsed < b for a, b in self.behaviour.outages)

    def log(self, text: str) -> None:
        if self.out is not None:
            self.out.write(f"[{self.department}] {text}\n")
            self.out.flush()

    def stop(self) -> None:
        self.stopping.set()

    def close(self) -> None:
        """Let go of what the system holds: its pool's threads (the tasks in hand are
        finished, not dropped) and every kept-alive connection to the platform."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        for session in self.sessions.values():
            session.close_all()

    def _add(self, counter: str) -> None:
        with self._counting:
            setattr(self.counters, counter, getattr(self.counters, counter) + 1)

    def _busy(self) -> bool:
        """Tasks still being worked by the pool's threads."""
        self._in_flight = {f for f in self._in_flight if not f.done()}
        return bool(self._in_flight)

    # --- the loop -------------------------------------------------------------------------

    def run(self) -> Counters:
        if self.receiver is not None:
            self.receiver.start()
            self.log(f"webhooks at {self.receiver.url}")
        last_work = self.clock()
        self.next_poll = 0.0
        self.poll_every = self.behaviour.poll
        if self.receiver is not None:
            self.poll_every = max(self.behaviour.poll, self.behaviour.safety_poll)
        try:
            while not self.stopping.is_set():
                if self.in_outage():
                    self.stopping.wait(0.2)
                    last_work = self.clock()
                    self.next_poll = 0.0  # catch up at once when it ends
                    continue
                took = self._drain_webhooks()
                if self.clock() >= self.next_poll:
                    took = self._poll() or took
                    self.next_poll = self.clock() + self.poll_every
                if took or self._busy():  # tasks in the pool's hands are work too
                    last_work = self.clock()
                elif (
                    self.behaviour.idle_exit is not None
                    and self.clock() - last_work >= self.behaviour.idle_exit
                ):
                    break
                if not took:  # nothing new: wait for the next webhook (not a busy loop)
                    self._wait_for_webhook(min(self.behaviour.poll, 0.5))
        finally:
            self.close()
            if self.receiver is not None:
                self.receiver.stop()
        c = self.counters
        self.log(
            f"stopped: {c.completed} completed, {c.refused} refused, {c.conflicts} conflicts, "
            f"{c.errors} errors, {c.webhooks} webhooks, {c.replays} repeats"
        )
        return self.counters

    def _wait_for_webhook(self, seconds: float) -> None:
        """Until a webhook POST's events are in the inbox (or ``seconds``); the loop takes
        them next (cleared first, so a POST that comes meanwhile wakes the next wait)."""
        if self.inbox.arrived.wait(seconds):
            self.inbox.arrived.clear()

    def _drain_webhooks(self) -> bool:
        created: list[tuple[dict[str, Any], dict[str, Any]]] = []
        while True:
            try:
                event = self.inbox.events.get_nowait()
            except queue.Empty:
                break
            self._add("webhooks")
            # Webhooks arrive: the task list is a fallback, not needed while they come.
            self.next_poll = max(self.next_poll, self.clock() + self.poll_every)
            task = event.get("task")
            if (
                event.get("event") == "task.created"
                and isinstance(task, dict)
                and isinstance(task.get("id"), int)
            ):
                created.append((event, task))
        worked = False
        # Several new tasks in hand (a receiver's batch, ADR 0028) for the same sessions:
        # claimed in one request and completed in one (issue 10, session 26). One task,
        # a task without the claim's version, or a delay between claim and completion:
        # one task at a time, as before.
        groups: dict[tuple[int, ...], list[tuple[int, int, str]]] = {}
        sessions_of: dict[tuple[int, ...], list[ApiSession]] = {}
        single: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for event, task in created:
            if (
                self.behaviour.delay > 0
                or not self.behaviour.batches
                or task.get("state") != "ready"
                or not isinstance(task.get("version"), int)
            ):
                single.append((event, task))
                continue
            sessions = self._sessions_for(task.get("jurisdiction"))
            group = tuple(id(s) for s in sessions)
            sessions_of[group] = sessions
            label = f"{event.get('case_number')} {task.get('item')}"
            groups.setdefault(group, []).append((int(task["id"]), int(task["version"]), label))
        for group, held in groups.items():
            if len(held) == 1:
                task_id, version, label = held[0]
                self._run(self._take, task_id, version, label, sessions_of[group])
                worked = True
                continue
            for start in range(0, len(held), TASK_BATCH_MAX):
                self._run(self._take_many, held[start : start + TASK_BATCH_MAX], sessions_of[group])
                worked = True
        for event, task in single:
            worked = self._run(self._on_created, event, task) or worked
        return worked

    def _run(self, work: Callable[..., bool], *args: Any) -> bool:
        """``work`` now, or by the pool's threads where the system has them (True then)."""
        if self._pool is None:
            return work(*args)
        self._in_flight.add(self._pool.submit(work, *args))
        return True

    def _on_created(self, event: dict[str, Any], task: dict[str, Any]) -> bool:
        sessions = self._sessions_for(task.get("jurisdiction"))
        if task.get("state") == "ready" and isinstance(task.get("version"), int):
            # The event carries what a claim needs: no list, no read first.
            label = f"{event.get('case_number')} {task.get('item')}"
            return self._take(int(task["id"]), int(task["version"]), label, sessions)
        return self._work(int(task["id"]), sessions)

    def _sessions_for(self, where: object) -> list[ApiSession]:
        """This system's sessions, the one whose jurisdiction holds the task first."""
        kind = code = ""
        if isinstance(where, dict):
            kind, code = str(where.get("kind", "")), str(where.get("code", ""))

        def fits(c: Credential) -> bool:
            if c.jurisdiction_kind == "division" and kind == "division":
                return code.startswith(c.jurisdiction_code)
            return (c.jurisdiction_kind, c.jurisdiction_code) == (kind, code)

        matching = [c.key_id for c in self.credentials if fits(c)]
        if matching:
            return [self.sessions[k] for k in matching]
        return list(self.sessions.values())

    def _poll(self) -> bool:
        worked = False
        for session in self.sessions.values():
            try:
                answer = session.get("/tasks?state=open&limit=100")
            except Unreachable as exc:
                self.log(f"platform unreachable: {exc}")
                return False
            if not answer.ok or not isinstance(answer.body, dict):
                self._add("errors")
                continue
            tasks = answer.body.get("tasks", [])
            ready = [
                (int(t["id"]), int(t["version"]), self._label(t))
                for t in tasks
                if t.get("state") == "ready" and isinstance(t.get("version"), int)
            ]
            if len(ready) > 1 and self.behaviour.delay <= 0 and self.behaviour.batches:
                # Several ready tasks in hand: claimed in one request, completed in one.
                for start in range(0, len(ready), TASK_BATCH_MAX):
                    worked = (
                        self._take_many(ready[start : start + TASK_BATCH_MAX], [session]) or worked
                    )
                ready_ids = {task_id for task_id, _, _ in ready}
                tasks = [t for t in tasks if t.get("id") not in ready_ids]
            for task in tasks:
                if task.get("state") == "ready" or (
                    task.get("state") == "in_progress" and task.get("claimed_by_me")
                ):
                    worked = self._work(int(task["id"]), [session]) or worked
        return worked

    @staticmethod
    def _label(task: dict[str, Any]) -> str:
        label = f"{task.get('case_number')} {task.get('item')}"
        if task.get("newborn"):  # twins: which baby (ADR 0036)
            label += f"（{task['newborn']}）"
        return label

    # --- one task -------------------------------------------------------------------------

    def _work(self, task_id: int, sessions: Sequence[ApiSession]) -> bool:
        """Claim and complete (or refuse) one task. True if it was ours to act on."""
        for candidate in sessions:
            try:
                detail = candidate.get(f"/tasks/{task_id}")
            except Unreachable:
                return False
            if detail.status == 404:
                continue
            if not detail.ok or not isinstance(detail.body, dict):
                self._add("errors")
                return False
            return self._act(candidate, detail.body)
        return False

    def _act(self, session: ApiSession, task: dict[str, Any]) -> bool:
        task_id = int(task["id"])
        state = task.get("state")
        label = self._label(task)
        if state not in ("ready", "in_progress") or (
            state == "in_progress" and not task.get("claimed_by_me")
        ):
            return False
        try:
            if self.random.random() < self.behaviour.refusal_rate:
                answer = session.post(
                    f"/tasks/{task_id}/refuse",
                    {
                        "reasons": ["模拟部门系统：材料不符合要求，请到原渠道办理"],
                        "expected_version": task["version"],
                    },
                    key=f"{task_id}-refuse",
                )
                return self._outcome(task_id, answer, "refused", label)
            version = int(task["version"])
            if state == "ready":
                answer = session.post(
                    f"/tasks/{task_id}/claim",
                    {"expected_version": version},
                    key=f"{task_id}-claim",
                )
                if not answer.ok:
                    return self._outcome(task_id, answer, "claimed", label)
                version = int(answer.body["version"])
            return self._complete(session, task, version, label)
        except Unreachable as exc:
            self.log(f"platform unreachable: {exc}")
            return False

    def _take(
        self,
        task_id: int,
        version: int,
        label: str,
        sessions: Sequence[ApiSession],
        refuse: bool | None = None,
    ) -> bool:
        """Act on a ``task.created`` webhook: claim (or refuse) with the version the event
        carries; the claim's answer carries the task as ``GET /tasks/{id}`` shows it, so
        the task is read only from a platform whose claim answer lacks it. A task another
        session's jurisdiction holds answers 404: the next session tries."""
        if task_id in self.counters.finished:  # the poll got there before this webhook
            self._add("replays")
            return False
        if refuse is None:
            refuse = self.random.random() < self.behaviour.refusal_rate
        for session in sessions:
            try:
                if refuse:
                    answer = session.post(
                        f"/tasks/{task_id}/refuse",
                        {
                            "reasons": ["模拟部门系统：材料不符合要求，请到原渠道办理"],
                            "expected_version": version,
                        },
                        key=f"{task_id}-refuse",
                    )
                    if answer.status == 404:
                        continue
                    return self._outcome(task_id, answer, "refused", label)
                answer = session.post(
                    f"/tasks/{task_id}/claim", {"expected_version": version}, key=f"{task_id}-claim"
                )
                if answer.status == 404:
                    continue
                if not answer.ok or not isinstance(answer.body, dict):
                    return self._outcome(task_id, answer, "claimed", label)
                task = answer.body
                if "result_fields" not in task:  # a platform whose claim answers a summary
                    detail = session.get(f"/tasks/{task_id}")
                    if not detail.ok or not isinstance(detail.body, dict):
                        self._add("errors")
                        return False
                    task = {**detail.body, "version": answer.body["version"]}
                return self._complete(session, task, int(task["version"]), label)
            except Unreachable as exc:
                self.log(f"platform unreachable: {exc}")
                return False
        return False

    def _take_many(
        self, held: Sequence[tuple[int, int, str]], sessions: Sequence[ApiSession]
    ) -> bool:
        """Several tasks in hand, each with the version to claim (``(id, version,
        label)``): the ones to refuse refused one by one, the others claimed in one request
        (`POST /tasks/claims`) and the claimed ones completed in one (`POST
        /tasks/completions`). A task another session's jurisdiction holds answers 404:
        the next sessions try it alone (`_take`)."""
        worked = False
        claim: list[tuple[int, int, str]] = []
        for task_id, version, label in held:
            if task_id in self.counters.finished:  # the poll got there before this webhook
                self._add("replays")
            elif self.random.random() < self.behaviour.refusal_rate:
                worked = self._take(task_id, version, label, sessions, refuse=True) or worked
            else:
                claim.append((task_id, version, label))
        if len(claim) <= 1:
            for task_id, version, label in claim:
                worked = self._take(task_id, version, label, sessions, refuse=False) or worked
            return worked
        session, others = sessions[0], sessions[1:]
        body = {"tasks": [{"id": task_id, "expected_version": v} for task_id, v, _ in claim]}
        try:
            answer = session.post("/tasks/claims", body, key=_batch_key("claims", body))
        except Unreachable as exc:
            self.log(f"platform unreachable: {exc}")
            return worked
        if answer.status == 422 and answer.code == BATCH_TOO_LARGE:  # over the rate window
            for task_id, version, label in claim:
                worked = self._take(task_id, version, label, sessions, refuse=False) or worked
            return worked
        results = answer.body.get("results") if isinstance(answer.body, dict) else None
        if not answer.ok or not isinstance(results, list) or len(results) != len(claim):
            self._add("errors")
            self.log(f"{len(claim)} tasks: claims failed: HTTP {answer.status} {answer.code}")
            return worked
        claimed: list[tuple[dict[str, Any], str]] = []
        for (task_id, version, label), result in zip(claim, results, strict=True):
            one = Answer(int(result.get("status", 0)), result.get("body"), answer.replayed)
            if one.status == 404 and others:
                worked = self._take(task_id, version, label, others, refuse=False) or worked
            elif one.ok and isinstance(one.body, dict) and "result_fields" in one.body:
                claimed.append((one.body, label))
            else:
                worked = self._outcome(task_id, one, "claimed", label) or worked
        return self._complete_many(session, claimed) or worked

    def _complete_many(
        self, session: ApiSession, held: Sequence[tuple[dict[str, Any], str]]
    ) -> bool:
        """Complete the tasks this system holds (``(task, label)``, each as its claim
        answered it) in one request; one task alone by its own."""
        if len(held) <= 1:
            return any(
                [self._complete(session, task, int(task["version"]), label) for task, label in held]
            )
        body = {
            "tasks": [
                {
                    "id": int(task["id"]),
                    "result": _result_of(task),
                    "expected_version": int(task["version"]),
                }
                for task, _ in held
            ]
        }
        try:
            answer = session.post("/tasks/completions", body, key=_batch_key("completions", body))
        except Unreachable as exc:
            self.log(f"platform unreachable: {exc}")
            return False
        if answer.status == 422 and answer.code == BATCH_TOO_LARGE:  # over the rate window
            return any(
                [self._complete(session, task, int(task["version"]), label) for task, label in held]
            )
        results = answer.body.get("results") if isinstance(answer.body, dict) else None
        if not answer.ok or not isinstance(results, list) or len(results) != len(held):
            self._add("errors")
            self.log(f"{len(held)} tasks: completions failed: HTTP {answer.status} {answer.code}")
            return False
        worked = False
        for (task, label), result in zip(held, results, strict=True):
            one = Answer(int(result.get("status", 0)), result.get("body"), answer.replayed)
            worked = self._outcome(int(task["id"]), one, "completed", label) or worked
        return worked

    def _complete(
        self, session: ApiSession, task: dict[str, Any], version: int, label: str
    ) -> bool:
        """Complete a task this system holds, with result data built from its fields."""
        task_id = int(task["id"])
        try:
            if self.behaviour.delay > 0:
                self.stopping.wait(self.behaviour.delay)
            answer = session.post(
                f"/tasks/{task_id}/complete",
                {"result": _result_of(task), "expected_version": version},
                key=f"{task_id}-complete",
            )
            return self._outcome(task_id, answer, "completed", label)
        except Unreachable as exc:
            self.log(f"platform unreachable: {exc}")
            return False

    def _outcome(self, task_id: int, answer: Answer, done: str, label: str) -> bool:
        if answer.ok:
            if done in ("completed", "refused"):
                with self._counting:
                    repeat = answer.replayed or task_id in self.counters.finished
                    self.counters.finished.add(task_id)
                if repeat:
                    # The poll and a late webhook both reached this task: the platform
                    # answered the repeated key from store, nothing happened twice.
                    self._add("replays")
                    return False
                self._add("completed" if done == "completed" else "refused")
                self.log(f"{label}: {done}")
            return True
        if answer.status in (404, 409):
            self._add("conflicts")
            return False
        self._add("errors")
        self.log(f"{label}: {done} failed: HTTP {answer.status} {answer.code}")
        return False
