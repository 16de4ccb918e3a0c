"""Through the configured logging, a whole flow leaves no ID or phone number in the logs —
even when a request path itself carries one (a 404 is logged with its path)."""

from __future__ import annotations

import io
import logging
import logging.config

import pytest
from django.conf import settings
from django.test import Client

from onestop.cases.services import case_submit
from onestop.ops.worker import run_queued_tasks
from onestop.testing.factories import parent

pytestmark = pytest.mark.django_db(transaction=True)

SECRETS = ("450703199203150220", "450703199001010174", "13800000000", "13900000000")


def test_a_flow_with_errors_leaves_no_personal_numbers_in_the_logs(example, beijing, media_root):
    logging.config.dictConfig(settings.LOGGING)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    configured = logging.getLogger().handlers[0]
    for f in configured.filters:
        handler.addFilter(f)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        case = case_submit(
            document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
        ).case
        run_queued_tasks()
        client = Client()
        client.force_login(parent("13800000000"))
        assert client.get(f"/my/cases/{case.number}/").status_code == 200
        assert client.get("/my/cases/450703199203150220/").status_code == 404
        assert client.get("/no-such-page/13800000000").status_code == 404
        logging.getLogger("onestop.test").error("lookup failed for %s", "450703199001010174")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    text = stream.getvalue()
    assert "Not Found" in text  # the 404s were logged ...
    for secret in SECRETS:
        assert secret not in text  # ... without the numbers
