"""gunicorn's access and error logs without personal data (issue 8, defect 11).

gunicorn writes its access log itself (``gunicorn.access``), outside Django's ``LOGGING``;
an ID number or phone in a query string or Referer went to it in full. This logger class
puts the same scrubbing filter as Django's handlers (`onestop.core.logscrub`) on both of
gunicorn's loggers. `onestop serve` uses it; a deployment runs
``gunicorn -c python:onestop.ops.gunicorn_conf onestop.config.wsgi:application``.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from onestop.core.logscrub import ScrubPersonalData


class ScrubbingLogger(Logger):  # type: ignore[misc]
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(f, ScrubPersonalData) for f in log.filters):
                log.addFilter(ScrubPersonalData())
