"""`python -m onestop.ops.profile_case` (issue 10: "593 ms of web CPU per case"): it drives a
case through the API in process and reports CPU per call kind and the top functions.
A smoke test: it runs and reports every call kind of a case; no timing is asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from onestop.cases.models import Case
from onestop.ops.profile_case import main, profile_cases
from onestop.testing.drive import region_clients

KINDS = {
    "GET /api/v1/tasks",
    "GET /api/v1/tasks/{id}",
    "POST /api/v1/cases",
    "POST /api/v1/tasks/{id}/claim",
    "POST /api/v1/tasks/{id}/complete",
}


@pytest.mark.django_db(transaction=True)
def test_one_case_is_profiled_per_call_kind(media_root: Path) -> None:
    region_clients("qinbei")
    profile = profile_cases("qinbei", cases=1, warm=0, profiled=1)

    assert profile.cases == 1
    assert set(profile.cpu) == KINDS
    assert len(profile.cpu["POST /api/v1/cases"]) == 1
    # qinbei-accept has 7 items: each read, claimed and completed once.
    assert len(profile.cpu["POST /api/v1/tasks/{id}/complete"]) == 7
    assert Case.objects.filter(status="completed").count() == 2  # measured + profiled
    table = profile.table()
    assert "| **one case** |" in table
    assert "`POST /api/v1/tasks/{id}/claim` | 7.0 |" in table
    top = profile.top(10, "cumulative")
    assert "item_complete" in profile.top(200, "cumulative")
    assert "function calls" in top


def test_unknown_region_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--region", "nowhere"])
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_one_call_kind_can_be_profiled_alone(media_root: Path) -> None:
    """``--kind``: the profile holds the submission's functions, not the completions'."""
    region_clients("qinbei")
    profile = profile_cases("qinbei", cases=0, warm=0, profiled=1, kind="POST /api/v1/cases")
    listed = profile.top(400, "cumulative")
    assert "case_create" in listed
    assert "item_complete" not in listed
    # One test client for every case, its middleware loaded before: a server's worker
    # loads it once, so no submission pays for whitenoise's listing of the static files.
    assert "load_middleware" not in listed
