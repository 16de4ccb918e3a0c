"""A task's detail, the answer of ``GET /api/v1/tasks/{id}`` and of a claim, written
without ninja's pydantic round trip (`api.task_detail_response`, issue 10, session 28):
the same bytes as ninja's validation and dump of `TaskDetailOut` for every kind of task of
every region's example case — ready, claimed, done with its result and licence, waiting
on prior e-licences, a payment task's notice, a card task's card, a twin's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from onestop.core.clock import to_beijing
from onestop.core.errors import OnestopError
from onestop.integration import api as api_module
from onestop.integration.schemas import TaskDetailOut
from onestop.integration.tests.support import Api, accepted, issue
from onestop.reference.models import InsurancePremium
from onestop.reference.services import reference_seed
from onestop.testing.factories import SAMPLE_RESULTS as RESULTS
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.services import item_complete

pytestmark = pytest.mark.django_db

EXAMPLES = (
    "qinbei-accept",
    "yuanling-accept-trustee",
    "lanzhou-accept",
    "jilin-accept-counter",
    "fuzhou-accept",
)


def _slow(request: HttpRequest, detail: dict[str, Any]) -> bytes:
    """The bytes ninja wrote for the detail: `TaskDetailOut`'s validation and dump, its
    renderer."""
    dumped = TaskDetailOut.model_validate(detail).model_dump()
    return str(api_module.api.renderer.render(request, dumped, response_status=200)).encode()


def test_the_detail_is_the_bytes_ninja_wrote(example, media_root, monkeypatch):
    reference_seed()
    year = to_beijing(timezone.now()).year
    for region in ("qinbei", "yuanling", "lanzhou", "jilin", "fuzhou"):
        for y in (year, year + 1):
            InsurancePremium.objects.create(
                region=region, year=y, amount_yuan=Decimal("400"), source="测试用缴费标准"
            )
    compared: list[dict[str, Any]] = []
    fast = api_module.task_detail_response

    def both(request: HttpRequest, detail: dict[str, Any]) -> HttpResponse:
        answer = fast(request, detail)
        assert answer.content == _slow(request, detail)
        compared.append(detail)
        return answer

    monkeypatch.setattr(api_module, "task_detail_response", both)
    for name in EXAMPLES:
        case = accepted(example(name))
        seen: set[int] = set()
        while True:
            row = (
                CaseItem.objects.filter(case=case, state=ItemState.READY)
                .exclude(pk__in=seen)
                .order_by("pk")
                .first()
            )
            if row is None:
                break
            seen.add(row.pk)
            api = Api(issue(row.department, row.jurisdiction_kind, row.jurisdiction_code).token)
            path = f"/tasks/{row.pk}"
            read = api.get(path)
            assert read.status_code == 200, read.json()
            # and the same bytes as ninja's own validation and rendering of the detail
            with monkeypatch.context() as patched:
                patched.setattr(api_module, "task_detail_response", lambda request, d: d)
                assert api.get(path).content == read.content, path
            claimed = api.post(f"{path}/claim", {"expected_version": row.version})
            assert claimed.status_code == 200, claimed.json()
            assert claimed.json()["claimed_by_me"] is True
            try:
                item_complete(item_id=row.pk, actor=None, result=RESULTS.get(row.item, {}))
            except OnestopError:
                continue  # (a payment or card task: left claimed)
            done = api.get(path)
            assert done.status_code == 200
            with monkeypatch.context() as patched:
                patched.setattr(api_module, "task_detail_response", lambda request, d: d)
                assert api.get(path).content == done.content, path
    # the kinds of detail the comparison covered
    assert any(d["prior_elicences"] for d in compared)
    assert any(d["payment"] is not None for d in compared)
    assert any(d["card"] is not None for d in compared)
    assert any(d["result"] for d in compared)
    assert any(d["claimed_by_me"] for d in compared)
