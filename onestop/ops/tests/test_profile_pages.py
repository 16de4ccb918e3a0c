"""`python -m onestop.ops.profile_pages` replays every request kind of the 1,000-users
mix (docs/performance.md "The read path, per request kind"): a locust request added to
`onestop/ops/locustfile.py` without a kind here would go unmeasured."""

from __future__ import annotations

import re
from pathlib import Path

from onestop.ops.profile_pages import KINDS, parse

LOCUSTFILE = Path(__file__).resolve().parents[1] / "locustfile.py"
# The locust request names (``name="…"``) and the kind that replays each.
MEASURED = {
    "parent: /my/cases/": "parent-list",
    "parent: /my/cases/<number>/": "parent-case",
    "parent: /my/messages/": "parent-messages",
    "officer: /work/ (queue)": "officer-queue",
    "officer: /work/tasks/<id>/": "officer-task",
    "public: /verify/<serial>/": "public-verify",
    "api: GET /api/v1/tasks": "api-tasks",
    "officer: GET /accounts/login/": "officer-login-page",
    # The POST; locust also follows its redirect, measured apart: officer-signin-home.
    "officer: POST /accounts/login/ (password check)": "officer-signin",
}
# Replayed beside them: the page the sign-in redirects to on its own, the first queue after
# a sign-in, and the floor.
ALSO = {"officer-signin-home", "officer-first-queue", "minimal"}


def test_every_locust_request_kind_is_replayed():
    names = set(re.findall(r'name="([a-z]+: [^"]+)"', LOCUSTFILE.read_text("utf-8")))
    assert names == set(MEASURED)
    assert set(MEASURED.values()) | ALSO == set(KINDS)


def test_arguments():
    args = parse(["--reuse", "/tmp/x", "--profile", "officer-queue", "--kinds", "api-tasks"])
    assert args.reuse == "/tmp/x" and args.profile == "officer-queue"
    assert args.requests == 40 and args.rounds == 3 and not args.child
