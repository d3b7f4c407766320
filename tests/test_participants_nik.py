"""NIK validation: every NIK built from the structure is accepted, every malformation refused
with the key naming the part that is wrong."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from store.errors import InvalidInput
from store.provinces import PROVINCES
from store.validators import build_nik, nik, parse_nik

TODAY = dt.date.today()
provinces = st.sampled_from(sorted(PROVINCES))
unknown_provinces = st.integers(0, 99).map(lambda n: f"{n:02d}").filter(lambda code: code not in PROVINCES)
births = st.dates(min_value=dt.date(TODAY.year - 99, 1, 1), max_value=TODAY)
sexes = st.sampled_from(["M", "F"])
serials = st.integers(1, 9999)
regions = st.integers(1, 99)


@st.composite
def valid_niks(draw):
    birth, sex = draw(births), draw(sexes)
    value = build_nik(draw(provinces), draw(regions), draw(regions), birth, sex, draw(serials))
    return value, birth, sex


def refused(value: str, **kwargs) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        nik(value, **kwargs)
    return error.value


@given(valid_niks())
@example(("9601016902000001", dt.date(2000, 2, 29), "F"))  # a woman born on 29 February, province 96
@example(("3171012902000001", dt.date(2000, 2, 29), "M"))
def test_every_nik_built_from_the_structure_is_accepted(case):
    value, birth, sex = case
    parts = nik(value, birth_date=birth, sex=sex)
    assert parts.province == value[:2]
    assert (parts.day, parts.month, parts.year2, parts.sex) == (birth.day, birth.month, birth.year % 100, sex)
    assert parts.birth_date(TODAY) == birth
    assert parts.serial == value[12:]


@given(valid_niks(), st.integers(0, 15), st.characters(exclude_categories=["Nd"]) | st.sampled_from("²١٣ "))
def test_a_character_other_than_an_ascii_digit_is_refused(case, position, character):
    value = case[0]
    assume(character.strip())
    bad = value[:position] + character + value[position + 1:]
    assert refused(bad).key == "input.nik.digits"


@given(valid_niks(), st.integers(1, 15))
def test_too_short_is_refused_with_the_length(case, keep):
    error = refused(case[0][:keep])
    assert error.key == "input.nik.length" and error.params["length"] == keep


@given(valid_niks(), st.text("0123456789", min_size=1, max_size=4))
def test_too_long_is_refused(case, extra):
    assert refused(case[0] + extra).key == "input.nik.length"


@given(valid_niks(), unknown_provinces)
def test_unknown_province_code_is_refused_naming_it(case, code):
    error = refused(code + case[0][2:])
    assert error.key == "input.nik.province" and error.params["part"] == code


@st.composite
def impossible_dates(draw):
    """A DDMMYY part that is no calendar date, for men or (day + 40) for women."""
    year2 = draw(st.integers(0, 99))
    kind = draw(st.sampled_from(["day0", "day_high", "month0", "month_high", "past_month_end"]))
    month = draw(st.integers(1, 12))
    if kind == "day0":
        day = 0
    elif kind == "day_high":
        day = draw(st.integers(32, 40))
    elif kind == "month0":
        day, month = draw(st.integers(1, 28)), 0
    elif kind == "month_high":
        day, month = draw(st.integers(1, 28)), draw(st.integers(13, 99))
    else:
        # Past the end of the month in every century the two digits can mean.
        last = max(calendar.monthrange(2000 + year2, month)[1], calendar.monthrange(1900 + year2, month)[1])
        assume(last < 31)
        day = draw(st.integers(last + 1, 31))
    women = draw(st.booleans()) and day <= 31
    return f"{day + (40 if women else 0):02d}{month:02d}{year2:02d}"


@given(valid_niks(), impossible_dates())
@example(("3201010101990001", None, None), "290201")  # 29 February 2001 (and 1901) does not exist
@example(("3201010101990001", None, None), "690201")  # the same for a woman
@example(("3201010101990001", None, None), "720100")  # day 32 for a woman
def test_birth_date_part_that_is_no_real_date_is_refused_naming_it(case, date_part):
    value = case[0][:6] + date_part + case[0][12:]
    error = refused(value)
    assert error.key == "input.nik.date" and error.params["part"] == date_part


@given(valid_niks())
def test_serial_0000_is_refused(case):
    error = refused(case[0][:12] + "0000")
    assert error.key == "input.nik.serial" and error.params["part"] == "0000"


@given(valid_niks(), births)
def test_record_birth_date_must_agree_with_the_nik(case, other):
    value, birth, sex = case
    assume((other.day, other.month, other.year % 100) != (birth.day, birth.month, birth.year % 100))
    error = refused(value, birth_date=other, sex=sex)
    assert error.key == "input.nik.birth_date_mismatch" and error.params["part"] == value[6:12]


@given(valid_niks())
def test_record_sex_must_agree_with_the_nik(case):
    value, birth, sex = case
    error = refused(value, birth_date=birth, sex="M" if sex == "F" else "F")
    assert error.key == "input.nik.sex_mismatch" and error.params["part"] == value[6:8]


@pytest.mark.parametrize("value", ["", "   "])
def test_missing_nik_is_required(value):
    assert refused(value).key == "input.required"


def test_women_carry_40_on_the_day():
    parts = parse_nik("3201014512950003")
    assert (parts.sex, parts.day, parts.month) == ("F", 5, 12)
    assert parse_nik("3201010512950003").sex == "M"
