"""``onestop guide --region R [--format json|markdown]`` (spec/interfaces.md)."""

from __future__ import annotations

import json

import pytest

from onestop.cli import main
from onestop.policy.loader import default_packs

REGIONS = ("fuzhou", "jilin", "lanzhou", "qinbei", "yuanling")


@pytest.mark.parametrize("region", REGIONS)
def test_markdown_is_the_default(region, capsys):
    assert main(["guide", "--region", region]) == 0
    out = capsys.readouterr().out
    name = default_packs().current(region).name  # type: ignore[union-attr]
    assert out.startswith(f"# {name} 办事指南")
    assert "## 办理流程" in out and "## 咨询电话" in out


@pytest.mark.parametrize("region", REGIONS)
def test_json(region, capsys):
    assert main(["guide", "--region", region, "--format", "json"]) == 0
    body = json.loads(capsys.readouterr().out)
    pack = default_packs().current(region)
    assert pack is not None
    assert body["region"] == region
    assert body["pack_version"] == pack.version
    assert [i["code"] for i in body["items"]] == list(pack.offered)
    first = body["items"][0]
    for key in (
        "name",
        "department_name",
        "after",
        "step",
        "time_limit",
        "materials",
        "delivery",
        "contacts",
        "fees",
        "ordinary_channel",
    ):
        assert key in first
    assert set(first["time_limit"]) == {"days", "unit", "text"}


def test_unknown_region_is_an_error(capsys):
    assert main(["guide", "--region", "atlantis"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "unknown region 'atlantis'" in captured.err and "qinbei" in captured.err


def test_bad_format_is_an_error(capsys):
    assert main(["guide", "--region", "qinbei", "--format", "xml"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_a_region_by_its_name(capsys):
    assert main(["guide", "--region", "兰州"]) == 0
    assert "兰州市" in capsys.readouterr().out
    assert main(["guide", "--region", "Qinbei", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["region"] == "qinbei"


def test_the_pack_in_force_at_a_date(capsys):
    assert main(["guide", "--region", "qinbei", "--at", "2026-11-20T09:30:00+08:00"]) == 0
    assert "政策版本" in capsys.readouterr().out


def test_a_sixth_regions_guide_is_data_only(tmp_path, capsys):
    """The made-up region of onestop/policy/tests/test_sixth_region.py gets its guide from
    its pack alone (no template, no Python)."""
    from onestop.policy.tests.test_sixth_region import XINYI_PACK

    (tmp_path / "packs").mkdir()
    (tmp_path / "packs" / "xinyi.yaml").write_text(XINYI_PACK, encoding="utf-8")
    assert (
        main(["--extra-data", str(tmp_path), "guide", "--region", "xinyi", "--format", "json"]) == 0
    )
    body = json.loads(capsys.readouterr().out)
    assert body["region"] == "xinyi"
    assert body["overall_time_limit"]["text"] == "10个工作日"
    assert ["12345"] in [c["phones"] for c in body["contacts"]]
    assert main(["guide", "--region", "xinyi"]) == 2  # without the folder: unknown
