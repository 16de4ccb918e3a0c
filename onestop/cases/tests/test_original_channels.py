"""The original channels stay open (issue 11, promise 12; Jilin 三(二): 不得以“一件事联办”为理由
拒绝群众通过原渠道办理各相关事项; ADR 0034): a refused case's notice says per item where it can
be done for THIS case (institution, address, office hours), what to bring, and that the
refusal of the bundle does not stop applying there — on the PDF, the parents' page, the
counter page and the SMS. The decision JSON keeps its `ordinary_channels` strings."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.test import Client
from django.urls import reverse

from onestop.cases.channels import item_channels
from onestop.cases.models import Case
from onestop.cases.printing import case_notice_pdf
from onestop.integration.tests.support import Api, current, hospital
from onestop.notifications.models import Notification
from onestop.reference.services import reference_seed
from onestop.testing.factories import parent, staff

pytestmark = pytest.mark.django_db

STATION = "兰州市公安局城关分局示范派出所"
STATION_ADDRESS = "兰州市城关区示范路2号"
HOSPITAL = "兰州市妇幼保健院"


def refused_lanzhou_case(example) -> Case:
    reference_seed()  # the institutions' addresses and office hours (institution_contact)
    api = Api(hospital("lanzhou-mch", may_submit_cases=True, webhook_url="").token)
    document = current(example("lanzhou-reject-registration-after-one-month"))
    response = api.post("/cases", document, key="r")
    assert response.status_code == 201, response.json()
    case = Case.objects.get()
    assert case.status == "rejected"
    return case


def test_each_item_says_where_for_this_case_and_what_to_bring(example, media_root):
    case = refused_lanzhou_case(example)
    channels = {c.item: c for c in item_channels(case)}
    assert set(channels) == set(case.document["items"])
    registration = channels["birth_registration"]
    assert registration.place == STATION and registration.address == STATION_ADDRESS
    assert "8:30" in registration.hours
    assert any("户口簿" in m for m in registration.materials)
    assert any("结婚证" in m for m in registration.materials)
    assert channels["birth_certificate"].place.startswith(HOSPITAL[:4])
    # division-routed items have no one institution: the plan's channel only, still named
    assert channels["social_security_card"].place == ""
    assert channels["social_security_card"].channel in channels["social_security_card"].text
    # the decision JSON contract is unchanged: plain ordinary channels
    assert all(isinstance(c, str) for c in case.decision["ordinary_channels"])


def test_the_sms_names_the_places(example, media_root):
    case = refused_lanzhou_case(example)
    bodies = [n.body for n in Notification.objects.filter(case=case)]
    assert any(STATION in b and STATION_ADDRESS in b and "不影响单独办理" in b for b in bodies)


def test_the_parents_page_and_the_notice_say_how(example, media_root):
    case = refused_lanzhou_case(example)
    client = Client()
    client.force_login(parent(case.document["applicant"]["phone"]))
    page = client.get(reverse("portal:case", args=[case.number]))
    assert page.status_code == 200
    text = page.content.decode()
    assert STATION in text and STATION_ADDRESS in text and "请携带" in text
    assert "不得以“一件事联办”为由拒绝办理" in text
    assert "只选择需要办理的事项" in text  # Lanzhou is online: apply for one item there
    pdf = case_notice_pdf(case)
    assert pdf.startswith(b"%PDF-")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed: text not extracted")
    printed = "".join(
        subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
        .stdout.decode()
        .split()
    )
    assert STATION in printed and "请携带" in printed and "一件事联办" in printed


def test_the_counter_page_says_how(media_root):
    from onestop.counter.tests.test_counter import JILIN, post_case

    reference_seed()
    client = Client()
    client.force_login(staff("clerk", kind="service_center", code="jilin-sc", name="窗口刘"))
    assert post_case(client, {**JILIN, "birth_registration_bmc_number": ""}).status_code == 302
    case = Case.objects.get()
    assert case.status == "rejected"
    text = client.get(f"/counter/cases/{case.number}/").content.decode()
    assert "长春市公安局南关分局示范派出所" in text and "请携带" in text
    assert "到窗口只申请需要办理的事项" in text  # Jilin is counter only
