"""The online form says each field's limit and refuses unstorable text where it is typed
(issue 8, defect 8; ADR 0016), so a parent never meets a refused document at the end."""

from __future__ import annotations

import pytest

from onestop.cases.models import Case
from onestop.portal.models import Draft
from onestop.portal.tests.support import PARENTS, freeze, mother_client, post, step

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("father_name", "覃" * 51, "不超过 50"),
        ("father_name", "覃" * (100 * 1024), "不超过 50"),
    ],
)
def test_overlong_or_unstorable_text_is_refused_at_the_field(
    monkeypatch, media_root, field, value, message
):
    freeze(monkeypatch)
    client = mother_client()
    client.get("/my/apply/qinbei/")
    response = post(
        client,
        step("qinbei", "parents"),
        {**PARENTS, field: value, "action": "next"},
        expect=200,
    )
    page = response.content.decode()
    assert message in page, page[-2000:]
    draft = Draft.objects.get()
    assert value not in str(draft.document)
    assert Case.objects.count() == 0


@pytest.mark.parametrize("value", ["覃\x1b军", "覃\x00军"])
def test_control_characters_are_refused_before_the_form(monkeypatch, media_root, value):
    """Control characters never reach a form: the request guard (ADR 0018) answers 400 with
    a Chinese page, and nothing of the request is stored."""
    freeze(monkeypatch)
    client = mother_client()
    client.get("/my/apply/qinbei/")
    response = client.post(step("qinbei", "parents"), {**PARENTS, "father_name": value})
    assert response.status_code == 400
    assert "无法识别的字符" in response.content.decode()
    assert not any(value in str(draft.document) for draft in Draft.objects.all())
    assert Case.objects.count() == 0
