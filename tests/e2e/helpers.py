"""Browser steps shared by the end-to-end tests."""

from __future__ import annotations

import re
from typing import Any

from onestop.testing.factories import STAFF_PASSWORD


def staff_login(page: Any, username: str, password: str = STAFF_PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
