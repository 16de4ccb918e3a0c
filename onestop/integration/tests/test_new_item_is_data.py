"""Adding a department and an item is data only (issue 9, part 1): a test writes a new
department (新生儿疾病筛查中心, a newborn screening centre) and a new item (新生儿疾病筛查)
into a temporary data folder's ``catalogue/``, plus a new version of the Qinbei pack that
offers the item, points ``ONESTOP_EXTRA_DATA`` at the folder, and runs a case through it
over the HTTP API: the hospital's system submits it, the new department's API client lists
its task, sees only what the catalogue lets it see, completes it with the new item's result
fields, and the case is completed. No Python changes; no cache to clear (the catalogue and
the packs are cached per value of ``ONESTOP_EXTRA_DATA``).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import Client
from django.utils import timezone, translation

from onestop.catalogue.loader import EXTRA_DATA_ENV, catalogue
from onestop.common.names import department_label, item_label
from onestop.integration.api import api
from onestop.integration.tests.support import Api, current, hospital, issue
from onestop.policy.loader import PACKAGED_PACKS, default_packs
from onestop.testing.factories import SAMPLE_RESULTS, officer

pytestmark = pytest.mark.django_db

SCREENING = """\
# A department and an item the packaged catalogue does not have, written by a test.
departments:
  - code: screening_center
    name: {zh: 新生儿疾病筛查中心, en: Newborn screening centre}
    jurisdiction_kind: division
    routing: hospital_division
items:
  - code: newborn_screening
    name: {zh: 新生儿疾病筛查, en: Newborn screening}
    departments: [screening_center]
    result_fields:
      - {name: report_number, label: 筛查报告编号, label_en: Screening report number,
         kind: code, pattern: 'SC-\\d{4}-\\d{4}', example: SC-2026-0001, public: full}
      - {name: conclusion, label: 筛查结论, label_en: Conclusion, example: 未见异常,
         max_length: 50}
    elicence_title: {zh: 新生儿疾病筛查报告, en: Newborn screening report}
    sections: [newborns, mother]
    parent_fields: [name, phone]
    materials: [mother_id_card]
"""


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "catalogue").mkdir()
    (tmp_path / "catalogue" / "screening.yaml").write_text(SCREENING, encoding="utf-8")
    pack = yaml.safe_load((PACKAGED_PACKS / "qinbei.yaml").read_text(encoding="utf-8"))
    pack["version"] = "2025.01.01-screening"
    pack["effective_from"] = (timezone.localdate() - timedelta(days=400)).isoformat()
    pack["items"].append(
        {
            "item": "newborn_screening",
            "department": "screening_center",
            "after": ["birth_certificate"],
            "time_limit": {"days": 3},
            "ordinary_channel": "到新生儿疾病筛查中心查询筛查结果",
            "cite": "a new item written by a test",
        }
    )
    (tmp_path / "packs").mkdir()
    (tmp_path / "packs" / "qinbei-screening.yaml").write_text(
        yaml.safe_dump(pack, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    monkeypatch.setenv(EXTRA_DATA_ENV, str(tmp_path))
    return tmp_path


def test_without_the_folder_the_item_and_department_do_not_exist() -> None:
    assert "newborn_screening" not in catalogue().items
    assert "screening_center" not in catalogue().departments
    with pytest.raises(ValueError, match="unknown department"):
        issue("screening_center", "division", "450703")


def test_a_case_runs_through_the_new_item_over_the_api(
    data_dir: Path, example: Any, media_root: Path
) -> None:
    assert default_packs().current("qinbei") is not None
    assert default_packs().current("qinbei").version == "2025.01.01-screening"  # type: ignore[union-attr]

    # The hospital's system submits a case that chooses the new item.
    submitter = Api(hospital().token)
    document = current(example("qinbei-accept"))
    document["items"] = ["birth_certificate", "newborn_screening"]
    response = submitter.post("/cases", document, key="screening-1")
    assert response.status_code == 201, response.content
    case = response.json()
    assert case["decision"]["decision"] == "accept", case["decision"]["reasons"]
    assert case["decision"]["pack_version"] == "2025.01.01-screening"
    plan = {p["item"]: p for p in case["decision"]["plan"]}
    assert plan["newborn_screening"]["department"] == "screening_center"
    assert plan["newborn_screening"]["after"] == ["birth_certificate"]
    states = {i["item"]: (i["department"], i["state"]) for i in case["items"]}
    assert states == {
        "birth_certificate": ("hospital", "ready"),
        "newborn_screening": ("screening_center", "waiting"),
    }

    # The new department's system: an API client of a department only the data defines,
    # for the birth hospital's division (the catalogue routes it by hospital_division).
    centre = Api(issue("screening_center", "division", "450703").token)
    assert centre.get("/me").json()["department"] == "screening_center"
    assert centre.get("/tasks").json()["tasks"] == []  # waits for the BMC

    bmc = submitter.get("/tasks").json()["tasks"][0]
    done = submitter.post(
        f"/tasks/{bmc['id']}/complete", {"result": SAMPLE_RESULTS["birth_certificate"]}, key="b"
    )
    assert done.status_code == 200, done.content

    [task] = centre.get("/tasks").json()["tasks"]
    assert task["item"] == "newborn_screening" and task["department"] == "screening_center"
    assert task["jurisdiction"] == {"kind": "division", "code": "450703"}
    detail = centre.get(f"/tasks/{task['id']}").json()
    # Only what the catalogue lets this item's officers see.
    assert set(detail["data"]) == {"newborns", "mother"}
    assert set(detail["data"]["mother"]) == {"name", "phone"}
    assert set(detail["materials"]) <= {"mother_id_card"}
    assert [(f["name"], f["label"], f["required"]) for f in detail["result_fields"]] == [
        ("report_number", "筛查报告编号", True),
        ("conclusion", "筛查结论", True),
    ]
    assert detail["prior_elicences"][0]["kind"] == "birth_certificate"

    # An officer of the new department sees the task, by its name, on the workbench.
    desk = Client()
    desk.force_login(officer("screening_center", "division", "450703"))
    page = desk.get("/work/").content.decode()
    assert "新生儿疾病筛查" in page and "newborn_screening" not in page.split("<main")[-1]
    page = desk.get(f"/work/tasks/{task['id']}/").content.decode()
    assert "筛查报告编号" in page and "筛查结论" in page

    # The new item's result fields are checked as the catalogue says.
    bad = centre.post(f"/tasks/{task['id']}/complete", {"result": {"report_number": "1"}})
    assert bad.status_code == 422
    assert {p["field"] for p in bad.json()["problems"]} == {"report_number", "conclusion"}
    result = {"report_number": "SC-2026-0042", "conclusion": "未见异常"}
    completed = centre.post(f"/tasks/{task['id']}/complete", {"result": result}, key="s")
    assert completed.status_code == 200, completed.content
    assert completed.json()["state"] == "done" and completed.json()["elicence_serial"]

    final = submitter.get(f"/cases/{case['number']}").json()
    assert final["status"] == "completed" and final["outcome"] == "done"
    assert {i["item"]: i["state"] for i in final["items"]} == {
        "birth_certificate": "done",
        "newborn_screening": "done",
    }
    timeline = submitter.get(f"/cases/{case['number']}/timeline").json()["entries"]
    assert any("新生儿疾病筛查" in e["message"] for e in timeline), timeline

    # People read names, in their language, from the data.
    assert item_label("newborn_screening") == "新生儿疾病筛查"
    assert department_label("screening_center") == "新生儿疾病筛查中心"
    with translation.override("en"):
        assert item_label("newborn_screening") == "Newborn screening"
        assert department_label("screening_center") == "Newborn screening centre"
    # The OpenAPI enums list the new item and department.
    schema = api.get_openapi_schema()
    task_schema = schema["components"]["schemas"]["TaskOut"]["properties"]
    assert "newborn_screening" in task_schema["item"]["enum"]
    assert "screening_center" in task_schema["department"]["enum"]
