"""No ID number or phone number reaches a log handler."""

from __future__ import annotations

import logging

from onestop.core.logscrub import ScrubPersonalData, scrub


def test_scrub_masks_ids_phones_and_accounts():
    text = scrub(
        "母亲 450703199203150220 电话 13800000000 账号 6217000010001234567 X 11010519491231002X"
    )
    assert "450703199203150220" not in text
    assert "13800000000" not in text
    assert "6217000010001234567" not in text
    assert "11010519491231002X" not in text
    assert "母亲" in text


def test_filter_scrubs_arguments_and_exceptions(caplog):
    logger = logging.getLogger("onestop.test.scrub")
    handler_filter = ScrubPersonalData()
    caplog.handler.addFilter(handler_filter)
    try:
        logger.warning("lookup %s for %s", "450703199203150220", "13800000000")
        try:
            raise ValueError("bad id 450703199001010174")
        except ValueError:
            logger.exception("failed")
    finally:
        caplog.handler.removeFilter(handler_filter)
    joined = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert "450703199203150220" not in joined
    assert "13800000000" not in joined
    assert "450703199001010174" not in joined


def test_the_configured_logging_scrubs(settings):
    assert "scrub" in settings.LOGGING["filters"]
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["scrub"]
