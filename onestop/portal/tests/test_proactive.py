"""Proactive start (issue 11 promise 13, ADR 0033): a hospital system records a delivery
through the API; the mother gets one SMS, signs in with her phone, finds her prepared
draft and submits it. Everything through HTTP; effects checked in the database."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from onestop.cases.models import Case, CaseStatus
from onestop.common.fields import index_of
from onestop.hospitals.models import DeliveryRecord
from onestop.integration.tests.support import Api, current, hospital, issue
from onestop.notifications.models import Notification
from onestop.portal.models import Draft, Invitation
from onestop.portal.services import DRAFT_LIFETIME, drafts_expire
from onestop.portal.tests.support import (
    BIRTH,
    DETAILS,
    MOTHER_ID,
    MOTHER_PHONE,
    PARENTS,
    QINBEI_ITEMS,
    QINBEI_MATERIALS,
    RECORD,
    freeze,
    mother_client,
    pdf,
    post,
    step,
)
from onestop.testing.costs import database_cost

pytestmark = pytest.mark.django_db


def delivery(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "record_number": RECORD,
        "mother": {"name": "黄丽", "id_number": MOTHER_ID, "phone": MOTHER_PHONE},
        "newborn": {
            "born_at": "2026-11-10T08:20:00+08:00",
            "sex": "1",
            "weight_g": 3300,
            "length_cm": 50,
            "gestational_weeks": 39,
            "birth_attendant": "韦敏",
            "blood_type": "A",
            "in_hospital": True,
        },
    }
    body.update(changes)
    return body


def sms_to(phone: str) -> list[Notification]:
    return list(
        Notification.objects.filter(
            channel="sms", phone_index=index_of(phone, purpose="phone")
        ).order_by("pk")
    )


def invitation_sms() -> list[Notification]:
    return [n for n in sms_to(MOTHER_PHONE) if "准备好申请表" in n.body]


def signed_in_by_sms(link_path: str, phone: str = MOTHER_PHONE) -> Client:
    """Open the SMS link, get sent to sign-in, sign in with the code, land back."""
    browser = Client()
    first = browser.get(link_path)
    assert first.status_code == 302 and "parent" in first["Location"]
    login = first["Location"]
    assert browser.post(login, {"phone": phone}).status_code == 200
    code = re.search(r"验证码是 (\d{6})", sms_to(phone)[-1].body)
    assert code is not None
    signed = browser.post(login, {"phone": phone, "code": code.group(1)})
    assert signed.status_code == 302 and signed["Location"] == link_path
    return browser


@pytest.fixture
def qinbei_mch() -> Api:
    return Api(hospital("qinbei-mch").token)


def test_a_delivery_prepares_one_draft_and_one_sms_and_a_replay_none_more(monkeypatch, qinbei_mch):
    freeze(monkeypatch)
    answer = qinbei_mch.post("/deliveries", delivery(), key="d-1")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["created"] is True and body["record_number"] == RECORD
    assert body["invitation"]["status"] == "invited" and body["invitation"]["region"] == "qinbei"
    assert Invitation.objects.count() == 1 and Draft.objects.count() == 1
    messages = invitation_sms()
    assert len(messages) == 1
    link = re.search(r"https?://\S+", messages[0].body)
    assert link is not None and link.group(0).endswith("/my/apply/qinbei/")
    # Nothing personal in the SMS link or text: no record number, ID, name or phone.
    for secret in (RECORD, MOTHER_ID, MOTHER_PHONE, "黄丽"):
        assert secret not in messages[0].body
    draft = Draft.objects.get()
    assert draft.document["newborns"][0]["weight_g"] == 3300
    assert draft.document["mother"]["id_number"] == MOTHER_ID
    assert "newborns[0].born_at" in draft.locked and "mother.id_number" in draft.locked
    # The same key replayed, the same record sent again without a key, and an update of the
    # record: no second draft, no second SMS.
    again = qinbei_mch.post("/deliveries", delivery(), key="d-1")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    unkeyed = qinbei_mch.post("/deliveries", delivery())
    assert unkeyed.status_code == 200
    assert unkeyed.json()["invitation"] == {
        **unkeyed.json()["invitation"],
        "status": "not_invited",
        "reason": "already_invited",
        "state": "invited",
    }
    updated = delivery()
    updated["newborn"]["weight_g"] = 3350
    assert qinbei_mch.post("/deliveries", updated).status_code == 200
    assert Invitation.objects.count() == 1 and Draft.objects.count() == 1
    assert len(invitation_sms()) == 1
    assert DeliveryRecord.objects.count() == 1
    other_body = qinbei_mch.post("/deliveries", updated, key="d-1")
    assert other_body.status_code == 409


def test_another_hospitals_client_cannot_record_for_this_hospital(monkeypatch):
    freeze(monkeypatch)
    other = Api(hospital("qinbei-people").token)
    answer = other.post("/deliveries", delivery(hospital="qinbei-mch"))
    assert answer.status_code == 403 and answer.json()["code"] == "outside_jurisdiction"
    police = Api(issue("police", "police_station", "qinbei-xintang").token)
    assert police.post("/deliveries", delivery()).status_code == 403
    assert not DeliveryRecord.objects.exists() and not Invitation.objects.exists()
    assert invitation_sms() == []


def test_the_mothers_id_and_phone_are_checked(monkeypatch, qinbei_mch):
    freeze(monkeypatch)
    bad_id = delivery(
        mother={"name": "黄丽", "id_number": "450703199203150221", "phone": MOTHER_PHONE}
    )
    answer = qinbei_mch.post("/deliveries", bad_id)
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_id_number"
    bad_phone = delivery(mother={"name": "黄丽", "id_number": MOTHER_ID, "phone": "12345678901"})
    answer = qinbei_mch.post("/deliveries", bad_phone)
    assert answer.status_code == 422 and answer.json()["code"] == "phone_invalid"
    assert not DeliveryRecord.objects.exists() and invitation_sms() == []


def test_a_region_without_the_online_channel_gets_no_invitation_and_is_told_why(monkeypatch):
    freeze(monkeypatch)
    jilin = Api(hospital("jilin-city-mch").token)
    body = delivery(record_number="JL2026-0007")
    body["mother"]["id_number"] = MOTHER_ID
    answer = jilin.post("/deliveries", body)
    assert answer.status_code == 201, answer.content
    invitation = answer.json()["invitation"]
    assert invitation["status"] == "not_invited" and invitation["reason"] == "no_online_channel"
    assert "网上申请" in invitation["message"]
    assert DeliveryRecord.objects.count() == 1  # the record is kept for the counter's lookup
    assert not Invitation.objects.exists() and not Draft.objects.exists()
    assert invitation_sms() == []


def test_no_invitation_when_the_newborn_already_has_a_case(monkeypatch, qinbei_mch, example):
    freeze(monkeypatch)
    document = current(example("qinbei-accept"))
    document["newborns"][0]["record_number"] = RECORD
    submitted = qinbei_mch.post("/cases", document, key="case-1")
    assert submitted.status_code == 201, submitted.content
    answer = qinbei_mch.post("/deliveries", delivery())
    assert answer.json()["invitation"]["reason"] == "case_exists"
    assert not Invitation.objects.exists() and invitation_sms() == []


def test_the_draft_is_visible_only_to_the_mothers_phone(monkeypatch, qinbei_mch, media_root):
    freeze(monkeypatch)
    assert qinbei_mch.post("/deliveries", delivery()).status_code == 201
    stranger = mother_client("13700000000")
    page = stranger.get(step("qinbei", "birth")).content.decode()
    assert "3300" not in page and MOTHER_ID[-4:] not in page
    assert (
        Draft.objects.filter(owner__phone_index=index_of(MOTHER_PHONE, purpose="phone")).count()
        == 1
    )
    mother = signed_in_by_sms("/my/apply/qinbei/")
    birth = mother.get(step("qinbei", "birth")).content.decode()
    assert 'value="3300"' in birth and "来自医院分娩记录" in birth
    assert "查询分娩记录并填入" not in birth  # nothing to look up: the hospital sent it


def test_the_invitation_becomes_a_submitted_case(monkeypatch, qinbei_mch, media_root):
    freeze(monkeypatch)
    assert qinbei_mch.post("/deliveries", delivery()).status_code == 201
    mother = signed_in_by_sms("/my/apply/qinbei/")
    items = mother.get(step("qinbei", "items")).content.decode()
    assert "申请表已为您准备好" in items
    post(mother, step("qinbei", "items"), {"items": QINBEI_ITEMS, "role": "mother"})
    # The hospital's fields cannot be changed: a tampered weight is ignored.
    post(
        mother, step("qinbei", "birth"), {**BIRTH, "newborns_0_weight_g": "9999", "action": "next"}
    )
    assert Draft.objects.get().document["newborns"][0]["weight_g"] == 3300
    post(mother, step("qinbei", "parents"), {**PARENTS, "action": "next"})
    post(mother, step("qinbei", "details"), {**DETAILS, "action": "next"})
    files = {f"file_{code}": pdf(f"{code}.pdf") for code in QINBEI_MATERIALS}
    post(mother, step("qinbei", "materials"), {**files, "action": "next"})
    post(mother, step("qinbei", "confirm"), {"signer_name": "黄丽", "promise": "on"})
    case = Case.objects.get()
    assert case.status == CaseStatus.IN_PROGRESS and case.decision["decision"] == "accept"
    assert case.document["newborns"][0]["record_number"] == RECORD
    assert case.document["newborns"][0]["weight_g"] == 3300
    invitation = Invitation.objects.get()
    assert invitation.state == Invitation.State.SUBMITTED
    assert invitation.case_number == case.number and invitation.submitted_at is not None
    assert not Draft.objects.exists()
    # A later push of the same record invites nobody.
    again = qinbei_mch.post("/deliveries", delivery())
    assert again.json()["invitation"]["reason"] == "already_invited"
    assert len(invitation_sms()) == 1


def test_the_invitation_ends_with_the_draft(monkeypatch, qinbei_mch, media_root):
    freeze(monkeypatch)
    assert qinbei_mch.post("/deliveries", delivery()).status_code == 201
    later = Draft.objects.get().updated_at + DRAFT_LIFETIME + timedelta(minutes=1)
    assert drafts_expire(now=later) == 1
    assert Invitation.objects.get().state == Invitation.State.EXPIRED
    # Expired, the record is still invited once only.
    again = qinbei_mch.post("/deliveries", delivery())
    assert again.json()["invitation"]["reason"] == "already_invited"


def test_the_mother_may_discard_the_prepared_draft(monkeypatch, qinbei_mch, media_root):
    freeze(monkeypatch)
    assert qinbei_mch.post("/deliveries", delivery()).status_code == 201
    mother = signed_in_by_sms("/my/apply/qinbei/")
    assert mother.post("/my/apply/qinbei/discard/").status_code == 302
    assert not Draft.objects.exists()
    assert Invitation.objects.get().state == Invitation.State.DISCARDED


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs concurrent writers")
def test_the_same_delivery_sent_at_the_same_moment_invites_once(media_root):
    token = hospital("qinbei-mch").token
    barrier = threading.Barrier(3)
    answers: list[Any] = []

    def send() -> None:
        try:
            barrier.wait()
            answers.append(Api(token).post("/deliveries", delivery()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200, 200, 201]
    assert sorted(a.json()["invitation"]["status"] for a in answers) == [
        "invited",
        "not_invited",
        "not_invited",
    ]
    assert DeliveryRecord.objects.count() == 1 and Invitation.objects.count() == 1
    assert Draft.objects.count() == 1 and len(invitation_sms()) == 1


@pytest.mark.django_db(transaction=True)
def test_recording_a_delivery_is_one_transaction(media_root):
    """The record, the mother's account, the draft, the invitation, the audit record and
    the SMS in the outbox commit together (and a replay writes nothing new)."""
    api = Api(hospital("qinbei-mch").token)
    with database_cost() as first:
        assert api.post("/deliveries", delivery()).status_code == 201
    with database_cost() as replay:
        assert api.post("/deliveries", delivery()).status_code == 200
    if connection.vendor == "postgresql":
        assert (first.transactions, replay.transactions) == (1, 1), (first, replay)
    print(f"deliveries: first {first}, replay {replay}")
    assert first.statements <= 40 and replay.statements <= first.statements


@pytest.mark.parametrize(
    "target", ["https://evil.example/my/apply/qinbei/", "//evil.example/my/", "/admin/", ""]
)
def test_sign_in_returns_only_to_a_parents_page(target):
    browser = Client()
    login = f"/accounts/parent/?next={target}"
    assert browser.post(login, {"phone": MOTHER_PHONE}).status_code == 200
    code = re.search(r"验证码是 (\d{6})", sms_to(MOTHER_PHONE)[-1].body)
    assert code is not None
    signed = browser.post(login, {"phone": MOTHER_PHONE, "code": code.group(1)})
    assert signed.status_code == 302 and signed["Location"] == "/my/cases/"


def test_twins_under_two_record_numbers_join_one_application_with_one_sms(
    monkeypatch, qinbei_mch, media_root
):
    freeze(monkeypatch)
    assert qinbei_mch.post("/deliveries", delivery()).status_code == 201
    second = delivery(record_number="ZY2026-11-0043")
    second["newborn"] = {**second["newborn"], "born_at": "2026-11-10T08:31:00+08:00"}
    second["newborn"]["weight_g"] = 2900
    answer = qinbei_mch.post("/deliveries", second)
    assert answer.status_code == 201 and answer.json()["invitation"]["status"] == "invited"
    assert "多胞胎" in answer.json()["invitation"]["message"]
    draft = Draft.objects.get()
    assert [b["weight_g"] for b in draft.document["newborns"]] == [3300, 2900]
    assert "newborns[1].weight_g" in draft.locked and "newborns[0].weight_g" in draft.locked
    assert Invitation.objects.filter(draft=draft).count() == 2 and len(invitation_sms()) == 1
    # The first record sent again keeps its place.
    assert qinbei_mch.post("/deliveries", delivery()).status_code == 200
    assert [b["weight_g"] for b in Draft.objects.get().document["newborns"]] == [3300, 2900]
    mother = signed_in_by_sms("/my/apply/qinbei/")
    items = mother.get(step("qinbei", "items")).content.decode()
    assert 'value="2" selected' in items  # two newborns
    birth = mother.get(step("qinbei", "birth")).content.decode()
    assert 'value="3300"' in birth and 'value="2900"' in birth
    post(
        mother,
        step("qinbei", "items"),
        {"items": QINBEI_ITEMS, "role": "mother", "newborn_count": "2"},
    )
    twin = {"newborns_1_name": "覃沐晨", "newborns_1_ethnicity_follows": "father",
            "newborns_1_native_place_follows": "father"}  # fmt: skip
    post(mother, step("qinbei", "birth"), {**BIRTH, **twin, "action": "next"})
    post(mother, step("qinbei", "parents"), {**PARENTS, **twin, "action": "next"})
    post(
        mother, step("qinbei", "details"), {**DETAILS, "maternity_plurality": "2", "action": "next"}
    )
    files = {f"file_{code}": pdf(f"{code}.pdf") for code in QINBEI_MATERIALS}
    post(mother, step("qinbei", "materials"), {**files, "action": "next"})
    post(mother, step("qinbei", "confirm"), {"signer_name": "黄丽", "promise": "on"})
    case = Case.objects.get()
    assert [b["record_number"] for b in case.document["newborns"]] == [RECORD, "ZY2026-11-0043"]
    assert set(Invitation.objects.values_list("state", flat=True)) == {"submitted"}
