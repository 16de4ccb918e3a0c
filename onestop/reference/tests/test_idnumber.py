from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onestop.reference.idnumber import (
    PROVINCE_CODES,
    InvalidIdNumber,
    is_valid_resident_id,
    make_resident_id,
    mask_id_number,
    mask_name,
    mask_phone,
    parse_resident_id,
)

# The sample numbers of application.md (…0023, …0017) have wrong check digits;
# these are the same people with the correct GB 11643 check digit.
MOTHER = "450703199203150028"
FATHER = "450703199001010019"


def problem_of(value: str) -> str:
    with pytest.raises(InvalidIdNumber) as caught:
        parse_resident_id(value)
    return caught.value.problem


def test_known_good_numbers() -> None:
    mother = parse_resident_id(MOTHER)
    assert mother.division == "450703"
    assert mother.birth_date == date(1992, 3, 15)
    assert mother.sex == "2"
    father = parse_resident_id(FATHER)
    assert father.birth_date == date(1990, 1, 1)
    assert father.sex == "1"
    assert is_valid_resident_id(MOTHER) and is_valid_resident_id(FATHER)


def test_spec_sample_numbers_have_wrong_check_digits() -> None:
    assert problem_of("450703199203150023") == "check_digit"
    assert problem_of("450703199001010017") == "check_digit"


def test_public_example_from_stdnum() -> None:
    assert parse_resident_id("360426199101010071").sex == "1"


def test_wrong_check_digit_message() -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        parse_resident_id(MOTHER[:-1] + "1")
    assert caught.value.problem == "check_digit"
    assert caught.value.message == "身份证号码校验位不正确，请核对"
    assert isinstance(caught.value, ValueError)


def test_division_must_start_with_a_province_code() -> None:
    """GB 11643 § 5.2: the address code is a GB/T 2260 division (issue 8, defect 6)."""
    for division in ("000000", "100101", "700101", "240101"):
        first17 = f"{division}19920315002"
        # whatever its check digit, a number without a province code is refused
        assert all(problem_of(first17 + c) == "division" for c in "0123456789X")
    assert parse_resident_id(make_resident_id("810000", date(1990, 1, 1), 3, "1"))
    assert parse_resident_id(make_resident_id("930101", date(1990, 1, 1), 3, "2"))
    with pytest.raises(ValueError):
        make_resident_id("100101", date(1990, 1, 1), 3, "2")


def test_impossible_date() -> None:
    first17 = "45070319990230001"
    # Whatever check digit is used, 1999-02-30 does not exist.
    for check in "0123456789X":
        assert problem_of(first17 + check) == "birth_date"


def test_birth_before_1900() -> None:
    first17 = "45070318991231001"
    assert problem_of(first17 + "0") == "birth_date"


def test_birth_after_today_only_with_today() -> None:
    number = make_resident_id("450703", date(2030, 1, 1), 0, "1")
    assert is_valid_resident_id(number)
    assert not is_valid_resident_id(number, today=date(2026, 11, 20))


@pytest.mark.parametrize(
    "value",
    ["", "   ", "45070319920315002", "4507031992031500288", "450703920315002"],
)
def test_length(value: str) -> None:
    assert problem_of(value) == "length"


def test_length_message() -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        parse_resident_id("450703920315002")
    assert "18位" in caught.value.message


@pytest.mark.parametrize(
    "value",
    ["45070319920315002A", "4507031992031500X8", "45070319920315 028", "４５0703199203150028"],
)
def test_format(value: str) -> None:
    assert problem_of(value) == "format"


def test_non_string_is_invalid() -> None:
    assert not is_valid_resident_id(None)
    assert not is_valid_resident_id(450703199203150028)


def _number_ending_in_x() -> str:
    for seq in range(500):
        number = make_resident_id("450703", date(1992, 3, 15), seq, "2")
        if number.endswith("X"):
            return number
    raise AssertionError("no number with check digit X")


def test_lowercase_x_and_whitespace() -> None:
    number = _number_ending_in_x()
    parsed = parse_resident_id(f"  {number[:-1]}x\n")
    assert parsed.number == number
    assert is_valid_resident_id(number.lower())


def test_make_resident_id_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        make_resident_id("45070", date(1990, 1, 1), 0, "1")
    with pytest.raises(ValueError):
        make_resident_id("450703", date(1899, 1, 1), 0, "1")
    with pytest.raises(ValueError):
        make_resident_id("450703", date(1990, 1, 1), 500, "1")
    with pytest.raises(ValueError):
        make_resident_id("450703", date(1990, 1, 1), 0, "9")


def test_mask_id_number() -> None:
    assert mask_id_number(MOTHER) == "450703********0028"
    assert mask_id_number(" 450703199203150023 ") == "450703********0023"
    assert mask_id_number("") == ""
    assert mask_id_number(None) == ""
    assert mask_id_number("1") == "*"
    assert mask_id_number("12345") == "1***5"
    short = mask_id_number("1234567890")
    assert len(short) == 10 and short.count("*") >= 5


def test_mask_phone() -> None:
    assert mask_phone("13800000000") == "138****0000"
    assert mask_phone("") == ""
    assert mask_phone(None) == ""
    assert mask_phone("123") == "***"
    assert mask_phone("12345678") == "12****78"


def test_mask_name() -> None:
    assert mask_name("黄丽") == "黄*"
    assert mask_name("黄沐阳") == "黄**"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_name("欧阳娜") == "欧阳*"
    assert mask_name("欧阳") == "欧*"
    assert mask_name("丽") == "*"
    assert mask_name("") == ""
    assert mask_name(None) == ""


divisions = st.builds(
    lambda province, rest: province + rest,
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.from_regex(r"[0-9]{4}", fullmatch=True),
)
births = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))
seqs = st.integers(min_value=0, max_value=499)
sexes = st.sampled_from(["1", "2"])


@given(divisions, births, seqs, sexes)
def test_make_resident_id_round_trips(division: str, birth: date, seq: int, sex: str) -> None:
    number = make_resident_id(division, birth, seq, sex)
    parsed = parse_resident_id(number)
    assert parsed.number == number
    assert (parsed.division, parsed.birth_date, parsed.sex) == (division, birth, sex)


@given(divisions, births, seqs, sexes, st.integers(min_value=0, max_value=17), st.data())
def test_changing_one_character_invalidates(
    division: str, birth: date, seq: int, sex: str, position: int, data: st.DataObject
) -> None:
    number = make_resident_id(division, birth, seq, sex)
    alphabet = [c for c in "0123456789X" if c != number[position]]
    replacement = data.draw(st.sampled_from(alphabet))
    changed = number[:position] + replacement + number[position + 1 :]
    assert not is_valid_resident_id(changed)
