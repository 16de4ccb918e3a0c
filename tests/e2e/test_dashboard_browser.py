"""The supervisors' picture in a real browser (issue 12 part 4, ADR 0041): a city
supervisor signs in with her password and a TOTP code, opens the dashboards, and every
panel with figures draws its ECharts chart (a canvas) beside its table, under the
product's Content-Security-Policy (no inline script, no violation reported)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from onestop.cases.services import case_submit
from onestop.ops.demo import shift_dates
from onestop.supervision.templatetags.region_tags import region_name
from onestop.testing.factories import STAFF_PASSWORD, staff
from onestop.testing.newborns import another_newborn

pytestmark = pytest.mark.django_db(transaction=True)

babies = itertools.count(500)


def _code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    value = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{value:0{device.digits}d}"


def test_a_supervisor_sees_the_charts_and_tables(example, media_root, new_page):
    now = timezone.now()
    for name in ("qinbei-accept", "qinbei-accept", "qinbei-supplement-missing-materials"):
        document = another_newborn(example(name), next(babies))
        shift_dates(document, now)
        case_submit(document=document, actor=None, now=now)
    supervisor = staff("supervisor", kind="division", code="4507", name="卫健局监管员")
    device = TOTPDevice.objects.create(user=supervisor, name="app", confirmed=True)

    page = new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto("/accounts/login/?next=/supervise/dashboards/")
    page.fill("#id_username", supervisor.username)
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/otp/**")
    page.fill("#id_token", _code(device))
    page.click("button[type=submit]")
    page.wait_for_url("**/supervise/dashboards/**")

    charts = page.locator("[data-chart]")
    assert charts.count() >= 3  # region, hospital, channel, decisions, reasons, …
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart]')]"
        ".every(e => e.getAttribute('data-chart-drawn') === 'true')"
    )
    for n in range(charts.count()):
        chart = charts.nth(n)
        assert chart.locator("canvas").count() >= 1
        box = chart.locator("canvas").first.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100
    # The table beside the region chart names the region, with its count.
    region = page.locator("#panel-cases-region table tbody tr").first
    text: Any = region.inner_text()
    assert region_name("qinbei") in text and "3" in text
    decisions = page.locator("#panel-decisions table").inner_text()
    assert "受理" in decisions and "需补正" in decisions
    assert page.locator("#panel-reasons table").inner_text().count("缺少申请材料") == 1
    # The exports are links of the same period and jurisdiction.
    assert page.locator("#panel-cases-region a[data-export=xlsx]").count() == 1
    # No Content-Security-Policy violation nor script error while drawing.
    assert not [p for p in problems if "Content Security Policy" in p or "Error" in p], problems
