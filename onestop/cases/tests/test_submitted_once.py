"""A submission checks the document's limits once, strips its unknown fields once and
digests it once, on the path the API and the web forms both take (`case_submit`; session
23, h-tidyapi: the limits were walked and the unknown fields stripped twice, the API's
digest taken twice). Driven through the API with the database checked; the counts would
rise again were a second walk brought back."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from onestop.cases import services
from onestop.cases.domain import document as document_module
from onestop.cases.models import Case
from onestop.cases.services import body_digest, case_submit
from onestop.integration import api as api_module
from onestop.integration.tests.support import Api, current, hospital

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(monkeypatch) -> Counter[str]:
    """How often each step ran, wherever it is called from."""
    seen: Counter[str] = Counter()

    def counted(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            seen[name] += 1
            return function(*args, **kwargs)

        return wrapper

    for module, attribute, name in (
        (services, "check_document", "limits"),
        (document_module, "check_document", "limits"),
        (services, "without_unknown_fields", "strip"),
        (document_module, "without_unknown_fields", "strip"),
        (services, "body_digest", "digest"),
        (api_module, "body_digest", "digest"),
    ):
        monkeypatch.setattr(module, attribute, counted(name, getattr(module, attribute)))
    return seen


def _with_unknown_fields(document: dict[str, Any]) -> dict[str, Any]:
    document["favourite_colour"] = "blue"
    document["newborns"][0]["toy"] = {"kind": "bear"}
    return document


def test_an_api_submission_does_each_step_once(example, media_root, calls):
    document = _with_unknown_fields(current(example("qinbei-accept")))
    sent = body_digest(document)
    calls.clear()
    response = Api(hospital().token).post("/cases", document, key="once")
    assert response.status_code == 201, response.content
    assert calls == {"limits": 1, "strip": 1, "digest": 1}
    warnings = {(w["code"], w["detail"]) for w in response.json()["decision"]["warnings"]}
    assert warnings == {("unknown_field", "favourite_colour"), ("unknown_field", "newborns[0].toy")}
    case = Case.objects.get()
    assert "favourite_colour" not in case.document and "toy" not in case.document["newborns"][0]
    # The hospital filled in as the filer's (filer_admit), the rest as sent.
    assert case.document["newborns"][0]["hospital"] == "qinbei-mch"
    assert case.document["mother"] == document["mother"]
    assert case.body_digest == sent  # of the body as sent, the key's digest too


def test_a_form_submission_does_each_step_once(example, media_root, calls):
    document = _with_unknown_fields(current(example("qinbei-accept")))
    calls.clear()
    case = case_submit(document=document, actor=None).case
    assert calls == {"limits": 1, "strip": 1, "digest": 1}
    assert "favourite_colour" not in case.document and "toy" not in case.document["newborns"][0]
    assert Case.objects.get().body_digest == body_digest(document)


def test_what_the_hospital_filer_fills_in_is_checked_again(example, media_root, calls):
    """The limits hold for what is stored: a newborn sent with the most fields it may
    have and no birth hospital is refused once the hospital filer's code would make it
    one field too many (session 23 review: checked only on the body as sent, it was
    taken)."""
    from onestop.cases.domain.limits import MAX_KEYS

    document = current(example("qinbei-accept"))
    baby = document["newborns"][0]
    baby.pop("hospital", None)
    for n in range(MAX_KEYS - len(baby)):
        baby[f"x{n}"] = "1"
    assert len(baby) == MAX_KEYS
    calls.clear()
    response = Api(hospital().token).post("/cases", document, key="full")
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "too_many_fields"
    assert not Case.objects.exists()
