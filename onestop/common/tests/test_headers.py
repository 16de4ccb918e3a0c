"""Security headers through HTTP (issue 8, "Headers: a Content-Security-Policy without
inline script, HSTS when secure cookies are on, `Cache-Control: no-store` on every page with
personal data"). HSTS with the production settings: onestop/ops/tests/test_deploy_check.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from onestop.accounts.models import Role
from onestop.integration.tests.support import hospital
from onestop.testing.factories import officer, parent, staff

pytestmark = pytest.mark.django_db
ONESTOP = Path(__file__).resolve().parents[2]


def _csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def _no_inline_script(response) -> None:
    policy = _csp(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy.get("default-src", [])


def _no_store(response) -> None:
    assert "no-store" in response["Cache-Control"], response["Cache-Control"]


def test_pages_with_personal_data_are_never_stored_and_have_the_csp(media_root):
    signed_in = {
        "/work/": officer("police", "police_station", "qinbei-xintang"),
        "/counter/": staff(Role.CLERK, kind="hospital", code="qinbei-mch"),
        "/supervise/": staff(Role.SUPERVISOR, kind="division", code="450703"),
        "/supervise/deadlines/": staff(Role.SUPERVISOR, kind="division", code="450703"),
        "/my/cases/": parent("13800000000"),
        "/my/apply/": parent("13911112222"),
        "/": parent("13922223333"),  # the home page of a signed-in parent
    }
    admin = staff(Role.ADMIN)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    signed_in["/admin/"] = admin
    for url, user in signed_in.items():
        client = Client()
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, url
        _no_store(response)
        _no_inline_script(response)
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
    api = Client(HTTP_AUTHORIZATION=f"Bearer {hospital().token}")
    for url in ("/api/v1/me", "/api/v1/tasks"):
        response = api.get(url)
        assert response.status_code == 200
        _no_store(response)
    for url in ("/accounts/login/", "/accounts/parent/"):
        _no_store(Client().get(url))


def test_public_pages_have_the_csp_and_may_be_cached():
    anonymous = Client()
    for url in ("/", "/verify/", "/my/guide/"):
        response = anonymous.get(url)
        assert response.status_code == 200, url
        _no_inline_script(response)
    keys = anonymous.get("/verify/keys.json")
    assert "public" in keys["Cache-Control"]


def test_the_api_docs_work_with_scripts_from_self_only():
    client = Client()
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    policy = _csp(docs)
    assert policy["script-src"] == ["'self'"]  # Swagger UI gets inline styles, never scripts
    assert "'unsafe-inline'" in policy["style-src"]
    page = docs.content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    for attributes, _body in scripts:
        if "src=" in attributes:
            src = re.search(r'src="([^"]+)"', attributes)
            assert src and client.get(src.group(1)).status_code == 200
        else:
            assert 'type="application/json"' in attributes  # data, not code
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_no_template_has_inline_script_handlers_or_styles():
    offenders = []
    for template in ONESTOP.rglob("templates/**/*.html"):
        text = template.read_text(encoding="utf-8")
        for match in re.finditer(r"<script\b[^>]*>", text):
            if "src=" not in match.group(0):
                offenders.append(f"{template}: inline <script>")
        if re.search(r"<style\b", text):
            offenders.append(f"{template}: <style>")
        if re.search(r"\son[a-z]+\s*=", text):
            offenders.append(f"{template}: on…= handler")
        if re.search(r"\sstyle\s*=", text):
            offenders.append(f"{template}: style= attribute")
        if "javascript:" in text:
            offenders.append(f"{template}: javascript: URL")
    assert not offenders, "\n".join(offenders)
