"""The submission's answer (``POST /api/v1/cases``) written without ninja's pydantic round
trip (`api.json_answer`, issue 10, session 30): the same status, headers and bytes as
ninja's validation and dump of `SubmissionOut`, for the regions' examples accepted,
refused and sent back for supplements, the first time (201) and replayed (200)."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse

from onestop.integration import api as api_module
from onestop.integration.schemas import SubmissionOut
from onestop.integration.tests.support import Api, current, hospital
from onestop.testing.newborns import another_newborn

pytestmark = pytest.mark.django_db

EXAMPLES = (
    "qinbei-accept",
    "qinbei-reject-hk-father-late-applicant",
    "qinbei-supplement-missing-materials",
    "yuanling-accept-trustee",
    "lanzhou-accept",
    "lanzhou-reject-registration-after-one-month",
    "fuzhou-accept",
)


def test_the_submission_s_answer_is_the_bytes_ninja_wrote(example, media_root, monkeypatch):
    fast = api_module.json_answer
    compared: list[tuple[int, dict[str, Any]]] = []

    def both(request: HttpRequest, body: dict[str, Any], status: int = 200) -> HttpResponse:
        answer = fast(request, body, status)
        if "created" in body:  # the submission's (other answers are compared elsewhere)
            dumped = SubmissionOut.model_validate(body).model_dump()
            slow = api_module.api.renderer.render(request, dumped, response_status=status)
            assert answer.content == str(slow).encode()
            compared.append((status, body))
        return answer

    monkeypatch.setattr(api_module, "json_answer", both)
    for n, name in enumerate(EXAMPLES):
        document = another_newborn(current(example(name)), n)
        api = Api(hospital(document["newborns"][0]["hospital"]).token)
        first = api.post("/cases", document, key=f"k-{name}")
        assert first.status_code == 201, (name, first.content)
        assert first["Content-Type"] == "application/json; charset=utf-8"
        assert "Idempotent-Replayed" not in first
        assert first.json()["created"] is True
        again = api.post("/cases", document, key=f"k-{name}")
        assert again.status_code == 200
        assert again["Idempotent-Replayed"] == "true"
        assert again.json() == {**first.json(), "created": False}
    assert len(compared) == 2 * len(EXAMPLES)
    statuses = {body["status"] for _, body in compared}
    assert len(statuses) >= 3, statuses  # accepted, refused, sent back
    assert any(body["decision"]["reasons"] for _, body in compared)
    assert any(item["task_id"] for _, body in compared for item in body["items"])
