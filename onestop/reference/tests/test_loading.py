from pathlib import Path

import pytest

from onestop.core.errors import ReferenceDataError
from onestop.reference.domain import load_reference


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(directory: Path) -> str:
    with pytest.raises(ReferenceDataError) as caught:
        load_reference([directory])
    assert caught.value.code == "reference_data_invalid"
    return caught.value.message


def test_packaged_only_equals_default() -> None:
    ref = load_reference()
    assert "qinbei-mch" in ref.hospitals
    assert len(ref.recognized_ethnic_groups) == 56


def test_extra_dir_adds_and_overrides(tmp_path: Path) -> None:
    write(
        tmp_path,
        "hospitals.csv",
        "code,name,division,midwifery\n"
        "qinbei-mch,钦州市钦北区妇幼保健院,450703,true\n"
        "lingshan-mch,灵山县妇幼保健院,450721,true\n"
        "lingshan-clinic,灵山县某诊所,450721,false\n",
    )
    write(tmp_path, "banks.csv", "code,name\nbocom,交通银行\n")
    ref = load_reference([tmp_path])
    assert ref.hospitals["qinbei-mch"].name == "钦州市钦北区妇幼保健院"
    assert ref.hospitals["lingshan-mch"].division == "450721"
    assert not ref.hospitals["lingshan-clinic"].midwifery
    assert "qinbei-people" in ref.hospitals
    assert ref.banks["bocom"].name == "交通银行"
    assert "boc" in ref.banks
    # the files not present in the extra dir are the packaged ones
    assert ref.police_stations == load_reference().police_stations


def test_later_dirs_win_and_extra_columns_are_ignored(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    write(first, "service_centers.csv", "code,name,division\nx-sc,甲,450703\n")
    write(second, "service_centers.csv", "division,name,code,note\n450702,乙,x-sc,备注\n")
    ref = load_reference([first, second])
    assert (ref.service_centers["x-sc"].name, ref.service_centers["x-sc"].division) == (
        "乙",
        "450702",
    )


def test_extra_divisions_and_bom(tmp_path: Path) -> None:
    (tmp_path / "divisions.csv").write_text(
        "code,name,parent\r\n450100,南宁市,450000\r\n450102,兴宁区,450100\r\n"
        "450199,示范新区,450100\r\n",
        encoding="utf-8-sig",
    )
    write(tmp_path, "hospitals.csv", "code,name,division,midwifery\nnn-demo,示范医院,450199,TRUE\n")
    ref = load_reference([tmp_path])
    assert ref.division_full_name("450199") == "广西壮族自治区南宁市示范新区"
    assert ref.hospitals["nn-demo"].midwifery


def test_missing_column(tmp_path: Path) -> None:
    write(tmp_path, "hospitals.csv", "code,name,division\nx,甲,450703\n")
    message = load_error(tmp_path)
    assert "hospitals.csv" in message and "midwifery" in message


def test_empty_file(tmp_path: Path) -> None:
    write(tmp_path, "banks.csv", "")
    assert "banks.csv" in load_error(tmp_path)


def test_duplicate_code_in_one_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        "police_stations.csv",
        "code,name,division\nx-ps,甲,450703\ny-ps,乙,450703\nx-ps,丙,450703\n",
    )
    message = load_error(tmp_path)
    assert "police_stations.csv" in message
    assert "第 4 行" in message and "x-ps" in message


@pytest.mark.parametrize("division", ["45070", "4507033", "abcdef", ""])
def test_hospital_division_not_six_digits(tmp_path: Path, division: str) -> None:
    write(tmp_path, "hospitals.csv", f"code,name,division,midwifery\nx,甲,{division},true\n")
    message = load_error(tmp_path)
    assert "hospitals.csv" in message and "第 2 行" in message


def test_hospital_division_in_unknown_province(tmp_path: Path) -> None:
    write(tmp_path, "hospitals.csv", "code,name,division,midwifery\nx,甲,990101,true\n")
    message = load_error(tmp_path)
    assert "990101" in message and "第 2 行" in message


def test_bad_midwifery_flag(tmp_path: Path) -> None:
    write(tmp_path, "hospitals.csv", "code,name,division,midwifery\nx,甲,450703,maybe\n")
    assert "midwifery" in load_error(tmp_path)


@pytest.mark.parametrize(
    "rows",
    [
        "450799,示范区,459900\n",  # parent not in the table
        "450799,示范区,620100\n",  # parent does not contain it
        "450799,示范区,\n",  # no parent but not province-level
        "4507,示范区,450700\n",  # code not six digits
        "450799,,450700\n",  # empty name
    ],
)
def test_bad_division_rows(tmp_path: Path, rows: str) -> None:
    write(tmp_path, "divisions.csv", "code,name,parent\n" + rows)
    message = load_error(tmp_path)
    assert "divisions.csv" in message and "第 2 行" in message


def test_bad_ethnic_group_code(tmp_path: Path) -> None:
    write(tmp_path, "ethnic_groups.csv", "code,name,name_en\n1,汉族,Han\n")
    assert "ethnic_groups.csv" in load_error(tmp_path)


def test_ethnic_group_recognized_defaults_to_true(tmp_path: Path) -> None:
    write(tmp_path, "ethnic_groups.csv", "code,name,name_en\n01,汉族,Han (override)\n")
    ref = load_reference([tmp_path])
    assert ref.ethnic_groups["01"].name_en == "Han (override)"
    assert len(ref.recognized_ethnic_groups) == 56


def test_too_many_cells(tmp_path: Path) -> None:
    write(tmp_path, "banks.csv", "code,name\nx,甲,多余\n")
    assert "第 2 行" in load_error(tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "banks.csv").write_bytes("code,name\nx,交通银行\n".encode("gbk"))
    assert "UTF-8" in load_error(tmp_path)


def test_missing_extra_dir(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError):
        load_reference([tmp_path / "nowhere"])


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, "banks.csv", "code,name\n\nbocom,交通银行\n,\n")
    assert load_reference([tmp_path]).banks["bocom"].name == "交通银行"
