"""``{% kept_fragment %}`` (``nav_tags``): ``base.html``'s header made once per language and
role writes what rendering it every time writes, for every kind of user (issue 10: a
parent's first render of a page)."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation

from onestop.accounts.models import Role, User
from onestop.common.templatetags.nav_tags import KeptFragmentNode

CSRF = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+')

pytestmark = pytest.mark.django_db


def _users() -> list[object]:
    def user(name: str, role: str, department: str = "") -> User:
        return User.objects.create(
            username=name, role=role, department=department, phone="13900000001"
        )

    return [
        AnonymousUser(),
        user("p", Role.PARENT),
        user("oh", Role.OFFICER, "hospital"),
        user("op", Role.OFFICER, "police"),
        user("ohe", Role.OFFICER, "health"),
        user("s", Role.SUPERVISOR),
        user("c", Role.CLERK),
        user("o", Role.OPERATOR),
    ]


def _page(user: object, language: str) -> str:
    request = RequestFactory().get("/my/cases/?x=1")
    request.user = user  # type: ignore[assignment]
    with translation.override(language):
        return CSRF.sub(r"\1-", render_to_string("base.html", request=request))


def test_the_kept_header_is_the_header_rendered_each_time():
    users = _users()
    languages = ("zh-hans", "en")
    with mock.patch.object(
        KeptFragmentNode, "render", lambda self, context: self.nodelist.render(context)
    ):
        rendered = {(i, lang): _page(u, lang) for lang in languages for i, u in enumerate(users)}
    # Kept: each user in each language, twice (the first may make the fragment, the second
    # takes it), in an order where every kind of user follows another kind.
    for _round in range(2):
        for lang in languages:
            for i, u in reversed(list(enumerate(users))):
                assert _page(u, lang) == rendered[(i, lang)], (u, lang)
    # The pages differ by role and language (a fragment kept for one is not another's).
    assert len(set(rendered.values())) == len(rendered)
    parent, officer = rendered[(1, "zh-hans")], rendered[(2, "zh-hans")]
    assert "我的办件" in parent and "我的办件" not in officer
    assert "待办事项" in officer and "待办事项" not in parent
    assert 'value="/my/cases/?x=1"' in parent  # the request's path is not kept
