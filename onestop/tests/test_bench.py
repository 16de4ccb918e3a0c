"""Smoke test of `onestop.bench` (``make bench``): it runs and reports; no timing assertions."""

from __future__ import annotations

from pathlib import Path

import pytest

from onestop import bench


def test_bench_runs_with_tiny_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--scale", "0.001", "--repeats", "1"]) == 0
    report = capsys.readouterr().out
    for path in sorted(bench.EXAMPLES.glob("*.json")):
        assert path.stem in report
    for words in ("cold/warm", "due_time standard", "due_time fuzhou", "calendar table load"):
        assert words in report
    for region in ("fuzhou", "jilin", "lanzhou", "qinbei", "yuanling"):
        assert f"build_plan {region}" in report
    # Sealing (issue 10): old and new SM2 side by side, /verify/ cold and cached.
    for words in ("SM2 sign, pure Python", "SM2 verify, pure Python", "answer cached"):
        assert words in report
    assert "/verify/<serial>.json, cache cleared" in report


def test_bench_refuses_bad_arguments() -> None:
    with pytest.raises(SystemExit):
        bench.main(["--repeats", "0"])
    with pytest.raises(SystemExit):
        bench.main(["--scale", "-1"])


def test_measure_takes_the_median() -> None:
    calls: list[int] = []
    timing = bench.measure("noop", lambda: calls.append(1), number=3, repeats=2)
    assert len(calls) == 1 + 3 * 2  # one untimed warm-up call
    assert timing.seconds >= 0 and timing.per_second > 0


def test_examples_folder_is_the_packaged_one() -> None:
    packaged = Path(bench.__file__).parent / "examples"
    assert packaged == bench.EXAMPLES
