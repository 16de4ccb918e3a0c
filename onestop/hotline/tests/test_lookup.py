"""The operators' case-status lookup (issue 12): only for a verified caller, every attempt
recorded, wrong answers locked out per operator and per case number (counters that survive
the refusal), the answer masked and limited to the operator's jurisdiction."""

from __future__ import annotations

import pytest
from django.test import Client

from onestop.accounts.models import JurisdictionKind, Role
from onestop.audit.models import AccessRecord
from onestop.cases.services import case_submit
from onestop.core.clock import parse_time
from onestop.hotline.models import LookupAttempt
from onestop.reference.services import reference_seed
from onestop.testing.factories import officer, staff

pytestmark = pytest.mark.django_db

MOTHER_ID = "450703199203150220"  # qinbei-accept: the applicant is the mother
PHONE = "13800000000"
SECRETS = (MOTHER_ID, PHONE, "黄丽", "覃沐阳")


@pytest.fixture
def case(example, media_root):
    reference_seed()
    return case_submit(
        document=example("qinbei-accept"), actor=None, now=parse_time("2026-11-20T09:30:00+08:00")
    ).case


def operator(code: str = "4507"):
    return staff(Role.OPERATOR, kind=JurisdictionKind.DIVISION, code=code)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ask(client: Client, number: str, answer: str, method: str = "phone4"):
    return client.post("/hotline/lookup/", {"number": number, "method": method, "answer": answer})


def test_a_caller_with_the_wrong_digits_is_refused_and_it_is_recorded(case):
    user = operator()
    response = ask(signed_in(user), case.number, "1234")
    assert response.status_code == 403
    text = response.content.decode()
    assert 'id="lookup-refused"' in text and 'id="lookup-answer"' not in text
    for secret in (*SECRETS, "黄*"):
        assert secret not in text
    attempt = LookupAttempt.objects.get()
    assert (attempt.operator, attempt.case_number, attempt.outcome) == (user, case.number, "wrong")
    record = AccessRecord.objects.get(actor=user)
    assert record.granted is False and record.case_number == case.number
    assert record.what == "hotline_lookup:phone4:wrong"


def test_a_verified_caller_is_answered_masked(case):
    user = operator()
    response = ask(signed_in(user), case.number.lower(), "0000")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'id="lookup-answer"' in text
    assert "黄*" in text and "450703********0220" in text and "138****0000" in text
    assert "覃**" in text
    for secret in SECRETS:
        assert secret not in text
    # Each item's state and the next step.
    assert "《出生医学证明》办理（首签）" in text and "待办理" in text
    assert "等待前置事项办结" in text
    record = AccessRecord.objects.get(actor=user)
    assert record.granted is True and record.what == "hotline_lookup:phone4:granted"
    assert LookupAttempt.objects.get().outcome == "granted"


def test_the_mothers_id_number_verifies_too(case):
    user = operator()
    client = signed_in(user)
    assert ask(client, case.number, MOTHER_ID, "mother_id").status_code == 200
    assert ask(client, case.number, "450703199001010174", "mother_id").status_code == 403
    assert list(LookupAttempt.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "granted",
        "wrong",
    ]


def test_outside_the_jurisdiction_is_the_same_refusal(case):
    user = operator("62")  # a Lanzhou operator, a Qinbei case
    response = ask(signed_in(user), case.number, "0000")
    assert response.status_code == 403
    assert "黄*" not in response.content.decode()
    assert AccessRecord.objects.get(actor=user).granted is False


def test_lockout_per_operator_survives_the_refusals(case, settings):
    settings.HOTLINE_LOOKUP_FAILURE_LIMIT = 3
    user = operator()
    client = signed_in(user)
    for _ in range(3):
        assert ask(client, case.number, "9999").status_code == 403
    # The right answer now is refused as well: locked.
    response = ask(client, case.number, "0000")
    assert response.status_code == 429
    assert 'data-outcome="locked"' in response.content.decode()
    assert "黄*" not in response.content.decode()
    rows = list(LookupAttempt.objects.filter(operator=user).values_list("outcome", flat=True))
    assert sorted(rows) == ["locked", "wrong", "wrong", "wrong"]
    assert AccessRecord.objects.filter(actor=user, granted=False).count() == 4
    assert not AccessRecord.objects.filter(actor=user, granted=True).exists()
    # Locked for any case number, not only the one guessed at.
    assert ask(client, "QB-OTHER-0001", "0000").status_code == 429


def test_lockout_per_case_number_holds_for_every_operator(case, settings):
    settings.HOTLINE_LOOKUP_FAILURE_LIMIT = 3
    for _ in range(3):
        ask(signed_in(operator()), case.number, "9999")  # three operators, one guess each
    other = operator()
    response = ask(signed_in(other), case.number, "0000")
    assert response.status_code == 429
    assert LookupAttempt.objects.get(operator=other).outcome == "locked"


def test_only_operators_look_up(case):
    for user in (
        officer("health", JurisdictionKind.DIVISION, "4507"),
        staff(Role.SUPERVISOR, kind=JurisdictionKind.DIVISION, code="45"),
        staff(Role.CLERK, kind=JurisdictionKind.HOSPITAL, code="qinbei-mch"),
    ):
        response = ask(signed_in(user), case.number, "0000")
        assert response.status_code == 403
        assert AccessRecord.objects.get(actor=user).granted is False
    assert not LookupAttempt.objects.exists()
    anonymous = Client().get("/hotline/lookup/")
    assert anonymous.status_code == 302


def test_the_guide_page_is_public_and_printable():
    client = Client()
    response = client.get("/guide/qinbei/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "0777-2819439" in text and "hotline.css" in text
    assert 'id="flow"' in text and "第 1 步" in text
    assert client.get("/guide/").status_code == 200
    assert client.get("/guide/atlantis/").status_code == 404


# Issue 12 part 2: "each pre-review reason code links to its answer" — the operator reads a
# refused or supplement-needed caller the answer to each reason (link and first lines).


@pytest.mark.parametrize(
    "name", ["qinbei-reject-hk-father-late-applicant", "qinbei-supplement-missing-materials"]
)
def test_a_refused_or_supplement_case_shows_each_reasons_answer(example, media_root, name):
    from onestop.hotline.models import FaqEntry
    from onestop.hotline.selectors import excerpt
    from onestop.hotline.services import faq_seed

    faq_seed(parse_time("2026-11-20T09:00:00+08:00"))
    reference_seed()
    refused = case_submit(
        document=example(name), actor=None, now=parse_time("2026-11-20T09:30:00+08:00")
    ).case
    assert refused.status in ("rejected", "supplement")
    phone = refused.document["applicant"]["phone"]
    response = ask(signed_in(operator()), refused.number, phone[-4:])
    assert response.status_code == 200
    text = response.content.decode()
    assert 'id="lookup-reasons"' in text
    codes = list(dict.fromkeys(r["code"] for r in refused.decision["reasons"]))
    for code in codes:
        entry = FaqEntry.objects.get(reason=code)
        assert f'<li data-reason="{code}"><a href="/faq/reason/{code}/">' in text
        assert entry.question in text
        first = excerpt(entry.answer)
        assert first and first.rstrip("…") in text
        assert entry.answer.strip().startswith(first.rstrip("…")[:10])
    assert text.count("<li data-reason=") == len(codes)  # a repeated code once


def test_a_reason_without_an_answer_is_still_listed(example, media_root):
    from onestop.hotline.models import FaqEntry
    from onestop.hotline.services import faq_seed

    faq_seed(parse_time("2026-11-20T09:00:00+08:00"))
    reference_seed()
    refused = case_submit(
        document=example("qinbei-reject-hk-father-late-applicant"),
        actor=None,
        now=parse_time("2026-11-20T09:30:00+08:00"),
    ).case
    FaqEntry.objects.filter(reason="foreign_parent").delete()
    phone = refused.document["applicant"]["phone"]
    text = ask(signed_in(operator()), refused.number, phone[-4:]).content.decode()
    assert (
        '<li data-reason="foreign_parent">foreign_parent · <a href="/faq/reason/foreign_parent/">'
        in text
    )
    assert '<li data-reason="wrong_applicant"><a href="/faq/reason/wrong_applicant/">' in text


def test_an_accepted_case_shows_no_reasons(case):
    text = ask(signed_in(operator()), case.number, "0000").content.decode()
    assert 'id="lookup-answer"' in text and 'id="lookup-reasons"' not in text


def test_excerpt_keeps_whole_sentences():
    from onestop.hotline.selectors import excerpt

    assert excerpt("第一句。第二句。") == "第一句。第二句。"
    assert excerpt("甲" * 10 + "。" + "乙" * 10 + "。", limit=12) == "甲" * 10 + "。…"
    assert excerpt("丙" * 30, limit=10) == "丙" * 9 + "…"
    assert excerpt("") == ""
