"""Packs validate; a bad pack is refused with a readable `PackError` naming its file."""

from __future__ import annotations

import copy
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from onestop.core.clock import BEIJING
from onestop.core.errors import PackError
from onestop.policy.loader import PACKAGED_PACKS, PackRegistry, load_packs, read_pack
from onestop.policy.schema import PolicyPack

REGIONS = ("fuzhou", "jilin", "lanzhou", "qinbei", "yuanling")


def packaged(region: str) -> dict[str, Any]:
    data = yaml.safe_load((PACKAGED_PACKS / f"{region}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def write_pack(folder: Path, name: str, data: dict[str, Any]) -> Path:
    packs = folder / "packs"
    packs.mkdir(parents=True, exist_ok=True)
    path = packs / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def pack_error(folder: Path) -> str:
    with pytest.raises(PackError) as caught:
        load_packs([folder], packaged=False)
    assert caught.value.code == "policy_pack_invalid"
    message = caught.value.message
    assert "\n" not in message
    return message


def item(data: dict[str, Any], code: str) -> dict[str, Any]:
    found = next(entry for entry in data["items"] if entry["item"] == code)
    assert isinstance(found, dict)
    return found


# --- the packaged packs -------------------------------------------------------------


def test_packaged_packs_validate() -> None:
    registry = load_packs()
    assert registry.regions == REGIONS
    for region in REGIONS:
        (pack,) = registry.versions[region]
        assert pack.region == region
        assert pack.items and pack.rules and pack.channels
        assert read_pack(PACKAGED_PACKS / f"{region}.yaml") == pack


def test_packaged_pack_dependencies() -> None:
    registry = load_packs()

    def after(region: str) -> dict[str, list[str]]:
        pack = registry.current(region)
        assert pack is not None
        return {entry.item: list(entry.after) for entry in pack.items}

    assert after("lanzhou")["birth_registration"] == ["birth_certificate"]
    assert after("yuanling")["medical_insurance_payment"] == ["medical_insurance_enrolment"]
    assert after("qinbei")["social_security_card"] == [
        "birth_registration",
        "medical_insurance_enrolment",
    ]
    assert after("fuzhou")["birth_registration"] == ["birth_certificate", "vaccination_certificate"]
    assert "birth_certificate" not in after("jilin")


def test_a_packaged_pack_round_trips_through_yaml(tmp_path: Path) -> None:
    write_pack(tmp_path, "copy.yaml", packaged("qinbei"))
    registry = load_packs([tmp_path], packaged=False)
    assert registry.regions == ("qinbei",)
    assert registry.current("qinbei") == load_packs().current("qinbei")


# --- bad packs ----------------------------------------------------------------------


def test_unknown_rule_type(tmp_path: Path) -> None:
    data = packaged("lanzhou")
    data["rules"].append({"rule": "moon_phase", "cite": "月相须为满月"})
    write_pack(tmp_path, "moon.yaml", data)
    message = pack_error(tmp_path)
    assert "moon.yaml" in message
    assert "moon_phase" in message
    assert "rules" in message


def test_cycle_in_after(tmp_path: Path) -> None:
    data = packaged("lanzhou")
    item(data, "birth_certificate")["after"] = ["social_security_card"]
    write_pack(tmp_path, "cycle.yaml", data)
    message = pack_error(tmp_path)
    assert "cycle.yaml" in message
    assert "cycle" in message
    for code in ("birth_certificate", "birth_registration", "social_security_card"):
        assert code in message


def test_item_waiting_for_itself(tmp_path: Path) -> None:
    data = packaged("lanzhou")
    item(data, "birth_registration")["after"] = ["birth_registration"]
    write_pack(tmp_path, "self.yaml", data)
    message = pack_error(tmp_path)
    assert "self.yaml" in message and "birth_registration" in message


def test_after_naming_an_item_not_offered(tmp_path: Path) -> None:
    data = packaged("lanzhou")  # lanzhou does not offer medical_insurance_payment
    item(data, "social_security_card")["after"] = ["medical_insurance_payment"]
    write_pack(tmp_path, "unknown-after.yaml", data)
    message = pack_error(tmp_path)
    assert "unknown-after.yaml" in message
    assert "medical_insurance_payment" in message and "not offered" in message


def test_after_naming_an_unknown_item_code(tmp_path: Path) -> None:
    data = packaged("lanzhou")
    item(data, "social_security_card")["after"] = ["passport"]
    write_pack(tmp_path, "bad-code.yaml", data)
    message = pack_error(tmp_path)
    assert "bad-code.yaml" in message and "after" in message


def test_rule_naming_an_item_not_offered(tmp_path: Path) -> None:
    data = packaged("yuanling")  # yuanling offers no social security card
    data["rules"][0]["items"] = ["social_security_card"]
    write_pack(tmp_path, "rule-item.yaml", data)
    message = pack_error(tmp_path)
    assert "rule-item.yaml" in message and "social_security_card" in message


def test_negative_days(tmp_path: Path) -> None:
    data = packaged("qinbei")
    item(data, "birth_registration")["time_limit"]["days"] = -2
    write_pack(tmp_path, "negative.yaml", data)
    message = pack_error(tmp_path)
    assert "negative.yaml" in message
    assert "time_limit" in message and "days" in message
    assert "greater than or equal to 0" in message


def test_negative_overall_days(tmp_path: Path) -> None:
    data = packaged("qinbei")
    data["overall_time_limit"]["days"] = -33
    write_pack(tmp_path, "overall.yaml", data)
    message = pack_error(tmp_path)
    assert "overall.yaml" in message and "overall_time_limit" in message


def test_duplicate_version(tmp_path: Path) -> None:
    data = packaged("jilin")
    write_pack(tmp_path, "jilin-a.yaml", data)
    other = copy.deepcopy(data)
    other["effective_from"] = date(2025, 1, 1)
    write_pack(tmp_path, "jilin-b.yaml", other)
    message = pack_error(tmp_path)
    assert "jilin-b.yaml" in message and "jilin-a.yaml" in message
    assert "jilin" in message and data["version"] in message


def test_duplicate_version_across_packaged_and_extra(tmp_path: Path) -> None:
    write_pack(tmp_path, "lanzhou-again.yaml", packaged("lanzhou"))
    with pytest.raises(PackError) as caught:
        load_packs([tmp_path])
    assert "lanzhou-again.yaml" in caught.value.message


def test_item_listed_twice(tmp_path: Path) -> None:
    data = packaged("lanzhou")
    data["items"].append(copy.deepcopy(item(data, "parenting_guidance")))
    write_pack(tmp_path, "twice.yaml", data)
    message = pack_error(tmp_path)
    assert "twice.yaml" in message and "twice" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("clock_rule"), "clock_rule"),
        (lambda d: d.update(clock_rule="lunar"), "clock_rule"),
        (lambda d: d.update(region="Xin Yi"), "region"),
        (lambda d: d.update(surprise=1), "surprise"),
        (lambda d: d["items"][0].update(department="army"), "department"),
        (lambda d: d["items"][0].update(cite="短"), "cite"),
        (lambda d: d["items"][0]["time_limit"].update(unit="fortnights"), "unit"),
        (lambda d: d["materials"][0].update(material="selfie"), "material"),
    ],
    ids=["no-clock-rule", "bad-clock-rule", "bad-region", "extra-key", "bad-dept", "short-cite",
         "bad-unit", "bad-material"],
)  # fmt: skip
def test_other_invalid_fields(tmp_path: Path, change: Any, expected: str) -> None:
    data = packaged("lanzhou")
    change(data)
    write_pack(tmp_path, "bad.yaml", data)
    message = pack_error(tmp_path)
    assert "bad.yaml" in message and expected in message


def test_not_yaml_or_not_a_mapping(tmp_path: Path) -> None:
    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "broken.yaml").write_text("region: [unclosed\n", encoding="utf-8")
    assert "broken.yaml" in pack_error(tmp_path)
    (packs / "broken.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    assert "broken.yaml" in pack_error(tmp_path)
    (packs / "broken.yaml").write_bytes(b"region: \xff\xfe\n")
    assert "broken.yaml" in pack_error(tmp_path)


def test_model_rejects_bad_pack_directly() -> None:
    data = packaged("lanzhou")
    item(data, "birth_certificate")["after"] = ["parenting_guidance"]
    item(data, "parenting_guidance")["after"] = ["birth_certificate"]
    with pytest.raises(ValueError, match="cycle"):
        PolicyPack.model_validate(data)


# --- versions in force --------------------------------------------------------------


def versioned(tmp_path: Path) -> PackRegistry:
    base = packaged("qinbei")
    for version, start, limit in (("v2", "2025-07-01", 3), ("v1", "2024-11-18", 2)):
        data = copy.deepcopy(base)
        data["version"] = version
        data["effective_from"] = date.fromisoformat(start)
        item(data, "birth_registration")["time_limit"]["days"] = limit
        write_pack(tmp_path, f"qinbei-{version}.yaml", data)
    return load_packs([tmp_path], packaged=False)


def version_at(registry: PackRegistry, at: date | datetime | None) -> str:
    pack = registry.current("qinbei", at)
    assert pack is not None
    return pack.version


def test_versions_are_sorted_by_effective_from(tmp_path: Path) -> None:
    registry = versioned(tmp_path)
    assert [p.version for p in registry.versions["qinbei"]] == ["v1", "v2"]
    assert registry.version("qinbei", "v2") is registry.versions["qinbei"][1]
    assert registry.version("qinbei", "v9") is None
    assert registry.version("atlantis", "v1") is None


def test_current_picks_the_version_in_force(tmp_path: Path) -> None:
    registry = versioned(tmp_path)
    assert version_at(registry, date(2024, 11, 18)) == "v1"
    assert version_at(registry, date(2025, 6, 30)) == "v1"
    assert version_at(registry, date(2025, 7, 1)) == "v2"
    assert version_at(registry, date(2030, 1, 1)) == "v2"
    assert version_at(registry, None) == "v2"
    pack = registry.current("qinbei", date(2025, 7, 1))
    assert pack is not None and pack.item("birth_registration") is not None
    entry = pack.item("birth_registration")
    assert entry is not None and entry.time_limit.days == 3


def test_current_uses_the_beijing_date_of_a_time(tmp_path: Path) -> None:
    registry = versioned(tmp_path)
    # 2025-06-30T16:30Z is 2025-07-01T00:30 in Beijing: the new version is in force
    assert version_at(registry, datetime.fromisoformat("2025-06-30T16:30:00+00:00")) == "v2"
    assert version_at(registry, datetime.fromisoformat("2025-06-30T15:59:59+00:00")) == "v1"
    assert version_at(registry, datetime(2025, 7, 1, 0, 0, tzinfo=BEIJING)) == "v2"
    assert version_at(registry, datetime(2025, 6, 30, 23, 59)) == "v1"  # naive = Beijing


def test_before_the_first_version_the_earliest_applies(tmp_path: Path) -> None:
    registry = versioned(tmp_path)
    assert version_at(registry, date(2020, 1, 1)) == "v1"
    assert version_at(registry, date(2024, 11, 17)) == "v1"


def test_unknown_region_has_no_current_pack() -> None:
    registry = load_packs()
    assert registry.current("atlantis") is None
    assert registry.current("atlantis", date(2026, 1, 1)) is None


def test_every_packaged_region_offers_parenting_guidance() -> None:
    """Issue 12 part 3 (all five regions): by the item (seeds 000, 002, 004) or, where the
    seed names no item (Fuzhou 003, Yuanling 001), as content without one (ADR 0040)."""
    packs = load_packs()
    offered = {region: packs.current(region).guidance for region in REGIONS}  # type: ignore[union-attr]
    assert offered == {
        "fuzhou": "content",
        "jilin": "item",
        "lanzhou": "item",
        "qinbei": "item",
        "yuanling": "content",
    }


def test_guidance_without_item_is_refused_beside_the_item(tmp_path: Path) -> None:
    data = packaged("qinbei")  # qinbei offers parenting_guidance as an item
    data["guidance_without_item"] = {
        "note": "无需另行登记，办件受理后即可查看育儿指导",
        "cite": "科学育儿指导服务登记",
    }
    write_pack(tmp_path, "both.yaml", data)
    message = pack_error(tmp_path)
    assert "both.yaml" in message and "guidance_without_item" in message
