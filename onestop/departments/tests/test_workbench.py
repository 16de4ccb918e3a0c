"""The workbench over HTTP: queues by department and jurisdiction, actions, and refusals
of every cross-jurisdiction request."""

from __future__ import annotations

import pytest
from django.test import Client

from onestop.audit.models import AccessRecord
from onestop.cases.services import case_submit
from onestop.testing.factories import officer, staff
from onestop.testing.files import pdf_bytes
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(example, beijing, media_root):
    return case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_hospital_officer_sees_and_completes_the_bmc(case):
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    user = officer("hospital", "hospital", "qinbei-mch", "韦敏")
    client = client_for(user)
    page = client.get("/work/")
    assert page.status_code == 200
    assert case.number in page.content.decode()
    task = client.get(f"/work/tasks/{bmc.pk}/")
    assert task.status_code == 200
    body = task.content.decode()
    assert "出生医学证明编号" in body
    # Least privilege: the hospital's task does not show insurance or bank details.
    assert "icbc" not in body and "payment_channel" not in body
    done = client.post(
        f"/work/tasks/{bmc.pk}/complete/", {"version": bmc.version, "bmc_number": "Q450123456"}
    )
    assert done.status_code == 302
    bmc.refresh_from_db()
    assert bmc.state == "done"
    police = CaseItem.objects.get(case=case, item="birth_registration")
    assert police.state == "ready"


def test_police_task_shows_the_bmc_elicence_instead_of_paper(case):
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    client_for(officer("hospital", "hospital", "qinbei-mch")).post(
        f"/work/tasks/{bmc.pk}/complete/", {"bmc_number": "Q450123456"}
    )
    reg = CaseItem.objects.get(case=case, item="birth_registration")
    page = client_for(officer("police", "police_station", "qinbei-xintang")).get(
        f"/work/tasks/{reg.pk}/"
    )
    assert page.status_code == 200
    assert "Q450123456" in page.content.decode()


@pytest.mark.parametrize(
    ("department", "kind", "code"),
    [
        ("hospital", "hospital", "qinbei-people"),  # another hospital
        ("police", "police_station", "qinbei-xintang"),  # right place, wrong department
        ("hospital", "division", "6201"),  # another region
    ],
)
def test_cross_jurisdiction_requests_are_refused_for_every_staff_view(case, department, kind, code):
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    client = client_for(officer(department, kind, code))
    assert case.number not in client.get("/work/").content.decode()
    assert client.get(f"/work/tasks/{bmc.pk}/").status_code == 404
    for action in ("claim", "complete", "return", "refuse"):
        response = client.post(f"/work/tasks/{bmc.pk}/{action}/", {"reasons": "x"})
        assert response.status_code == 404
    bmc.refresh_from_db()
    assert bmc.state == "ready"
    assert AccessRecord.objects.filter(granted=False).exists()


def test_non_officers_cannot_open_the_workbench(case):
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    for user in (
        staff("clerk", kind="hospital", code="qinbei-mch"),
        staff("supervisor", kind="division", code="450703"),
    ):
        client = client_for(user)
        assert client.get("/work/").status_code == 404
        assert client.get(f"/work/tasks/{bmc.pk}/").status_code == 404


def test_second_officer_sees_why_the_claim_failed(case):
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    first = client_for(officer("hospital", "hospital", "qinbei-mch", "韦敏"))
    second = client_for(officer("hospital", "hospital", "qinbei-mch", "黄华"))
    first.post(f"/work/tasks/{bmc.pk}/claim/", {"version": bmc.version})
    response = second.post(f"/work/tasks/{bmc.pk}/claim/", {"version": bmc.version}, follow=True)
    text = response.content.decode()
    assert "韦敏" in text
    bmc.refresh_from_db()
    assert bmc.claimed_by is not None and bmc.claimed_by.display_name == "韦敏"


def test_officer_opens_only_the_materials_of_their_item(example, beijing, media_root):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from onestop.cases.models import Material

    pdf = pdf_bytes()
    case = case_submit(
        document=example("qinbei-accept"),
        actor=None,
        now=beijing("2026-11-20T09:30:00+08:00"),
        files={
            "marriage_certificate": SimpleUploadedFile("m.pdf", pdf),
            "delivery_record_page": SimpleUploadedFile("d.pdf", pdf),
        },
    ).case
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    hospital = client_for(officer("hospital", "hospital", "qinbei-mch"))
    page = hospital.get(f"/work/tasks/{bmc.pk}/").content.decode()
    record = Material.objects.get(case=case, code="delivery_record_page")
    marriage = Material.objects.get(case=case, code="marriage_certificate")
    assert record.token in page and marriage.token not in page
    got = hospital.get(f"/work/tasks/{bmc.pk}/materials/{record.token}/")
    assert got.status_code == 200 and got.content == pdf
    # At rest the file is encrypted: the storage never holds the plain scan.
    with record.file.open("rb") as stored:
        assert not stored.read().startswith(b"%PDF")
    # The marriage certificate is for the police, not the hospital.
    assert hospital.get(f"/work/tasks/{bmc.pk}/materials/{marriage.token}/").status_code == 404
    stranger = client_for(officer("hospital", "hospital", "qinbei-people"))
    assert stranger.get(f"/work/tasks/{bmc.pk}/materials/{record.token}/").status_code == 404


def test_task_view_speaks_chinese_not_field_names(case):
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    page = client_for(officer("hospital", "hospital", "qinbei-mch")).get(f"/work/tasks/{bmc.pk}/")
    text = page.content.decode()
    assert "母亲姓名" in text and "新生儿出生时间" in text and "自取" in text
    assert "id_number" not in text and "born_at" not in text


def test_task_view_reads_names_and_dates_not_codes(case):
    """Issue 9: "Everywhere a person reads a value, they read its name" (officers' task
    views), "with dates as people write them (2026年11月22日 08:20)"."""
    police = CaseItem.objects.get(case=case, item="birth_registration")
    user = officer("police", "police_station", "qinbei-xintang")
    text = client_for(user).get(f"/work/tasks/{police.pk}/").content.decode()
    assert "<td>钦北区妇幼保健院</td>" in text and "qinbei-mch" not in text
    assert "<td>钦州市公安局钦北分局新棠派出所</td>" in text and "qinbei-xintang<" not in text
    assert "<td>汉族</td>" in text and "<td>壮族</td>" in text
    assert "<td>广西壮族自治区钦州市钦北区</td>" in text and "<td>450703</td>" not in text
    assert "<td>2026年11月10日 08:20</td>" in text and "2026-11-10T08:20" not in text
    # Grouped and ordered as the paper form: 新生儿, 母亲, 父亲, 出生登记 …
    heads = [text.index(f"<h3>{title}</h3>") for title in ("新生儿信息", "母亲信息", "父亲信息")]
    assert heads == sorted(heads) and text.index("<h3>出生登记信息</h3>") > heads[-1]
