"""One newborn, one active case, across every channel (issue 8, defect 3: "A second phone
reused the same hospital delivery record in Fuzhou and got a second automatically issued
BMC ... One newborn (hospital + record number, and mother's ID + birth time) may have one
active case across all channels (online, counter, API): a second submission is told, with a
stable code and a Chinese message, which case already exists (masked), and nothing is
issued twice. The staff see possible duplicates (same mother, close birth time) before they
issue.")"""

from __future__ import annotations

import importlib
import threading
from datetime import UTC, timedelta
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test import Client
from django.utils import timezone

from onestop.cases import claims
from onestop.cases.claims import newborns_and_same, possible_duplicate_ids
from onestop.cases.domain.newborns import mask_case_number
from onestop.cases.models import Case, Newborn, NewbornClaim, SscApplication
from onestop.cases.services import case_submit, case_supplement
from onestop.cases.tests.support import apply_online, enter_at_counter
from onestop.certificates.models import ELicence
from onestop.certificates.services import DuplicateCertificate
from onestop.common.fields import index_of
from onestop.core.clock import format_time, parse_time
from onestop.hospitals.services import delivery_record_upsert
from onestop.integration.tests.support import Api, hospital
from onestop.notifications.models import SmsOutbox
from onestop.portal.models import Draft
from onestop.testing.factories import SAMPLE_RESULTS, officer, parent, staff
from onestop.testing.preview import preview_sign
from onestop.testing.reliability import reliability_record
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db

FUZHOU_AT = parse_time("2026-11-19T11:05:00+08:00")
QINBEI_AT = parse_time("2026-11-20T10:00:00+08:00")
DUPLICATE = "该新生儿已有申请"


def freeze(monkeypatch: Any, when: Any) -> None:
    monkeypatch.setattr(timezone, "now", lambda: when)


@pytest.fixture
def fuzhou_time(monkeypatch: Any) -> None:
    """The clock at the Fuzhou example's submission, so its dates stay valid."""
    freeze(monkeypatch, FUZHOU_AT)


@pytest.fixture
def qinbei_time(monkeypatch: Any) -> None:
    freeze(monkeypatch, QINBEI_AT)


def fuzhou_record(document: dict[str, Any]) -> None:
    """The hospital's delivery record that lets Fuzhou's BMC be approved at once (秒批)."""
    baby, mother = document["newborns"][0], document["mother"]
    delivery_record_upsert(
        hospital=baby["hospital"],
        record_number=baby["record_number"],
        mother_id_number=mother["id_number"],
        data={"born_at": baby["born_at"], "sex": baby["sex"], "weight_g": baby["weight_g"]},
    )


def fuzhou_online(example: Any) -> dict[str, Any]:
    """The Fuzhou example with the pickup choices the online form asks for."""
    document: dict[str, Any] = example("fuzhou-accept")
    document["delivery"]["vaccination_certificate"] = {"method": "pickup"}
    document["delivery"]["household_register"] = {"method": "mail"}
    return document


def bmcs() -> int:
    return ELicence.objects.filter(kind="birth_certificate").count()


def signed_in(phone: str) -> Client:
    client = Client()
    client.force_login(parent(phone))
    return client


# --- online ----------------------------------------------------------------------------


def test_two_phones_apply_online_for_one_fuzhou_newborn_one_case_one_bmc(
    fuzhou_time, example, media_root
):
    document = fuzhou_online(example)
    fuzhou_record(document)
    mother = signed_in(document["mother"]["phone"])
    first = apply_online(mother, document, signer="陈静")
    assert first.status_code == 302, first.content.decode()[:2000]
    case = Case.objects.get()
    assert case.status == "in_progress" and bmcs() == 0  # waits for her signature (ADR 0035)
    preview_sign(case)
    assert bmcs() == 1  # 秒批: issued once she signed the previews

    # A second phone (the father's) files the same baby again (in Fuzhou the form is the
    # mother's): he is a parent of that case, so he is told its number in full.
    father = signed_in(document["father"]["phone"])
    again = apply_online(father, fuzhou_online(example), signer="陈静")
    assert again.status_code == 200
    page = again.content.decode()
    assert DUPLICATE in page and case.number in page
    # Nothing was stored for him, and what he entered is kept as his draft.
    father_index = index_of(document["father"]["phone"], purpose="phone")
    assert Draft.objects.filter(owner__phone_index=father_index).count() == 1

    # A stranger's phone reusing the same delivery record sees only a masked number.
    stranger = fuzhou_online(example)
    for side in ("applicant", "mother"):
        stranger[side]["phone"] = "15900001111"
    stranger["father"]["phone"] = "15900002222"
    refused = apply_online(signed_in("15900001111"), stranger, signer="陈静")
    text = refused.content.decode()
    assert refused.status_code == 200 and DUPLICATE in text
    assert mask_case_number(case.number) in text and case.number not in text

    assert Case.objects.count() == 1 and bmcs() == 1
    reliability_record("duplicates", "online: duplicate submissions of one newborn tried", 2)
    reliability_record("duplicates", "online: duplicate cases created", Case.objects.count() - 1)
    reliability_record("duplicates", "online: duplicate BMC e-licences issued", bmcs() - 1)


# --- API -------------------------------------------------------------------------------


def test_the_api_answers_409_and_a_replay_still_returns_the_case(fuzhou_time, example, media_root):
    document = example("fuzhou-accept")
    fuzhou_record(document)
    api = Api(hospital("fujian-mch", may_submit_cases=True).token)
    created = api.post("/cases", document, key="first")
    assert created.status_code == 201, created.json()
    number = created.json()["number"]
    preview_sign(Case.objects.get(number=number))  # the BMC then issues at once (ADR 0035)
    # The same key and body is a replay, not a duplicate.
    replay = api.post("/cases", document, key="first")
    assert replay.status_code == 200 and replay.json()["number"] == number
    # Another system of another key: refused, with the stable code.
    rival = Api(hospital("fujian-mch", may_submit_cases=True).token)
    again = rival.post("/cases", example("fuzhou-accept"), key="second")
    assert again.status_code == 409
    body = again.json()
    assert body["code"] == "duplicate_newborn" and DUPLICATE in body["message"]
    assert body["existing_case"] in (number, mask_case_number(number))
    assert Case.objects.count() == 1 and bmcs() == 1
    reliability_record("duplicates", "API: duplicate submissions of one newborn tried", 1)
    reliability_record("duplicates", "API: duplicate cases created", Case.objects.count() - 1)
    reliability_record("duplicates", "API: duplicate BMC e-licences issued", bmcs() - 1)


def test_a_second_submission_that_pre_review_would_reject_is_still_a_duplicate(
    fuzhou_time, example, media_root
):
    """The second submission differs so that pre-review would reject it (parents not
    married): it must not become a second (rejected) case of the same newborn either."""
    api = Api(hospital("fujian-mch", may_submit_cases=True).token)
    first = api.post("/cases", example("fuzhou-accept"), key="a")
    assert first.status_code == 201, first.json()
    other = example("fuzhou-accept")
    other["marital_status"] = "unmarried"  # pre-review alone: reject, non_marital_birth
    again = api.post("/cases", other, key="b")
    assert again.status_code == 409 and again.json()["code"] == "duplicate_newborn"
    assert Case.objects.count() == 1
    reliability_record("duplicates", "API: duplicates that pre-review would reject, tried", 1)
    reliability_record("duplicates", "API: such duplicates stored", Case.objects.count() - 1)


def test_same_mother_and_birth_minute_with_another_record_number_is_refused(
    fuzhou_time, example, media_root
):
    api = Api(hospital("fujian-mch", may_submit_cases=True).token)
    assert api.post("/cases", example("fuzhou-accept"), key="a").status_code == 201
    other = example("fuzhou-accept")
    baby = other["newborns"][0]
    baby["record_number"] = "FJ-2026-99999"
    # The same minute, written with seconds and in UTC: still the same birth.
    baby["born_at"] = format_time(parse_time(baby["born_at"]) + timedelta(seconds=40))
    baby["born_at"] = parse_time(baby["born_at"]).astimezone(UTC).isoformat()
    assert baby["born_at"].startswith("2026-10-02T05:30:40")
    response = api.post("/cases", other, key="b")
    assert response.status_code == 409 and response.json()["code"] == "duplicate_newborn"
    # A record number written in other case and spacing is the same record.
    third = example("fuzhou-accept")
    third["newborns"][0]["record_number"] = " fj-2026-20451 "
    third["newborns"][0]["born_at"] = "2026-10-03T09:00:00+08:00"
    response = api.post("/cases", third, key="c")
    assert response.status_code == 409 and response.json()["code"] == "duplicate_newborn"
    assert Case.objects.count() == 1
    # No record number at all: the mother's key still applies.
    fourth = example("fuzhou-accept")
    fourth["newborns"][0].pop("record_number")
    assert api.post("/cases", fourth, key="d").status_code == 409
    assert Case.objects.count() == 1
    reliability_record("duplicates", "API: same newborn under other keys tried", 3)
    reliability_record("duplicates", "API: same newborn under other keys, cases created", 0)


def test_nothing_of_the_second_submission_is_stored(fuzhou_time, example, media_root):
    api = Api(hospital("fujian-mch", may_submit_cases=True).token)
    assert api.post("/cases", example("fuzhou-accept"), key="a").status_code == 201
    sms = SmsOutbox.objects.count()
    claims = NewbornClaim.objects.count()
    assert api.post("/cases", example("fuzhou-accept"), key="b").status_code == 409
    assert SmsOutbox.objects.count() == sms and NewbornClaim.objects.count() == claims
    assert not NewbornClaim.objects.filter(key_index__contains="FJ").exists()


def test_after_the_first_case_is_rejected_the_newborn_may_be_submitted_again(
    fuzhou_time, example, media_root
):
    api = Api(hospital("fujian-mch", may_submit_cases=True).token)
    first = api.post("/cases", example("fuzhou-accept"), key="a").json()["number"]
    assert api.post("/cases", example("fuzhou-accept"), key="b").status_code == 409
    # The first case is rejected (or withdrawn) by whatever path: its claims no longer hold.
    Case.objects.filter(number=first).update(status="rejected")
    again = api.post("/cases", example("fuzhou-accept"), key="c")
    assert again.status_code == 201, again.json()
    assert Case.objects.filter(status="in_progress").count() == 1
    assert NewbornClaim.objects.filter(active=True, case__number=first).count() == 0


def test_multiple_births_each_newborn_is_claimed(fuzhou_time, example, media_root):
    api = Api(hospital("fujian-mch", may_submit_cases=True).token)
    twins = example("fuzhou-accept")
    second = dict(twins["newborns"][0], name="林语桐二", record_number="FJ-2026-20452")
    second["born_at"] = "2026-10-02T13:41:00+08:00"
    twins["newborns"].append(second)
    twins["maternity"]["plurality"] = 2
    response = api.post("/cases", twins, key="twins")
    assert response.status_code == 201, response.json()
    case = Case.objects.get()
    assert set(NewbornClaim.objects.filter(case=case).values_list("position", flat=True)) == {
        0,
        1,
    }
    # The second twin alone, filed again: refused.
    alone = example("fuzhou-accept")
    alone["newborns"] = [second]
    assert api.post("/cases", alone, key="alone").status_code == 409
    assert Case.objects.count() == 1


def test_the_issuing_service_never_issues_a_second_bmc(fuzhou_time, example, media_root):
    """Defense in depth: even with no claim (a case filed before claims existed), the
    instant BMC of a second case for the same newborn is not issued."""
    document = example("fuzhou-accept")
    fuzhou_record(document)
    api = Api(hospital("fujian-mch", may_submit_cases=True).token)
    assert api.post("/cases", document, key="a").status_code == 201
    preview_sign(Case.objects.get())
    assert bmcs() == 1
    NewbornClaim.objects.all().delete()
    # The second case is accepted (nothing is issued before the applicant signs, ADR 0035);
    # its signature would issue the BMC, and that is refused.
    SscApplication.objects.all().delete()  # nor card applications
    again = api.post("/cases", example("fuzhou-accept"), key="b")
    assert again.status_code == 201
    second = Case.objects.get(number=again.json()["number"])
    with pytest.raises(DuplicateCertificate, match="不能重复签发"):
        preview_sign(second, now=timezone.now() + timedelta(minutes=2))  # a fresh code
    assert bmcs() == 1
    assert CaseItem.objects.get(case=second, item="birth_certificate").state == "waiting"
    reliability_record("duplicates", "issuing without claims: second BMC attempts", 1)
    reliability_record("duplicates", "issuing without claims: second BMCs issued", bmcs() - 1)


def test_the_issue_reads_the_newborns_and_finds_the_same_newborn_by_either_test(
    qinbei_time, example, media_root
):
    """The e-licence's one read (session 26): the newborns it names, in order, and the
    other case of the same newborn found by a shared key (a released claim too) and by
    the same mother and birth minute, each test on its own."""
    api = Api(hospital("qinbei-mch", may_submit_cases=True).token)
    assert api.post("/cases", example("qinbei-accept"), key="a").status_code == 201
    NewbornClaim.objects.update(active=False)  # released: the key still tells
    SscApplication.objects.all().delete()
    assert api.post("/cases", example("qinbei-accept"), key="b").status_code == 201
    first, second = Case.objects.order_by("pk")
    named = [
        (baby.name, baby.sex, baby.born_at)
        for baby in Newborn.objects.filter(case=second).order_by("position")
    ]
    assert named and named[0][0]
    assert newborns_and_same(second) == (named, {first.pk})  # both tests
    Case.objects.filter(pk=first.pk).update(mother_id_index="")
    assert newborns_and_same(second) == (named, {first.pk})  # the shared key alone
    Case.objects.filter(pk=first.pk).update(mother_id_index=second.mother_id_index)
    NewbornClaim.objects.filter(case=first).delete()
    assert newborns_and_same(second) == (named, {first.pk})  # mother and minute alone
    Newborn.objects.filter(case=first).update(born_at="2020-01-01T00:00:00+08:00")
    assert newborns_and_same(second) == (named, set())  # neither
    Case.objects.filter(pk=second.pk).update(mother_id_index="")
    second.refresh_from_db()
    assert newborns_and_same(second) == (named, set())  # no mother's part at all
    second.document = {**second.document, "newborns": []}  # no keys: no claims' part
    assert newborns_and_same(second) == (named, set())
    # Every shape of the read was compiled, none left to the ORM on each call (review of
    # session 26: a part left out left its stand-in out, and the statement was not kept).
    shapes = list(claims._ISSUE_READS._entries.items())
    assert {(key[2] > 0, key[3]) for key, _ in shapes} >= {
        (True, True),
        (True, False),
        (False, False),
    }
    assert all(statement is not None for _, (_, statement) in shapes), shapes


def test_an_officer_cannot_complete_a_second_bmc_for_the_same_newborn(
    qinbei_time, example, media_root
):
    api = Api(hospital("qinbei-mch", may_submit_cases=True).token)
    assert api.post("/cases", example("qinbei-accept"), key="a").status_code == 201
    NewbornClaim.objects.all().delete()  # as for a case filed before claims existed
    SscApplication.objects.all().delete()
    assert api.post("/cases", example("qinbei-accept"), key="b").status_code == 201
    first, second = Case.objects.order_by("pk")
    clerk = officer("hospital", "hospital", "qinbei-mch")
    client = Client()
    client.force_login(clerk)
    for case in (first, second):
        row = CaseItem.objects.get(case=case, item="birth_certificate")
        client.post(
            f"/work/tasks/{row.pk}/complete/",
            {"version": row.version, **SAMPLE_RESULTS["birth_certificate"]},
        )
    assert bmcs() == 1
    row = CaseItem.objects.get(case=second, item="birth_certificate")
    assert row.state != "done"
    page = client.get(f"/work/tasks/{row.pk}/").content.decode()
    assert "不能重复签发" in page or first.number in page


def test_a_department_system_cannot_complete_a_second_bmc_either(qinbei_time, example, media_root):
    submitter = Api(hospital("qinbei-mch", may_submit_cases=True).token)
    assert submitter.post("/cases", example("qinbei-accept"), key="a").status_code == 201
    NewbornClaim.objects.all().delete()  # as for a case filed before claims existed
    SscApplication.objects.all().delete()
    assert submitter.post("/cases", example("qinbei-accept"), key="b").status_code == 201
    worker = Api(hospital("qinbei-mch").token)
    codes = []
    for case in Case.objects.order_by("pk"):
        task = CaseItem.objects.get(case=case, item="birth_certificate")
        body = {"result": SAMPLE_RESULTS["birth_certificate"]}
        codes.append(worker.post(f"/tasks/{task.pk}/complete", body).status_code)
    assert codes == [200, 409]
    assert bmcs() == 1


# --- counter and across channels ---------------------------------------------------------


def qinbei_clerk() -> Client:
    client = Client()
    client.force_login(staff("clerk", kind="hospital", code="qinbei-mch", name="窗口韦"))
    return client


def test_the_counter_refuses_a_second_entry_and_keeps_what_was_typed(
    qinbei_time, example, media_root
):
    client = qinbei_clerk()
    first = enter_at_counter(client, example("qinbei-accept"))
    assert first.status_code == 302, first.content.decode()[:3000]
    case = Case.objects.get()
    again = enter_at_counter(client, example("qinbei-accept"))
    page = again.content.decode()
    assert again.status_code == 200 and DUPLICATE in page
    assert case.number in page  # the clerk entered it: the number in full
    assert "覃沐阳" in page and "ZY2026-11-0042" in page  # the entries are still there
    assert Case.objects.count() == 1
    reliability_record("duplicates", "counter: duplicate entries tried", 1)
    reliability_record("duplicates", "counter: duplicate cases created", Case.objects.count() - 1)


def test_online_first_then_counter_is_refused(qinbei_time, example, media_root):
    document = example("qinbei-accept")
    document["submitted_at"] = format_time(QINBEI_AT)
    document["delivery"]["vaccination_certificate"] = {"method": "pickup"}
    online = apply_online(signed_in(document["mother"]["phone"]), document, signer="黄丽")
    assert online.status_code == 302, online.content.decode()[:3000]
    case = Case.objects.get()
    again = enter_at_counter(qinbei_clerk(), example("qinbei-accept"))
    page = again.content.decode()
    assert again.status_code == 200 and DUPLICATE in page
    # The counter did not enter the online case: it sees the number masked.
    assert mask_case_number(case.number) in page and case.number not in page
    assert Case.objects.count() == 1
    reliability_record("duplicates", "across channels: duplicate submissions tried", 1)
    reliability_record(
        "duplicates", "across channels: duplicate cases created", Case.objects.count() - 1
    )


# --- the officer sees possible duplicates ------------------------------------------------


def test_the_officer_sees_possible_duplicates_before_issuing(qinbei_time, example, media_root):
    api = Api(hospital("qinbei-mch", may_submit_cases=True).token)
    first = example("qinbei-accept")
    assert api.post("/cases", first, key="a").status_code == 201
    # Same mother, another record number, a birth 5 hours later: not certainly the same
    # baby, so it is accepted, but the officer is warned.
    near = example("qinbei-accept")
    near["newborns"][0]["record_number"] = "ZY2026-11-0099"
    near["newborns"][0]["born_at"] = "2026-11-10T13:20:00+08:00"
    assert api.post("/cases", near, key="b").status_code == 201
    # Same mother, a year apart: no warning about it.
    older = example("qinbei-accept")
    older["newborns"][0]["record_number"] = "ZY2025-11-0001"
    older["newborns"][0]["born_at"] = "2026-09-01T08:00:00+08:00"
    api.post("/cases", older, key="c")
    one, two = Case.objects.order_by("pk")[:2]
    client = Client()
    client.force_login(officer("hospital", "hospital", "qinbei-mch"))
    task = CaseItem.objects.get(case=two, item="birth_certificate")
    page = client.get(f"/work/tasks/{task.pk}/").content.decode()
    assert "可能重复的申请" in page
    other_task = CaseItem.objects.get(case=one, item="birth_certificate")
    assert f'href="/work/tasks/{other_task.pk}/"' in page and one.number in page
    assert 'data-duplicates="1"' in page
    # The API's task detail carries the count.
    detail = api.get(f"/tasks/{task.pk}").json()
    assert detail["possible_duplicates"] == 1

    # A possible duplicate the officer may not open (its tasks are another hospital's):
    # the number masked, no link.
    CaseItem.objects.filter(case=one).update(jurisdiction_code="lanzhou-mch")
    page = client.get(f"/work/tasks/{task.pk}/").content.decode()
    assert mask_case_number(one.number) in page and one.number not in page
    assert f'href="/work/tasks/{other_task.pk}/"' not in page


# --- a real race on PostgreSQL -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL concurrency")
@pytest.mark.parametrize("instant", [False, True], ids=["officer-bmc", "instant-bmc"])
def test_two_systems_submitting_one_newborn_at_the_same_moment(
    fuzhou_time, example, media_root, instant
):
    document = example("fuzhou-accept")
    if instant:  # with the 秒批 BMC issued inside the submission
        fuzhou_record(document)
    apis = [Api(hospital("fujian-mch", may_submit_cases=True).token) for _ in range(4)]
    barrier = threading.Barrier(len(apis))
    codes: list[int] = []

    def submit(n: int, api: Api) -> None:
        try:
            barrier.wait()
            codes.append(api.post("/cases", example("fuzhou-accept"), key=f"race-{n}").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(n, a)) for n, a in enumerate(apis)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201, 409, 409, 409]
    assert Case.objects.count() == 1 and bmcs() == 0  # nothing before the signature
    preview_sign(Case.objects.get())
    assert bmcs() == (1 if instant else 0)
    reliability_record("duplicates", "concurrent submissions of one newborn tried", len(apis))
    reliability_record(
        "duplicates", "concurrent: duplicate cases created", Case.objects.count() - 1
    )
    reliability_record("duplicates", "concurrent: duplicate BMCs issued", max(bmcs() - 1, 0))


def test_a_case_rejected_on_supplement_releases_its_newborn(qinbei_time, example, media_root):
    """A case waiting for a supplement holds its newborn; judged again and rejected, it
    lets the newborn go (rejected and withdrawn cases are not active)."""
    document = example("qinbei-supplement-missing-materials")
    case = case_submit(document=document, actor=None).case
    assert case.status == "supplement"
    assert NewbornClaim.objects.filter(case=case, active=True).exists()
    api = Api(hospital("qinbei-mch", may_submit_cases=True).token)
    assert api.post("/cases", example("qinbei-accept"), key="a").status_code == 409
    changed = dict(case.document)
    for side in ("mother", "father"):
        changed[side] = dict(changed[side], hukou_division="620102")
    rejected = case_supplement(case_id=case.pk, actor=None, document=changed)
    assert rejected.status == "rejected", rejected.decision
    assert not NewbornClaim.objects.filter(case=case, active=True).exists()
    assert api.post("/cases", example("qinbei-accept"), key="b").status_code == 201


def test_cases_filed_before_claims_existed_get_them(fuzhou_time, example, media_root):
    """The data migration: the oldest active case of a newborn holds the claim; a duplicate
    filed before the fix is recorded inactive, and a new submission is refused."""
    api = Api(hospital("fujian-mch", may_submit_cases=True).token)
    assert api.post("/cases", example("fuzhou-accept"), key="a").status_code == 201
    NewbornClaim.objects.all().delete()
    SscApplication.objects.all().delete()  # nor card applications
    assert api.post("/cases", example("fuzhou-accept"), key="b").status_code == 201  # legacy
    NewbornClaim.objects.all().delete()
    SscApplication.objects.all().delete()  # nor card applications
    backfill = importlib.import_module("onestop.cases.migrations.0003_backfill_newborn_claims")
    backfill.backfill(django_apps, None)
    first, second = Case.objects.order_by("pk")
    assert NewbornClaim.objects.filter(case=first, active=True).count() == 2
    assert NewbornClaim.objects.filter(case=second, active=False).count() == 2
    assert api.post("/cases", example("fuzhou-accept"), key="c").status_code == 409
    assert Case.objects.count() == 2


def test_the_counter_refuses_a_second_card_application(qinbei_time, example, media_root):
    """Seed 002 (五) at the counter (ADR 0037): the first case's card was made and the case
    has since ended (withdrawn, its newborn let go); the clerk's entry choosing the card
    again is refused with the card's own message, and nothing is stored."""
    client = qinbei_clerk()
    assert enter_at_counter(client, example("qinbei-accept")).status_code == 302
    case = Case.objects.get()
    assert SscApplication.objects.filter(case=case, active=True).exists()
    SscApplication.objects.filter(case=case).update(issued=True)
    Case.objects.filter(pk=case.pk).update(status="withdrawn")
    NewbornClaim.objects.filter(case=case).update(active=False)
    again = enter_at_counter(client, example("qinbei-accept"))
    page = again.content.decode()
    assert again.status_code == 200 and "已申领过社会保障卡" in page and case.number in page
    assert Case.objects.count() == 1


def test_a_claim_left_by_an_ended_case_since_the_submission_read_its_keys_is_released(
    fuzhou_time, example, media_root, monkeypatch
):
    """The submission reads its keys' claims once (`claims_standing`, issue 10 helper
    h-submission) and releases claims of ended cases only where it saw one; a claim an
    ended case left after that read is refused by the database, and the keys are taken
    again releasing it — the case is accepted, as when every take released first."""
    from onestop.cases import claims, services

    api = Api(hospital("fujian-mch", may_submit_cases=True).token)
    first = api.post("/cases", example("fuzhou-accept"), key="a").json()["number"]
    Case.objects.filter(number=first).update(status="rejected")  # its claims left active
    seen = claims.claims_standing(example("fuzhou-accept"))
    assert seen.stale_claims and seen.stale_ssc and not seen.held and not seen.card_held
    before_it = claims.Standing(seen.indexed, False, False, False, False)
    monkeypatch.setattr(services, "claims_standing", lambda document: before_it)
    again = api.post("/cases", example("fuzhou-accept"), key="b")
    assert again.status_code == 201, again.json()
    assert not NewbornClaim.objects.filter(active=True, case__number=first).exists()
    assert not SscApplication.objects.filter(active=True, case__number=first).exists()
    assert (
        NewbornClaim.objects.filter(active=True, case__number=again.json()["number"]).count() == 2
    )


def test_the_possible_duplicate_rule_over_given_rows() -> None:
    """`possible_duplicate_ids`, the one rule both the workbench (`possible_duplicates`)
    and the API's task detail (`integration.selectors._CaseFacts`) apply to the rows they
    read: a shared key, or the same mother with a birth within 48 hours."""
    mine = ["2026-11-20T09:30:00+08:00"]
    theirs = {
        2: ["2026-11-22T09:30:00+08:00"],  # 48 hours later: within
        3: ["2026-11-22T09:31:00+08:00"],  # a minute more: not
        4: ["", "2026-11-19T21:30:00+08:00"],  # one of twins' births 12 hours earlier
        5: [""],  # no birth time: never close
    }
    assert possible_duplicate_ids([], mine, theirs) == {2, 4}
    assert possible_duplicate_ids([7, 3], mine, theirs) == {2, 3, 4, 7}  # keys: any birth
    assert possible_duplicate_ids([], [], theirs) == set()  # no birth of its own
    assert possible_duplicate_ids([], mine, theirs, timedelta(hours=1)) == set()
