"""Corrections (更正, issue 12 part 5, ADR 0042) on a real database: a parent or an officer
asks, the issuing department approves or refuses (workbench and API), a corrected
e-licence supersedes the old one and /verify/ shows both states, later items are told,
every step is audited, and one open correction per result and field (a DB constraint).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client

from onestop.audit.models import AccessRecord, AuditRecord
from onestop.audit.services import verify_chain
from onestop.cases.models import TimelineEntry
from onestop.cases.services import case_submit
from onestop.certificates.models import ELicence
from onestop.certificates.services import (
    elicence_verify,
    qr_content,
    verify_cache_clear,
    verify_record,
)
from onestop.corrections import services
from onestop.corrections.models import Correction, CorrectionNotice
from onestop.corrections.services import (
    CorrectionConflict,
    CorrectionInvalid,
    CorrectionNotPermitted,
    correction_approve,
    correction_refuse,
    correction_request,
)
from onestop.integration.models import WebhookDelivery
from onestop.integration.tests.support import Api, issue
from onestop.notifications.models import Notification
from onestop.testing.costs import audit_chain_reads
from onestop.testing.factories import officer, parent
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.services import item_complete

pytestmark = pytest.mark.django_db

BMC = {"bmc_number": "Q450123456", "newborn_name": "覃沐杨", "blood_type": "A"}
HOSPITAL = ("hospital", "hospital", "qinbei-mch")


@pytest.fixture(autouse=True)
def seal_keys(settings, tmp_path: Path) -> Path:
    folder = tmp_path / "seal-keys"
    settings.SEAL_KEYS_DIR = folder
    verify_cache_clear()
    return folder


@pytest.fixture
def case(example, beijing, media_root):
    return case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case


@pytest.fixture
def hospital_officer():
    return officer(*HOSPITAL, name="签发员")


@pytest.fixture
def bmc_item(case, beijing, hospital_officer) -> CaseItem:
    item = CaseItem.objects.get(case=case, item="birth_certificate")
    item_complete(
        item_id=item.pk,
        actor=hospital_officer,
        result=BMC,
        now=beijing("2026-11-20T10:00:00+08:00"),
    )
    item.refresh_from_db()
    return item


@pytest.fixture
def mother():
    return parent("13800000000")


def _ask(item: CaseItem, who, value: str = "覃沐阳", field: str = "newborn_name") -> Correction:
    return correction_request(
        item_id=item.pk, actor=who, field=field, value=value, reason="名字错了一个字"
    )


def _new(done: Correction) -> ELicence:
    assert done.corrected_licence is not None
    return done.corrected_licence


def _police_item(case) -> CaseItem:
    return CaseItem.objects.get(case=case, item="birth_registration")


# --- the service ---------------------------------------------------------------------------


def test_approval_supersedes_the_licence_and_tells_later_items(
    case, bmc_item, mother, hospital_officer
):
    police = _police_item(case)
    assert police.state == ItemState.READY  # dispatched after the BMC: it used the old name
    police_system = issue(
        "police",
        police.jurisdiction_kind,
        police.jurisdiction_code,
        webhook_url="https://police.example/hook",
    )
    old = ELicence.objects.get(item=bmc_item)
    correction = _ask(bmc_item, mother)
    assert correction.state == "open" and correction.old_value == "覃沐杨"

    done = correction_approve(correction_id=correction.pk, actor=hospital_officer)

    old.refresh_from_db()
    new = done.corrected_licence
    assert new is not None and new.serial == f"{old.serial}-C1"
    assert old.superseded_by_id == new.pk and old.superseded_at is not None
    assert new.payload["result"]["newborn_name"] == "覃沐阳"
    assert new.payload["replaces"] == old.serial
    assert json.loads(new.sealed)["replaces"] == old.serial  # under the seal
    bmc_item.refresh_from_db()
    assert bmc_item.result["newborn_name"] == "覃沐阳"
    # One licence in force per item.
    assert list(ELicence.objects.filter(item=bmc_item, superseded_at__isnull=True)) == [new]
    # Every step audited, values never in the audit log.
    actions = list(AuditRecord.objects.filter(stream=case.number).values_list("action", flat=True))
    for action in (
        "correction_requested",
        "correction_approved",
        "elicence_issued",
        "elicence_superseded",
    ):
        assert action in actions
    details = json.dumps(
        list(AuditRecord.objects.filter(stream=case.number).values_list("detail", flat=True)),
        ensure_ascii=False,
    )
    assert "覃沐阳" not in details and "覃沐杨" not in details
    # The later item is told: a notice on its task, a webhook to its department's system.
    notice = CorrectionNotice.objects.get(correction=correction)
    assert notice.item_id == police.pk and notice.read_at is None
    hook = WebhookDelivery.objects.get(client=police_system.client, event="result.corrected")
    assert hook.payload["elicence"] == {"serial": new.serial, "replaces": old.serial}
    assert hook.payload["task"]["item"] == "birth_registration"
    assert "覃沐阳" not in json.dumps(hook.payload, ensure_ascii=False)
    # Waiting items (they will read the corrected licence) are not told.
    waiting = CaseItem.objects.filter(case=case, state=ItemState.WAITING)
    assert not CorrectionNotice.objects.filter(item__in=waiting).exists()
    # The parents get a message.
    bodies = [n.body for n in Notification.objects.filter(case=case)]
    assert any(new.serial in b and "已更正" in b for b in bodies)
    assert TimelineEntry.objects.filter(case=case, kind="result_corrected").exists()


def test_later_item_reads_the_corrected_licence(case, bmc_item, mother, hospital_officer):
    from onestop.certificates.selectors import prior_elicences

    correction = _ask(bmc_item, mother)
    done = correction_approve(correction_id=correction.pk, actor=hospital_officer)
    prior = prior_elicences(_police_item(case))
    assert [p["serial"] for p in prior] == [_new(done).serial]
    assert prior[0]["valid"] and prior[0]["result"]["bmc_number"] == "Q450123456"


def test_refusal_keeps_the_licence_and_tells_the_parents(case, bmc_item, mother, hospital_officer):
    correction = _ask(bmc_item, mother)
    with pytest.raises(CorrectionInvalid):
        correction_refuse(correction_id=correction.pk, actor=hospital_officer, reason="  ")
    correction_refuse(
        correction_id=correction.pk, actor=hospital_officer, reason="与分娩记录一致，无误"
    )
    correction.refresh_from_db()
    assert correction.state == "refused" and correction.corrected_licence is None
    old = ELicence.objects.get(item=bmc_item)
    assert old.superseded_at is None and elicence_verify(serial=old.serial).valid
    assert AuditRecord.objects.filter(stream=case.number, action="correction_refused").exists()
    assert any("未通过" in n.body for n in Notification.objects.filter(case=case))
    with pytest.raises(CorrectionConflict):  # decided once
        correction_approve(correction_id=correction.pk, actor=hospital_officer)


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("bmc_number", "12345", "result_invalid"),  # the catalogue's pattern
        ("blood_type", "C", "result_invalid"),
        ("newborn_name", "覃沐杨", "unchanged"),
        ("mother_name", "某某", "unknown_field"),
        ("newborn_name", "", "required"),
    ],
)
def test_the_new_value_is_validated_as_the_original(bmc_item, mother, field, value, code):
    with pytest.raises(CorrectionInvalid) as raised:
        _ask(bmc_item, mother, value=value, field=field)
    assert raised.value.code == code
    assert not Correction.objects.exists()


def test_a_blood_type_can_be_corrected(bmc_item, mother, hospital_officer):
    correction = _ask(bmc_item, mother, value="AB", field="blood_type")
    done = correction_approve(correction_id=correction.pk, actor=hospital_officer)
    assert _new(done).payload["result"]["blood_type"] == "AB"


def test_an_unfinished_item_cannot_be_corrected(case, mother):
    with pytest.raises(CorrectionInvalid) as raised:
        _ask(_police_item(case), mother, field="hukou_entry", value="HK450703-0002")
    assert raised.value.code == "not_issued"


def test_one_open_correction_per_result_and_field(bmc_item, mother, hospital_officer):
    _ask(bmc_item, mother)
    with pytest.raises(CorrectionConflict):
        _ask(bmc_item, mother, value="覃沐洋")
    # Another field of the same result may be corrected at the same time.
    _ask(bmc_item, mother, value="B", field="blood_type")
    assert Correction.objects.filter(state="open").count() == 2


def test_racing_requests_one_wins(bmc_item, mother, monkeypatch):
    """Two requests that both pass the check (as two transactions racing would): the
    database constraint lets one in, the other is a conflict, never two open ones."""
    monkeypatch.setattr(services, "already_open", lambda row, field: False)
    _ask(bmc_item, mother)
    with pytest.raises(CorrectionConflict):
        _ask(bmc_item, mother, value="覃沐洋")
    assert Correction.objects.filter(field="newborn_name", state="open").count() == 1


def test_the_constraint_is_in_the_database(bmc_item, mother):
    first = _ask(bmc_item, mother)
    with pytest.raises(IntegrityError), transaction.atomic():
        Correction.objects.create(
            case=first.case,
            item=first.item,
            licence=first.licence,
            field=first.field,
            new_value="覃沐洋",
            reason="again",
            requested_by=mother,
            requested_role="parent",
            requested_at=first.requested_at,
        )


def test_another_department_cannot_decide(case, bmc_item, mother):
    correction = _ask(bmc_item, mother)
    police = _police_item(case)
    for who in (
        officer("police", police.jurisdiction_kind, police.jurisdiction_code),
        officer("hospital", "hospital", "another-hospital"),
    ):
        with pytest.raises(CorrectionNotPermitted):
            correction_approve(correction_id=correction.pk, actor=who)
    correction.refresh_from_db()
    assert correction.state == "open"


def test_who_may_ask(case, bmc_item):
    police = _police_item(case)
    # An officer of a later item of the case may ask (it noticed the mistake).
    _ask(bmc_item, officer("police", police.jurisdiction_kind, police.jurisdiction_code))
    for who in (parent("13700000000"), officer("cdc", "division", "999999")):
        with pytest.raises(CorrectionNotPermitted):
            _ask(bmc_item, who, field="blood_type", value="O")


# --- /verify/ --------------------------------------------------------------------------


def test_verify_shows_both_states(bmc_item, mother, hospital_officer):
    old = ELicence.objects.get(item=bmc_item)
    client = Client()
    # Verified (and remembered) before the correction.
    assert client.get(f"/verify/{old.serial}.json").json()["valid"] is True
    assert verify_record(old).valid
    done = correction_approve(correction_id=_ask(bmc_item, mother).pk, actor=hospital_officer)
    new = _new(done)
    # The remembered "valid" is not reused: the old licence is superseded.
    body = client.get(f"/verify/{old.serial}.json").json()
    assert body["valid"] is False and body["code"] == "superseded"
    assert body["superseded"]["by"] == new.serial
    assert body["superseded"]["url"] == f"/verify/{new.serial}/"
    assert body["issuer"]["name"] == old.issuer_name  # genuine, only replaced
    page = client.get(f"/verify/{old.serial}/").content.decode()
    assert "已被更正（superseded）" in page and f'href="/verify/{new.serial}/"' in page
    # Its QR content says the same.
    old.refresh_from_db()
    assert elicence_verify(content=qr_content(old)).code == "superseded"
    # The new one is valid and says which one it replaces.
    body = client.get(f"/verify/{new.serial}.json").json()
    assert body["valid"] is True and body["replaces"] == old.serial
    page = client.get(f"/verify/{new.serial}/").content.decode()
    assert f'data-replaces="{old.serial}"' in page and 'data-valid="true"' in page
    # Nothing personal on the public pages.
    assert "覃沐阳" not in page


# --- HTTP: the portal, the workbench --------------------------------------------------------


def test_parent_asks_on_the_portal_and_the_hospital_approves(
    case, bmc_item, mother, hospital_officer
):
    web = Client()
    web.force_login(mother)
    page = web.get(f"/my/cases/{case.number}/")
    assert "/corrections/new/" in page.content.decode()
    form = web.get(f"/my/cases/{case.number}/corrections/new/").content.decode()
    assert f'value="{bmc_item.pk}:newborn_name"' in form
    response = web.post(
        f"/my/cases/{case.number}/corrections/new/",
        {"target": f"{bmc_item.pk}:newborn_name", "value": "覃沐阳", "reason": "错字"},
    )
    assert response.status_code == 302
    correction = Correction.objects.get()
    assert correction.requested_by == mother and correction.new_value == "覃沐阳"

    staff = Client()
    staff.force_login(hospital_officer)
    assert f'data-correction="{correction.pk}"' in staff.get("/work/corrections/").content.decode()
    detail = staff.get(f"/work/corrections/{correction.pk}/").content.decode()
    assert "覃沐阳" in detail  # the issuing department sees the values, and the read is kept
    assert AccessRecord.objects.filter(
        actor=hospital_officer, what=f"correction:{correction.pk}", granted=True
    ).exists()
    staff.post(f"/work/corrections/{correction.pk}/approve/")
    correction.refresh_from_db()
    assert correction.state == "approved" and correction.corrected_licence is not None


def test_parent_of_another_case_cannot_ask(case, bmc_item):
    stranger = parent("13700000000")
    web = Client()
    web.force_login(stranger)
    assert web.get(f"/my/cases/{case.number}/corrections/new/").status_code == 404
    response = web.post(
        f"/my/cases/{case.number}/corrections/new/",
        {"target": f"{bmc_item.pk}:newborn_name", "value": "覃沐阳", "reason": "错字"},
    )
    assert response.status_code == 404
    assert not Correction.objects.exists()


def test_officer_of_another_department_or_jurisdiction_cannot_approve(case, bmc_item, mother):
    correction = _ask(bmc_item, mother)
    police = _police_item(case)
    for who in (
        officer("police", police.jurisdiction_kind, police.jurisdiction_code),
        officer("hospital", "hospital", "another-hospital"),
    ):
        web = Client()
        web.force_login(who)
        assert web.get(f"/work/corrections/{correction.pk}/").status_code == 404
        assert web.post(f"/work/corrections/{correction.pk}/approve/").status_code == 404
        assert (
            web.post(f"/work/corrections/{correction.pk}/refuse/", {"reason": "不对"}).status_code
            == 404
        )
        assert (
            f'data-correction="{correction.pk}"'
            not in web.get("/work/corrections/?state=all").content.decode()
        )
        assert AccessRecord.objects.filter(actor=who, granted=False).exists()
    correction.refresh_from_db()
    assert correction.state == "open" and correction.decided_by is None
    assert ELicence.objects.filter(item=bmc_item).count() == 1


def test_later_items_task_shows_the_notice_until_read(case, bmc_item, mother, hospital_officer):
    correction_approve(correction_id=_ask(bmc_item, mother).pk, actor=hospital_officer)
    police = _police_item(case)
    cop = officer("police", police.jurisdiction_kind, police.jurisdiction_code)
    web = Client()
    web.force_login(cop)
    assert "前置证照已更正的事项 1 件" in web.get("/work/").content.decode()
    page = web.get(f"/work/tasks/{police.pk}/").content.decode()
    notice = CorrectionNotice.objects.get()
    assert f'data-correction-notice="{notice.pk}" data-read="false"' in page
    # Someone else's notice cannot be marked read.
    other = Client()
    other.force_login(officer("police", "police_station", "elsewhere"))
    assert other.post(f"/work/corrections/notices/{notice.pk}/read/").status_code == 404
    notice.refresh_from_db()
    assert notice.read_at is None
    web.post(f"/work/corrections/notices/{notice.pk}/read/")
    notice.refresh_from_db()
    assert notice.read_by == cop and notice.read_at is not None


# --- the API for department systems -------------------------------------------------------


def test_api_lists_and_approves_idempotently(case, bmc_item, mother):
    correction = _ask(bmc_item, mother)
    api = Api(issue(*HOSPITAL).token)
    listed = api.get("/corrections").json()
    assert [c["id"] for c in listed["corrections"]] == [correction.pk]
    assert listed["corrections"][0]["new_value"] == "覃沐阳"
    first = api.post(f"/corrections/{correction.pk}/approve", key="approve-1")
    assert first.status_code == 200, first.content
    again = api.post(f"/corrections/{correction.pk}/approve", key="approve-1")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert first.json()["corrected_elicence"].endswith("-C1")
    assert ELicence.objects.filter(item=bmc_item).count() == 2  # one corrected, not two
    # Without the key, a second decision is a conflict.
    assert api.post(f"/corrections/{correction.pk}/approve").status_code == 409
    assert api.get("/corrections").json()["corrections"] == []


def test_api_of_another_department_sees_and_decides_nothing(case, bmc_item, mother):
    correction = _ask(bmc_item, mother)
    police = _police_item(case)
    api = Api(issue("police", police.jurisdiction_kind, police.jurisdiction_code).token)
    assert api.get("/corrections?state=all").json()["corrections"] == []
    assert api.get(f"/corrections/{correction.pk}").status_code == 404
    assert api.post(f"/corrections/{correction.pk}/approve").status_code == 404
    response = api.post(f"/corrections/{correction.pk}/refuse", {"reason": "不对"})
    assert response.status_code == 404
    correction.refresh_from_db()
    assert correction.state == "open"


def test_api_refuse_needs_a_reason(case, bmc_item, mother):
    correction = _ask(bmc_item, mother)
    api = Api(issue(*HOSPITAL).token)
    assert api.post(f"/corrections/{correction.pk}/refuse", {}).status_code == 422
    response = api.post(f"/corrections/{correction.pk}/refuse", {"reason": "无误"})
    assert response.status_code == 200 and response.json()["state"] == "refused"


# --- a real race on PostgreSQL -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL concurrency")
def test_four_parents_racing_one_wins(bmc_item, mother):
    """Four requests to correct the same field at the same moment: one open correction,
    three conflicts (the case row lock, then the constraint behind it)."""
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def ask(n: int) -> None:
        try:
            barrier.wait()
            _ask(bmc_item, mother, value=f"覃沐阳{n}")
            outcomes.append("open")
        except CorrectionConflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "open"]
    assert Correction.objects.filter(field="newborn_name", state="open").count() == 1


def test_an_officer_of_a_later_item_asks_on_the_workbench(case, bmc_item, hospital_officer):
    police = _police_item(case)
    cop = officer("police", police.jurisdiction_kind, police.jurisdiction_code)
    web = Client()
    web.force_login(cop)
    task = web.get(f"/work/tasks/{police.pk}/").content.decode()
    assert f'href="/work/corrections/new/{bmc_item.pk}/"' in task
    form = web.get(f"/work/corrections/new/{bmc_item.pk}/").content.decode()
    assert f'value="{bmc_item.pk}:blood_type"' in form
    web.post(
        f"/work/corrections/new/{bmc_item.pk}/",
        {"target": f"{bmc_item.pk}:blood_type", "value": "O", "reason": "与检验单不符"},
    )
    correction = Correction.objects.get()
    assert correction.requested_by == cop and correction.requested_role == "officer"
    assert AuditRecord.objects.filter(stream=case.number, action="correction_requested").exists()
    # The police officer does not decide it: that is the hospital's.
    assert web.post(f"/work/corrections/{correction.pk}/approve/").status_code == 404
    # An officer with no item in the case cannot even open the form.
    stranger = Client()
    stranger.force_login(officer("police", "police_station", "elsewhere"))
    assert stranger.get(f"/work/corrections/new/{bmc_item.pk}/").status_code == 404
    response = stranger.post(
        f"/work/corrections/new/{bmc_item.pk}/",
        {"target": f"{bmc_item.pk}:newborn_name", "value": "某某", "reason": "x"},
    )
    assert response.status_code == 404
    assert Correction.objects.count() == 1


def test_staff_on_the_parents_correction_page_are_refused_and_recorded(
    case, bmc_item, hospital_officer
):
    web = Client()
    web.force_login(hospital_officer)
    assert web.get(f"/my/cases/{case.number}/corrections/new/").status_code == 404
    assert AccessRecord.objects.filter(
        actor=hospital_officer, what="portal:correction", granted=False
    ).exists()


def test_the_parents_page_shows_a_refusal_with_its_reason(case, bmc_item, mother, hospital_officer):
    correction = _ask(bmc_item, mother)
    correction_refuse(correction_id=correction.pk, actor=hospital_officer, reason="与分娩记录一致")
    web = Client()
    web.force_login(mother)
    page = web.get(f"/my/cases/{case.number}/").content.decode()
    assert f'data-correction="{correction.pk}" data-state="refused"' in page
    assert "与分娩记录一致" in page


def test_the_parents_card_reads_its_corrections_in_one_statement_of_the_shown_columns(
    case, bmc_item, mother, hospital_officer
):
    """The card's statement selects only what it shows (``case_corrections``: no wide item
    or licence rows, nothing decrypted but the refusal reason); a column read after all
    would cost one statement per row, which this count would show."""
    from django.test.utils import CaptureQueriesContext

    web = Client()
    web.force_login(mother)
    web.get("/my/guidance/")  # the session's first write is not the page's cost
    refused = _ask(bmc_item, mother)
    correction_refuse(correction_id=refused.pk, actor=hospital_officer, reason="与分娩记录一致")
    with CaptureQueriesContext(connection) as one:
        web.get(f"/my/cases/{case.number}/")
    done = correction_approve(correction_id=_ask(bmc_item, mother).pk, actor=hospital_officer)
    with CaptureQueriesContext(connection) as two:
        page = web.get(f"/my/cases/{case.number}/").content.decode()
    assert f'data-correction="{refused.pk}" data-state="refused"' in page
    assert "与分娩记录一致" in page
    assert f'data-correction="{done.pk}" data-state="approved"' in page
    assert f"更正后的证照 {_new(done).serial}" in page
    assert len(two) == len(one)
    (card,) = [q["sql"] for q in two if q["sql"].startswith('SELECT "corrections_correction"')]
    assert '"workflow_caseitem"."due_at"' not in card and '"payload"' not in card


def test_the_corrected_pdf_says_what_it_replaces_and_the_old_one_is_not_printed(
    case, bmc_item, mother, hospital_officer
):
    from tests.e2e.helpers import pdf_text

    old = ELicence.objects.get(item=bmc_item)
    new = _new(correction_approve(correction_id=_ask(bmc_item, mother).pk, actor=hospital_officer))
    web = Client()
    web.force_login(mother)
    response = web.get(f"/my/elicences/{new.serial}.pdf")
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert f"取代{old.serial}" in text and "覃沐阳" in text
    assert web.get(f"/my/elicences/{old.serial}.pdf").status_code == 404


# --- four eyes: whoever asked does not decide (issue 12 gaps) ------------------------------
# Issue 12 part 5: "A parent or officer asks to correct a field of an issued result …; the
# issuing department approves or refuses" — two roles, so the one who asked is not the one
# who decides.


def _refused_attempts(case, action: str) -> list[dict[str, Any]]:
    found = AuditRecord.objects.filter(stream=case.number, action="correction_decision_refused")
    return [r.detail for r in found if r.detail.get("action") == action]


def test_an_officer_cannot_decide_their_own_request_on_the_workbench(
    case, bmc_item, hospital_officer
):
    web = Client()
    web.force_login(hospital_officer)
    web.post(
        f"/work/corrections/new/{bmc_item.pk}/",
        {"target": f"{bmc_item.pk}:newborn_name", "value": "覃沐阳", "reason": "录入错字"},
    )
    correction = Correction.objects.get()
    assert correction.requested_by == hospital_officer
    # The detail page offers no decision to the one who asked.
    page = web.get(f"/work/corrections/{correction.pk}/").content.decode()
    assert 'data-code="correction_same_person"' in page and "correction-approve" not in page

    approve = web.post(f"/work/corrections/{correction.pk}/approve/")
    assert approve.status_code == 403
    body = approve.content.decode()
    assert "不能审核自己提出的更正申请" in body and "correction_same_person" in body
    refuse = web.post(f"/work/corrections/{correction.pk}/refuse/", {"reason": "无误"})
    assert refuse.status_code == 403

    correction.refresh_from_db()
    assert correction.state == "open" and correction.decided_by is None
    assert correction.refusal_reason == "" and correction.corrected_licence is None
    assert ELicence.objects.filter(item=bmc_item).count() == 1
    assert not AuditRecord.objects.filter(
        stream=case.number, action__in=["correction_approved", "correction_refused"]
    ).exists()
    # Each refused attempt is in the case's audit chain, under the officer's name.
    for action in ("approve", "refuse"):
        [detail] = _refused_attempts(case, action)
        assert detail["code"] == "correction_same_person" and detail["field"] == "newborn_name"
    assert (
        AuditRecord.objects.filter(
            stream=case.number, action="correction_decision_refused", actor=hospital_officer
        ).count()
        == 2
    )
    from onestop.audit.services import verify_chain

    assert verify_chain(case.number) == []

    # A colleague of the same department and jurisdiction decides it.
    colleague = Client()
    colleague.force_login(officer(*HOSPITAL, name="复核员"))
    assert colleague.post(f"/work/corrections/{correction.pk}/approve/").status_code == 302
    correction.refresh_from_db()
    assert correction.state == "approved" and correction.decided_by != hospital_officer


def test_the_parent_who_asked_cannot_decide_and_only_the_issuing_department_does(
    case, bmc_item, mother, hospital_officer
):
    correction = _ask(bmc_item, mother)
    web = Client()
    web.force_login(mother)
    assert web.get(f"/work/corrections/{correction.pk}/").status_code == 404
    assert web.post(f"/work/corrections/{correction.pk}/approve/").status_code == 404
    response = web.post(f"/work/corrections/{correction.pk}/refuse/", {"reason": "算了"})
    assert response.status_code == 404
    # Neither does the police (a later item) nor a hospital of another jurisdiction.
    police = _police_item(case)
    for who in (
        officer("police", police.jurisdiction_kind, police.jurisdiction_code),
        officer("hospital", "hospital", "another-hospital"),
    ):
        other = Client()
        other.force_login(who)
        assert other.post(f"/work/corrections/{correction.pk}/approve/").status_code == 404
    correction.refresh_from_db()
    assert correction.state == "open" and correction.decided_by is None
    assert ELicence.objects.filter(item=bmc_item).count() == 1
    # The issuing hospital's officer (department and jurisdiction) decides it.
    staff = Client()
    staff.force_login(hospital_officer)
    staff.post(f"/work/corrections/{correction.pk}/refuse/", {"reason": "与分娩记录一致"})
    correction.refresh_from_db()
    assert correction.state == "refused" and correction.decided_by == hospital_officer


def test_api_client_cannot_decide_a_request_its_account_made(case, bmc_item):
    system = issue(*HOSPITAL)
    correction = _ask(bmc_item, system.client.user)
    api = Api(system.token)
    for key in (None, "own-1"):
        response = api.post(f"/corrections/{correction.pk}/approve", key=key)
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "correction_same_person"
        assert "不能审核自己提出的更正申请" in response.json()["message"]
    response = api.post(f"/corrections/{correction.pk}/refuse", {"reason": "无误"}, key="own-2")
    assert response.status_code == 403 and response.json()["code"] == "correction_same_person"
    correction.refresh_from_db()
    assert correction.state == "open" and correction.decided_by is None
    assert ELicence.objects.filter(item=bmc_item).count() == 1
    assert len(_refused_attempts(case, "approve")) == 2
    assert len(_refused_attempts(case, "refuse")) == 1
    # A refused attempt stores no answer: the key is not used up.
    from onestop.integration.models import IdempotentResponse

    assert not IdempotentResponse.objects.filter(key__in=["own-1", "own-2"]).exists()


def test_api_client_decides_a_request_an_officer_made(case, bmc_item, hospital_officer):
    correction = _ask(bmc_item, hospital_officer)
    api = Api(issue(*HOSPITAL).token)
    response = api.post(f"/corrections/{correction.pk}/approve")
    assert response.status_code == 200, response.content
    correction.refresh_from_db()
    assert correction.state == "approved"
    assert not _refused_attempts(case, "approve")


# --- what a request and its decisions cost the database ----------------------------------
# Each locks its case with the one case lock (`cases.services.case_locked`), which reads
# the audit stream's last record in the same statement: the record follows it without a
# read of the chain of its own (issue 10, session 24). Real transactions: the test's
# own would keep the last record the setup wrote known. Budgets: statements measured on
# SQLite and PostgreSQL (the larger), one fewer each than before the case lock.
REQUEST_BUDGET = 16
REFUSAL_BUDGET = 13
APPROVAL_BUDGET = 31


@pytest.mark.django_db(transaction=True)
def test_a_request_and_its_decisions_read_no_chain_of_their_own(
    case, bmc_item, mother, hospital_officer, django_assert_max_num_queries
):
    with django_assert_max_num_queries(REQUEST_BUDGET) as queries:
        asked = _ask(bmc_item, mother)
    assert audit_chain_reads(queries.captured_queries) == 0
    with django_assert_max_num_queries(REFUSAL_BUDGET) as queries:
        correction_refuse(correction_id=asked.pk, actor=hospital_officer, reason="与分娩记录一致")
    assert audit_chain_reads(queries.captured_queries) == 0
    asked = _ask(bmc_item, mother)
    with django_assert_max_num_queries(APPROVAL_BUDGET) as queries:
        done = correction_approve(correction_id=asked.pk, actor=hospital_officer)
    assert done.state == Correction.State.APPROVED
    assert audit_chain_reads(queries.captured_queries) == 0
    assert verify_chain(case.number) == []
