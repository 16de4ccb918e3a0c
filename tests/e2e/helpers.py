"""Browser steps shared by the end-to-end tests."""

from __future__ import annotations

import io
import re
from typing import Any

from pypdf import PdfReader

from onestop.cases.domain.paths import get_path
from onestop.core.clock import parse_time
from onestop.reference.domain import ReferenceData
from onestop.testing.factories import STAFF_PASSWORD
from onestop.unified_form.model import as_text


def staff_login(page: Any, username: str, password: str = STAFF_PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


# --- the counter form (the unified form as a clerk enters it) ---------------------------

PICKER_NAMES = {
    "hospitals": lambda ref, code: ref.hospitals[code].name,
    "police_stations": lambda ref, code: ref.police_stations[code].name,
    "divisions": lambda ref, code: ref.division_full_name(code),
    "ethnic_groups": lambda ref, code: ref.ethnic_groups[code].name,
    "banks": lambda ref, code: ref.banks[code].name,
    "bank_branches": lambda ref, code: ref.bank_branches[code].name,
}


def refreshing(page: Any, action: Any) -> None:
    """A choice at the top of the form lays out its sections again (a new page)."""
    with page.expect_navigation():
        action()


def pick(page: Any, select: Any, name: str) -> None:
    """Type part of a name into the picker's search box; the picker selects it."""
    box = page.locator(f"[data-picker-for='{select.get_attribute('name')}']")
    box.fill(name)
    chosen = select.evaluate("e => e.options[e.selectedIndex].textContent")
    assert chosen.strip() == name, (name, chosen)


def fill_rows(page: Any, document: dict[str, Any], reference: ReferenceData) -> set[str]:
    """Enter the document's values into every visible field of the form, as a clerk would;
    return the names of the pickers used."""
    picked: set[str] = set()
    for row in page.locator("form.counter-form [data-path]").all():
        if not row.is_visible():
            continue
        path = row.get_attribute("data-path")
        value = get_path(document, path)
        if value is None or value == "":
            continue
        select = row.locator("select")
        if select.count():
            source = select.get_attribute("data-picker")
            if source:
                pick(page, select, PICKER_NAMES[source](reference, str(value)))
                picked.add(source)
            else:
                select.select_option(as_text(value))
            continue
        inputs = row.locator("input")
        kind = inputs.first.get_attribute("type")
        if kind == "radio":
            row.locator(f"input[value='{as_text(value)}']").check()
        elif kind == "checkbox" and isinstance(value, list):
            for each in value:
                row.locator(f"input[value='{each}']").check()
        elif kind == "checkbox":
            inputs.first.set_checked(bool(value))
        elif kind == "datetime-local":
            inputs.first.fill(parse_time(str(value)).strftime("%Y-%m-%dT%H:%M"))
        else:
            text = str(value)
            # A clerk types names, numbers and addresses, never a code of a table.
            assert not re.fullmatch(r"[a-z]+(-[a-z]+)+", text), (path, text)
            inputs.first.fill(text)
    return picked


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF without white space (pypdf)."""
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return "".join(text.split())
