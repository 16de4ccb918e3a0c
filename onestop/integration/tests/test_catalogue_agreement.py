"""Every enum, choice list, OpenAPI enum, label and permission about items and departments
agrees with the catalogue (onestop/catalogue/data), and every department of every item in
every pack can be a user's and an API client's department (issue 9, part 1: "a pack can
route an item to a department nobody can belong to" is gone)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Field, Model
from django.utils import translation

from onestop.accounts.models import User
from onestop.catalogue.loader import EXTRA_DATA_ENV, catalogue
from onestop.common.names import department_label, item_label, material_label
from onestop.departments.selectors import ITEM_MATERIALS, ITEM_SECTIONS, PARENT_FIELDS_BY_ITEM
from onestop.integration.api import api
from onestop.integration.models import ApiClient
from onestop.integration.schemas import CASE_DOCUMENT_SCHEMA, ITEMS
from onestop.integration.tests.support import issue
from onestop.policy.loader import default_packs
from onestop.testing.factories import SAMPLE_RESULTS, officer
from onestop.workflow.domain.results import RESULT_FIELDS, validate_result


def _choices(model: type[Model], field: str) -> list[tuple[str, str]]:
    found = model._meta.get_field(field)
    assert isinstance(found, Field) and found.choices is not None
    return [(str(v), str(label)) for v, label in found.choices]


def test_user_and_api_client_department_choices_are_the_catalogue_s() -> None:
    known = catalogue()
    zh = [(code, d.name.zh) for code, d in known.departments.items()]
    assert _choices(User, "department") == zh
    assert _choices(ApiClient, "department") == zh
    with translation.override("en"):
        en = [(code, d.name.en) for code, d in known.departments.items()]
        assert _choices(User, "department") == en
        assert _choices(ApiClient, "department") == en


def test_the_api_client_command_offers_the_catalogue_s_departments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        call_command("api_client", "create", "--help", stdout=StringIO())
    text = " ".join(capsys.readouterr().out.split())
    assert "{" + ",".join(catalogue().departments) + "}" in text


def test_openapi_enums_are_the_catalogue_s() -> None:
    items, departments = list(catalogue().items), list(catalogue().departments)
    assert items == ITEMS
    assert CASE_DOCUMENT_SCHEMA["properties"]["items"]["items"]["enum"] == items
    schemas = api.get_openapi_schema()["components"]["schemas"]
    for name in ("TaskOut", "CaseItemOut"):
        assert schemas[name]["properties"]["item"]["enum"] == items
        assert schemas[name]["properties"]["department"]["enum"] == departments
    assert schemas["ClientOut"]["properties"]["department"]["enum"] == departments


def test_what_officers_may_see_is_the_catalogue_s() -> None:
    for code, item in catalogue().items.items():
        assert ITEM_SECTIONS[code] == tuple(item.sections)
        assert PARENT_FIELDS_BY_ITEM[code] == tuple(item.parent_fields)
        assert ITEM_MATERIALS[code] == tuple(item.materials)
        assert set(item.materials) <= set(catalogue().materials)


def test_labels_in_the_active_language_are_the_catalogue_s() -> None:
    for code, item in catalogue().items.items():
        assert item_label(code) == item.name.zh
        with translation.override("en"):
            assert item_label(code) == item.name.en
    with translation.override("en"):
        assert department_label("police") == "Police station"
        assert material_label("authorization_letter") == "Letter of authorization"


def test_sample_results_fit_the_catalogue_s_result_fields() -> None:
    assert set(SAMPLE_RESULTS) == set(RESULT_FIELDS) == set(catalogue().items)
    for code, result in SAMPLE_RESULTS.items():
        assert validate_result(code, result)[1] == [], code


@pytest.mark.django_db
def test_every_department_of_every_pack_can_be_a_user_s_and_an_api_client_s() -> None:
    known = catalogue()
    kinds = {"hospital": ("hospital", "qinbei-mch"), "police_station": ("police_station", "x")}
    used = {
        (entry.item, entry.department)
        for region in default_packs().regions
        for pack in default_packs().versions[region]
        for entry in pack.items
    }
    assert len({d for _i, d in used}) == len(known.departments)  # every department is used
    for item, department in sorted(used):
        assert department in known.items[item].departments
        assert department in known.departments
        kind, code = kinds.get(known.departments[department].jurisdiction_kind, ("division", "45"))
        user = officer(department, kind, code)
        user.full_clean(exclude=["password", "phone"])  # the choices accept it
        creds = issue(department, kind, code)
        creds.client.full_clean(exclude=["secret_hash", "webhook_secret"])
        assert creds.client.user.department == department


def test_the_demo_and_the_simulated_systems_cover_every_department() -> None:
    """The demo data and the simulated department systems (HTTP only, their own lists) work
    every department of the catalogue, each with its kind of jurisdiction."""
    from onestop.ops.demo import DIVISION_DEPARTMENTS, NAMES
    from onestop.simulate.credentials import ABBREVIATIONS, DEPARTMENTS

    known = catalogue().departments
    assert set(DEPARTMENTS) == set(ABBREVIATIONS) == set(NAMES) == set(known)
    assert set(DIVISION_DEPARTMENTS) == {
        code for code, d in known.items() if d.jurisdiction_kind == "division"
    }


@pytest.mark.django_db
def test_an_api_client_holds_its_department_s_kind_of_jurisdiction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="police client's jurisdiction is a police_station"):
        issue("police", "hospital", "qinbei-mch")
    with pytest.raises(ValueError, match="unknown department 'data_bureau'"):
        issue("data_bureau", "division", "45")
    assert issue("hospital", "division", "4507").client.jurisdiction_kind == "division"
    # A department worked by officers only (catalogue `worked_by`) gets no API client.
    (tmp_path / "catalogue").mkdir()
    (tmp_path / "catalogue" / "desk.yaml").write_text(
        "departments:\n"
        "  - code: civil_affairs\n"
        "    name: {zh: 民政部门, en: Civil affairs bureau}\n"
        "    jurisdiction_kind: division\n"
        "    routing: registering_division\n"
        "    worked_by: [officer]\n",
        encoding="utf-8",
    )
    monkeypatch.setenv(EXTRA_DATA_ENV, str(tmp_path))
    assert ("civil_affairs", "民政部门") in _choices(User, "department")
    with pytest.raises(ValueError, match="not worked by API clients"):
        issue("civil_affairs", "division", "45")
