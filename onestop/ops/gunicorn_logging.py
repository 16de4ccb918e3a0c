"""gunicorn's access and error logs without personal data (issue 8, defect 11).

gunicorn writes its access log itself (``gunicorn.access``), outside Django's ``LOGGING``;
an ID number or phone in a query string or Referer went to it in full. This logger class
puts the same scrubbing filter as Django's handlers (`onestop.core.logscrub`) on both of
gunicorn's loggers. `onestop serve` uses it; a deployment runs
``gunicorn -c python:onestop.ops.gunicorn_conf onestop.config.wsgi:application``.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

from gunicorn.glogging import Logger

from onestop.core.logscrub import ScrubPersonalData

# The names an access log format reads (``%(h)s``, ``%({user-agent}i)s``).
_FORMAT_NAME = re.compile(r"%\(([^)]*)\)")
# What gunicorn's own atoms read of the WSGI environ (``glogging.Logger.atoms``; 27.0).
_ATOM_ENVIRON = (
    "REMOTE_ADDR",
    "REQUEST_METHOD",
    "RAW_URI",
    "SERVER_PROTOCOL",
    "PATH_INFO",
    "QUERY_STRING",
    "HTTP_REFERER",
    "HTTP_USER_AGENT",
    "HTTP_AUTHORIZATION",
)
_NAMES_HEADERS: dict[str, bool] = {}


def names_headers(access_log_format: str) -> bool:
    """Whether the format reads a request or response header or an environ value
    (``%({name}i)s``, ``%({name}o)s``, ``%({name}e)s``)."""
    named = _NAMES_HEADERS.get(access_log_format)
    if named is None:
        named = any(n.startswith("{") for n in _FORMAT_NAME.findall(access_log_format))
        _NAMES_HEADERS[access_log_format] = named
    return named


class ScrubbingLogger(Logger):  # type: ignore[misc]
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(f, ScrubPersonalData) for f in log.filters):
                log.addFilter(ScrubPersonalData())

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> Any:
        """gunicorn's atoms; without every header and environ value, each copied and
        escaped for every request (~60 % of the access line's CPU), when the format reads
        none of them (the default format: issue 10, "what every request pays")."""
        if names_headers(self.cfg.access_log_format):
            return super().atoms(resp, req, environ, request_time)
        sent = SimpleNamespace(status=resp.status, sent=getattr(resp, "sent", None), headers=())
        read = {name: environ[name] for name in _ATOM_ENVIRON if name in environ}
        return super().atoms(sent, (), read, request_time)
