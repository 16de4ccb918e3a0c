"""Every URL that names a case, a task, a material or an e-licence, requested by everyone
who must not see it: staff of other jurisdictions and departments, another region's
supervisor and clerk, another parent, staff on the parents' pages, and department systems
of other jurisdictions over the API. Nothing of the case may come back (issue 8: "0 leaks
in 17,730 requests ... Those stay"; defect 10: staff on the parents' pages).

A *leak* is an answer that is a success (2xx), or any answer whose body carries the case
number or the mother's name. Every refused request writes an access record where a view
refuses a person (checked for the parents' pages, the subject of defect 10).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import pytest
from django.test import Client

from onestop.accounts.models import User
from onestop.audit.models import AccessRecord
from onestop.cases.models import Case, Material
from onestop.cases.services import case_submit
from onestop.certificates.models import ELicence
from onestop.integration.tests.support import Api, issue
from onestop.testing.factories import SAMPLE_RESULTS, officer, parent, staff
from onestop.testing.reliability import reliability_record
from onestop.workflow.models import CaseItem
from onestop.workflow.services import item_complete

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Target:
    case: Case
    bmc: CaseItem
    registration: CaseItem
    serial: str
    material: str
    mother_name: str


@pytest.fixture
def target(example, beijing, media_root) -> Target:
    now = beijing("2026-11-20T09:30:00+08:00")
    document = example("qinbei-accept")
    case = case_submit(document=document, actor=None, now=now).case
    bmc = CaseItem.objects.get(case=case, item="birth_certificate")
    item_complete(
        item_id=bmc.pk,
        actor=officer("hospital", "hospital", "qinbei-mch"),
        result=SAMPLE_RESULTS["birth_certificate"],
        now=beijing("2026-11-20T10:00:00+08:00"),
    )
    serial = ELicence.objects.get(item=bmc).serial
    material = Material.objects.filter(case=case).first()
    return Target(
        case=case,
        bmc=bmc,
        registration=CaseItem.objects.get(case=case, item="birth_registration"),
        serial=serial,
        material=material.token if material else "none",
        mother_name=document["mother"]["name"],
    )


def _staff_urls(t: Target) -> list[tuple[str, str]]:
    n = t.case.number
    gets = [
        f"/work/tasks/{t.bmc.pk}/",
        f"/work/tasks/{t.registration.pk}/",
        f"/work/tasks/{t.bmc.pk}/materials/{t.material}/",
        f"/work/elicences/{t.serial}.pdf",
        f"/counter/cases/{n}/",
        f"/counter/cases/{n}/form.pdf",
        f"/counter/cases/{n}/notice.pdf",
        f"/supervise/cases/{n}/",
    ]
    posts = [f"/work/tasks/{t.registration.pk}/{a}/" for a in ("claim", "return", "refuse")]
    return [("get", u) for u in gets] + [("post", u) for u in posts]


def _parent_urls(t: Target) -> list[tuple[str, str]]:
    n = t.case.number
    gets = [
        f"/my/cases/{n}/",
        f"/my/cases/{n}/notice.pdf",
        f"/my/cases/{n}/supplement/",
        f"/my/elicences/{t.serial}.pdf",
    ]
    return [("get", u) for u in gets] + [("post", f"/my/cases/{n}/urge/birth_registration/")]


DEPARTMENTS = ("hospital", "cdc", "police", "medical_insurance", "hrss", "tax", "health")
# Other regions' divisions, and a neighbouring district of the same city (钦南区).
OTHER_DIVISIONS = ("62", "620102", "431222", "350102", "22", "450702")


def _outsiders() -> Iterable[tuple[str, User]]:
    """People who must see nothing of a Qinbei case at 钦北区妇幼保健院 / 新塘派出所."""
    for department in DEPARTMENTS:
        for division in OTHER_DIVISIONS:
            yield f"{department} officer of {division}", officer(department, "division", division)
    yield "hospital officer, other hospital", officer("hospital", "hospital", "qinbei-people")
    yield (
        "hospital officer, other region's hospital",
        officer("hospital", "hospital", "lanzhou-mch"),
    )
    yield "police officer, other station", officer("police", "police_station", "lanzhou-ps")
    yield "police officer, right hospital code", officer("police", "hospital", "qinbei-mch")
    yield "officer without a jurisdiction", officer("hospital", "", "")
    yield "clerk, other region", staff("clerk", kind="hospital", code="lanzhou-mch")
    yield "clerk, other hospital", staff("clerk", kind="hospital", code="qinbei-people")
    yield "clerk without a counter", staff("clerk")
    for division in OTHER_DIVISIONS:
        yield f"supervisor of {division}", staff("supervisor", kind="division", code=division)
    yield "supervisor without a division", staff("supervisor")
    yield "another parent", parent("13912345678")
    yield "a third parent", parent("13700009999")


def _staff_on_parent_pages() -> Iterable[tuple[str, User]]:
    """Staff who may see the case at work, but not through the parents' pages."""
    yield "administrator", staff("admin")
    yield "supervisor of the division", staff("supervisor", kind="division", code="45")
    yield "hospital officer of the case", officer("hospital", "hospital", "qinbei-mch")
    yield "police officer of the case", officer("police", "police_station", "qinbei-xintang")
    yield "clerk of the hospital", staff("clerk", kind="hospital", code="qinbei-mch")


def _leaked(response, t: Target) -> bool:
    if 200 <= response.status_code < 300:
        return True
    body = response.content.decode("utf-8", "replace")
    return t.case.number in body or t.mother_name in body


def _request(client: Client, method: str, url: str):
    if method == "get":
        return client.get(url)
    return client.post(url, {"reasons": "x", "version": "1"})


def test_no_one_outside_the_case_gets_anything_of_it(target):
    tried = leaks = 0
    found: list[str] = []
    urls = _staff_urls(target) + _parent_urls(target)
    for (who, user), (method, url) in itertools.product(list(_outsiders()), urls):
        client = Client()
        client.force_login(user)
        response = _request(client, method, url)
        tried += 1
        if _leaked(response, target):
            leaks += 1
            found.append(f"{who} {method.upper()} {url} → {response.status_code}")
    # Anonymous visitors are sent to a login page or refused, never shown the case.
    for method, url in urls:
        response = _request(Client(), method, url)
        tried += 1
        if _leaked(response, target):
            leaks += 1
            found.append(f"anonymous {method.upper()} {url} → {response.status_code}")
    reliability_record("access", "web requests for another's case tried", tried)
    reliability_record("access", "web requests for another's case that leaked", leaks)
    assert not found, "\n".join(found)
    # Nothing changed state on the way.
    target.registration.refresh_from_db()
    assert target.registration.state == "ready"


def test_staff_never_read_a_case_through_the_parents_pages(target):
    """Defect 10: admin, supervisors, officers and clerks opened /my/cases/<n>/ and its
    notice PDF (83 reads, no access record). Parents' pages are for the case's parents."""
    tried = leaks = 0
    found: list[str] = []
    people = list(_staff_on_parent_pages())
    for (who, user), (method, url) in itertools.product(people, _parent_urls(target)):
        client = Client()
        client.force_login(user)
        before = AccessRecord.objects.filter(granted=False).count()
        response = _request(client, method, url)
        tried += 1
        if _leaked(response, target):
            leaks += 1
            found.append(f"{who} {method.upper()} {url} → {response.status_code}")
        elif method == "get" and url.endswith(("/", "notice.pdf")) and "supplement" not in url:
            assert AccessRecord.objects.filter(granted=False).count() > before, (who, url)
    reliability_record("access", "staff requests for parents' pages tried", tried)
    reliability_record("access", "staff requests for parents' pages that leaked", leaks)
    assert not found, "\n".join(found)
    # The case's own parent still reads her page.
    mother = parent("13800000000")
    client = Client()
    client.force_login(mother)
    assert client.get(f"/my/cases/{target.case.number}/").status_code == 200


def test_department_systems_of_other_jurisdictions_get_nothing_over_the_api(target):
    n = target.case.number
    clients = [issue("hospital", "hospital", "qinbei-people")]
    clients += [
        issue(department, "division", division)
        for department in DEPARTMENTS
        for division in OTHER_DIVISIONS
    ]
    tried = leaks = 0
    found: list[str] = []
    for credentials in clients:
        api = Api(credentials.token)
        for path in (f"/cases/{n}", f"/cases/{n}/timeline", f"/tasks/{target.registration.pk}"):
            response = api.get(path)
            tried += 1
            if _leaked(response, target):
                leaks += 1
                found.append(f"{credentials.client.key_id} GET {path} → {response.status_code}")
        for action in ("claim", "return", "refuse"):
            path = f"/tasks/{target.registration.pk}/{action}"
            response = api.post(
                path, {"reasons": ["x"]}, key=f"{credentials.client.key_id}-{action}"
            )
            tried += 1
            if _leaked(response, target):
                leaks += 1
                found.append(f"{credentials.client.key_id} POST {path} → {response.status_code}")
    reliability_record("access", "API requests for another jurisdiction's case tried", tried)
    reliability_record("access", "API requests for another jurisdiction's case that leaked", leaks)
    assert not found, "\n".join(found)
