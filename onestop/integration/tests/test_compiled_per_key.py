"""The task actions' reads compiled once per client scope (`onestop.common.compiled.CompiledPerKey`,
issue 10 part 2): the access check, a task's read and the idempotency record give what
their querysets give, a changed scope is never answered with another scope's statement,
one client's key never finds another client's answer, and no scope finds nothing."""

from __future__ import annotations

import pytest

from onestop.cases.services import case_locked
from onestop.common.compiled import CompiledPerKey
from onestop.integration.idempotency import Answer, _stored, idempotent
from onestop.integration.models import ApiClient
from onestop.integration.selectors import (
    _task_ids,
    _with_multiple,
    task_case_locked,
    task_for_client,
    tasks_of_client,
)
from onestop.integration.services import api_client_authenticate
from onestop.integration.tests.support import Api, current, hospital
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db


def _fields(obj: object) -> dict[str, object]:
    return {k: v for k, v in vars(obj).items() if not k.startswith("_")}


def _task(example) -> tuple[ApiClient, str, int]:
    issued = hospital()
    submitted = Api(issued.token).post("/cases", current(example("qinbei-accept")), key="k1")
    assert submitted.status_code == 201, submitted.content[:300]
    task = next(i for i in submitted.json()["items"] if i["task_id"] is not None)
    client = api_client_authenticate(issued.token)
    assert client is not None
    return client, issued.token, task["task_id"]


def test_the_compiled_reads_are_the_querysets(example, media_root):
    client, _, task_id = _task(example)
    for _ in range(2):  # compiled, then reused
        locked = task_case_locked(client, task_id)
        expected = _task_ids(client).filter(pk=task_id).first()
        assert locked is not None and expected is not None
        assert locked.pk == expected.case_id
        assert _fields(locked) == _fields(case_locked(expected.case_id))  # as the lock reads
        read = task_for_client(client, task_id)
        slow = _with_multiple(tasks_of_client(client).filter(pk=task_id)).first()
        assert read is not None and slow is not None
        assert _fields(read) == _fields(slow)
        assert _fields(read.case) == _fields(slow.case)  # select_related, decrypted alike
    last = CaseItem.objects.order_by("-pk").values_list("pk", flat=True).first()
    assert last is not None
    missing = last + 1
    assert task_case_locked(client, missing) is None
    assert task_for_client(client, missing) is None


def test_a_changed_scope_is_not_answered_by_the_old_statement(example, media_root):
    client, token, task_id = _task(example)
    assert task_case_locked(client, task_id) is not None
    assert task_for_client(client, task_id) is not None
    user = client.user
    user.jurisdiction_code = "jilin-ch"  # another hospital: the task is no longer its own
    user.save(update_fields=["jurisdiction_code"])
    moved = api_client_authenticate(token)
    assert moved is not None and moved.user.jurisdiction_code == "jilin-ch"
    assert task_case_locked(moved, task_id) is None
    assert task_for_client(moved, task_id) is None
    assert Api(token).post(f"/tasks/{task_id}/claim").status_code == 404
    user.role = "parent"  # no scope at all: ``items_for_officer`` selects nothing
    user.save(update_fields=["role"])
    scopeless = api_client_authenticate(token)
    assert scopeless is not None and task_case_locked(scopeless, task_id) is None


def test_one_clients_key_never_finds_another_clients_answer(media_root):
    first, second = hospital().client, hospital().client
    act = lambda: Answer(200, {"who": "first"})  # noqa: E731
    assert idempotent(client=first, key="same-key", digest="d", act=act).replayed is False
    assert _stored(first, "same-key", "d") == Answer(200, {"who": "first"}, replayed=True)
    assert _stored(second, "same-key", "d") is None
    assert _stored(first, "another-key", "d") is None


def test_kept_per_key_and_the_least_recently_used_dropped(media_root):
    built: list[str] = []
    compiled: CompiledPerKey[ApiClient] = CompiledPerKey(ApiClient, "stand-in-key-id", size=2)
    made = {name: hospital(code).client for name, code in (("a", "qinbei-mch"), ("b", "jilin-ch"))}

    def build(name: str):
        def query():
            built.append(name)
            return lambda key_id: ApiClient.objects.filter(key_id=key_id, name=made[name].name)

        return query

    for name in ("a", "b", "a"):
        found = compiled.first(name, build(name), made[name].key_id)
        assert found is not None and found.pk == made[name].pk
    assert built == ["a", "b"]  # each key built once
    assert compiled.first("c", build("a"), made["a"].key_id) is not None  # drops "b"
    assert compiled.first("b", build("b"), made["b"].key_id) is not None
    assert built == ["a", "b", "a", "b"]
