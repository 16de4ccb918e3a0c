"""gunicorn's access log through the product's logger class (`ScrubbingLogger`): the same
line as gunicorn's own logger with the scrubbing filter, whether or not the format reads
headers (the atoms it does not read are not built: issue 10)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from onestop.core.logscrub import ScrubPersonalData
from onestop.ops import gunicorn_logging
from onestop.ops.gunicorn_logging import ScrubbingLogger

FORMATS = [
    None,  # gunicorn's default (what gunicorn_conf runs)
    '%(h)s %(u)s %(t)s "%(r)s" %(s)s %(b)s %(B)s %(m)s %(U)s %(q)s %(H)s %(D)s %(M)s %(L)s %(T)s',
    '%(h)s "%(r)s" %(s)s "%({x-request-id}i)s" %({content-type}o)s %({remote_addr}e)s',
]


class _Response:
    status = "201 Created"
    sent = 512
    headers = [("Content-Type", "application/json"), ("Vary", "Cookie")]


class _Request:
    headers = [("USER-AGENT", 'agent "7"'), ("X-REQUEST-ID", "r-1"), ("REFERER", "/x")]


def _environ() -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/api/v1/tasks/7/claim?phone=13800000000",
        "PATH_INFO": "/api/v1/tasks/7/claim",
        "QUERY_STRING": "phone=13800000000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.9",
        "HTTP_USER_AGENT": 'agent "7"',
        "HTTP_REFERER": "/x",
        "HTTP_AUTHORIZATION": "Basic dXNlcjpwdw==",  # user "user": the %(u)s atom
        "HTTP_X_REQUEST_ID": "r-1",
        "wsgi.url_scheme": "http",
    }


def _line(logger_class: type[Logger], path: Path, access_log_format: str | None) -> str:
    cfg = Config()
    cfg.set("accesslog", str(path))
    if access_log_format:
        cfg.set("access_log_format", access_log_format)
    logger = logger_class(cfg)
    if logger_class is Logger:
        logger.access_log.addFilter(ScrubPersonalData())
    logger.now = lambda: "[27/Nov/2026:15:00:00 +0000]"
    try:
        took = datetime.timedelta(seconds=1, microseconds=2345)
        logger.access(_Response(), _Request(), _environ(), took)
    finally:
        for handler in list(logger.access_log.handlers):
            handler.close()
            logger.access_log.removeHandler(handler)
        logger.access_log.filters.clear()
    return path.read_text("utf-8")


@pytest.mark.parametrize("access_log_format", FORMATS)
def test_the_access_line_is_gunicorns(tmp_path: Path, access_log_format: str | None) -> None:
    ours = _line(ScrubbingLogger, tmp_path / "ours.log", access_log_format)
    theirs = _line(Logger, tmp_path / "theirs.log", access_log_format)
    assert ours == theirs and ours.count("\n") == 1
    assert "13800000000" not in ours  # scrubbed (issue 8)


def test_only_a_format_reading_headers_gets_them() -> None:
    assert not gunicorn_logging.names_headers(Config().access_log_format)
    assert gunicorn_logging.names_headers(FORMATS[2] or "")
    assert not gunicorn_logging.names_headers(FORMATS[1] or "")
