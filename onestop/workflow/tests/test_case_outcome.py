"""A finished case tells the parents what came of it (issue 8, defect 5).

"A refused bundle is reported to the parents as '已全部办结' (SMS and case status).
Completed, partly refused and fully refused cases read differently and say what to do
next." Refusals go through the officers' workbench; the parents' SMS rows, their case page,
the supervisors' list and the API status are checked.
"""

from __future__ import annotations

import pytest
from django.test import Client

from onestop.accounts.models import Role
from onestop.cases.models import Case, TimelineEntry
from onestop.cases.services import case_submit
from onestop.integration.tests.support import Api, hospital
from onestop.notifications.models import Notification
from onestop.ops.demo import shift_dates
from onestop.testing.factories import SAMPLE_RESULTS, officer, parent, staff
from onestop.workflow.domain.outcome import case_outcome
from onestop.workflow.models import CaseItem

pytestmark = pytest.mark.django_db

MOTHER_PHONE = "13800000000"  # qinbei-accept: the mother applies
ALL_DONE_SMS = "已全部办结，请登录查看结果和领取方式"


@pytest.fixture
def submit(example, beijing, media_root):
    def go(items: list[str] | None = None) -> Case:
        now = beijing("2026-11-20T09:30:00+08:00")
        document = example("qinbei-accept")
        shift_dates(document, now)
        if items is not None:
            document["items"] = items
        case = case_submit(document=document, actor=None, now=now).case
        assert case.status == "in_progress", case.decision
        return case

    return go


def row(case: Case, item: str) -> CaseItem:
    return CaseItem.objects.get(case=case, item=item)


def workbench(case: Case, item: str) -> tuple[Client, CaseItem]:
    found = row(case, item)
    client = Client()
    client.force_login(officer(found.department, found.jurisdiction_kind, found.jurisdiction_code))
    return client, found


def complete(case: Case, item: str) -> None:
    client, found = workbench(case, item)
    response = client.post(
        f"/work/tasks/{found.pk}/complete/", {"version": found.version, **SAMPLE_RESULTS[item]}
    )
    assert response.status_code == 302
    assert row(case, item).state == "done"


def refuse(case: Case, item: str, reason: str) -> None:
    client, found = workbench(case, item)
    response = client.post(
        f"/work/tasks/{found.pk}/refuse/", {"version": found.version, "reasons": reason}
    )
    assert response.status_code == 302
    assert row(case, item).state == "refused"


def closing_sms(case: Case) -> str:
    """The closing notice: the line of the case's last SMS before the invitation to rate
    (好差评, which ends it, ADR 0038). It is one SMS with the message of the item whose end
    closed the case (issue 10: one SMS per recipient and state change), so it is no longer
    a message of its own."""
    last = Notification.objects.filter(case=case, channel="sms").order_by("-pk").first()
    assert last is not None and last.dedup_key.startswith("joined:"), last
    lines = str(last.body).split("\n")
    assert "/rate/" in lines[-1], lines
    return lines[-2]


def pages(case: Case) -> tuple[str, str, str]:
    mother = Client()
    mother.force_login(parent(MOTHER_PHONE))
    supervisor = Client()
    supervisor.force_login(staff(Role.SUPERVISOR, kind="division", code="45"))
    return (
        mother.get(f"/my/cases/{case.number}/").content.decode(),
        mother.get("/my/cases/").content.decode(),
        supervisor.get(f"/supervise/?q={case.number}", follow=True).content.decode(),
    )


def api_outcome(case: Case) -> tuple[str, str | None]:
    body = Api(hospital().token).get(f"/cases/{case.number}").json()
    return body["status"], body["outcome"]


def test_one_refused_item_reads_partly_done_with_names_reasons_and_where_to_go(submit):
    case = submit()
    for item in (
        "birth_certificate",
        "vaccination_certificate",
        "parenting_guidance",
        "birth_registration",
        "medical_insurance_enrolment",
        "maternity_reimbursement",
    ):
        complete(case, item)
    refuse(case, "social_security_card", "合作银行暂停办理新生儿社会保障卡")

    case.refresh_from_db()
    assert case.status == "completed"
    sms = closing_sms(case)
    assert "已全部办结" not in sms
    assert "部分事项已办结" in sms
    assert "社会保障卡申领未能办理（不予办理：合作银行暂停办理新生儿社会保障卡）" in sms
    assert "到人力资源社会保障部门或合作银行网点申领社会保障卡" in sms  # the ordinary channel
    line = TimelineEntry.objects.get(case=case, kind="case_completed")
    assert line.visible_to_parent and "部分办结" in line.message

    progress, mine, supervised = pages(case)
    for page in (progress, mine, supervised):
        assert 'data-outcome="partly_refused"' in page and "部分办结" in page
        assert "已全部办结</span>" not in page
    assert api_outcome(case) == ("completed", "partly_refused")
    steps = progress.split('data-next-steps="partly_refused"')[1].split("</div>")[0]
    assert "社会保障卡申领：不予办理：合作银行暂停办理新生儿社会保障卡" in steps
    assert "到人力资源社会保障部门或合作银行网点申领社会保障卡" in steps


def test_refusing_the_first_item_reads_nothing_done_and_where_to_go(submit):
    case = submit(["birth_certificate", "birth_registration"])
    refuse(case, "birth_certificate", "分娩记录与申请信息不一致")
    assert row(case, "birth_registration").state == "cancelled"

    case.refresh_from_db()
    assert case.status == "completed"
    sms = closing_sms(case)
    assert "已办结" not in sms
    assert "未能办理" in sms and "分娩记录与申请信息不一致" in sms
    assert "《出生医学证明》办理（首签）（不予办理：分娩记录与申请信息不一致）" in sms
    assert "出生登记（户口登记）（因《出生医学证明》办理（首签）不予办理而取消）" in sms
    assert "到分娩的助产机构申领《出生医学证明》" in sms  # where to go instead
    assert "持《出生医学证明》到落户地公安派出所申报出生登记" in sms

    progress, mine, supervised = pages(case)
    for page in (progress, mine, supervised):
        assert 'data-outcome="refused"' in page and "未能办理" in page
    assert api_outcome(case) == ("completed", "refused")
    steps = progress.split('data-next-steps="refused"')[1].split("</div>")[0]
    assert "办件未能办理" in steps and "到分娩的助产机构申领《出生医学证明》" in steps


def test_all_done_keeps_the_completed_message(submit):
    case = submit(["birth_certificate", "birth_registration"])
    complete(case, "birth_certificate")
    assert api_outcome(case) == ("in_progress", None)
    complete(case, "birth_registration")

    sms = closing_sms(case)
    # The signature 【出生一件事】 opens the joined SMS once (its first line).
    assert sms == f"您的办件{case.number}{ALL_DONE_SMS}。"
    assert TimelineEntry.objects.get(case=case, kind="case_completed").message == "办件已全部办结"
    progress, mine, supervised = pages(case)
    for page in (progress, mine, supervised):
        assert 'data-outcome="done"' in page
    assert api_outcome(case) == ("completed", "done")
    assert "data-next-steps" not in progress
    schema = Client().get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert schema["CaseOut"]["properties"]["outcome"]


@pytest.mark.parametrize(
    ("states", "outcome"),
    [
        (["done", "done"], "done"),
        (["done", "refused"], "partly_refused"),
        (["done", "cancelled"], "partly_refused"),
        (["refused", "cancelled"], "refused"),
        (["cancelled"], "refused"),
        (["done", "ready"], None),
        (["returned"], None),
        ([], None),
    ],
)
def test_outcome_of_item_states(states, outcome):
    assert case_outcome(states) == outcome
