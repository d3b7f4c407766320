"""Field validation shared by imports, forms and services.

Every refusal is an InvalidInput naming the field and what is wrong with it, so an import can
report "line 12, column nik: the birth date part 310299 is not a real date".
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import urlparse

from store.errors import InvalidInput
from store.models.organisations import LegalForm
from store.provinces import PROVINCES

_DIGITS = re.compile(r"\d+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?\d{8,15}$")
# Compiled once: imports run these on every one of a million rows.
_NUMBER_NOISE = re.compile(r"[\s.\-/]")
_PHONE_NOISE = re.compile(r"[\s\-()]")
_HUNDREDTHS = re.compile(r"^(\d{1,3})(?:[.,](\d{1,2}))?$")


# The largest amount of rupiah anything in the program may hold: Rp100 trillion, five times the
# program's whole 2020 budget, and far inside BIGINT. Forms, files and the store check it; every
# money column is checked against it on the way into the database too (store/column_guard.py).
MAX_AMOUNT_IDR = 100_000_000_000_000


def within_amount_ceiling(amount: int, field: str) -> int:
    if amount > MAX_AMOUNT_IDR:
        raise InvalidInput("input.amount_too_large", field=field, max_idr=MAX_AMOUNT_IDR)
    return amount


def require_text(value: str | None, field: str, *, max_length: int = 200) -> str:
    cleaned = " ".join((value or "").split())
    if not cleaned:
        raise InvalidInput("input.required", field=field)
    if len(cleaned) > max_length:
        raise InvalidInput("input.too_long", field=field, max=max_length)
    return cleaned


def _digits_only(value: str) -> str:
    return _NUMBER_NOISE.sub("", value or "")


def _is_digits(value: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts "²" or "١", which int() then refuses."""
    return value.isascii() and value.isdigit()


def nib(value: str, field: str = "nib") -> str:
    """Business identification number (Nomor Induk Berusaha): 13 digits."""
    cleaned = _digits_only(value)
    if not cleaned:
        raise InvalidInput("input.required", field=field)
    if not _is_digits(cleaned) or len(cleaned) != 13:
        raise InvalidInput("input.nib", field=field, value=value)
    return cleaned


def npwp(value: str, field: str = "npwp") -> str:
    """Tax number: 15 digits (01.234.567.8-901.000) or the 16-digit form used since 2024."""
    cleaned = _digits_only(value)
    if not cleaned:
        raise InvalidInput("input.required", field=field)
    if not _is_digits(cleaned) or len(cleaned) not in (15, 16):
        raise InvalidInput("input.npwp", field=field, value=value)
    return cleaned


def url(value: str, field: str = "portal_url") -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise InvalidInput("input.required", field=field)
    parsed = urlparse(cleaned if "://" in cleaned else f"https://{cleaned}")
    host = parsed.hostname or ""
    if parsed.scheme not in ("http", "https") or "." not in host or " " in cleaned:
        raise InvalidInput("input.url", field=field, value=value)
    return parsed.geturl()


def email(value: str, field: str = "email", *, required: bool = False) -> str:
    cleaned = (value or "").strip()
    if not cleaned and not required:
        return ""
    if not _EMAIL.match(cleaned):
        raise InvalidInput("input.email", field=field, value=value)
    return cleaned.lower()


def phone(value: str, field: str = "phone", *, required: bool = False) -> str:
    cleaned = _PHONE_NOISE.sub("", value or "")
    if not cleaned and not required:
        return ""
    if not _PHONE.match(cleaned):
        raise InvalidInput("input.phone", field=field, value=value)
    return cleaned


def province(value: str, field: str = "province") -> str:
    cleaned = (value or "").strip()
    if cleaned not in PROVINCES:
        raise InvalidInput("input.province", field=field, value=value)
    return cleaned


def provinces(values: str | list[str], field: str = "provinces") -> list[str]:
    """A list of province codes (space, comma or semicolon separated), de-duplicated, sorted."""
    items = re.split(r"[\s,;]+", values.strip()) if isinstance(values, str) else list(values)
    codes = sorted({item.strip() for item in items if item.strip()})
    unknown = [code for code in codes if code not in PROVINCES]
    if unknown:
        raise InvalidInput("input.province", field=field, value=" ".join(unknown))
    return codes


def legal_form(value: str, field: str = "legal_form") -> str:
    """One of the LegalForm codes (pt, other_private, bumn, bumd, government), any case."""
    cleaned = (value or "").strip().lower()
    if not cleaned:
        raise InvalidInput("input.required", field=field)
    if cleaned not in {form.value for form in LegalForm}:
        raise InvalidInput("input.legal_form", field=field, value=value)
    return cleaned


def is_digits(value: str) -> bool:
    """The check every number typed or read from a file goes through (see `_is_digits`)."""
    return _is_digits(value)


def iso_date(value: str | dt.date, field: str, *, not_after: dt.date | None = None) -> dt.date:
    """A date written YYYY-MM-DD; `not_after` refuses later dates (e.g. today: no future dates)."""
    if isinstance(value, dt.date):
        day = value
    else:
        cleaned = (value or "").strip()
        if not cleaned:
            raise InvalidInput("input.required", field=field)
        try:
            day = dt.date.fromisoformat(cleaned)
        except ValueError:
            raise InvalidInput("input.date", field=field, value=value) from None
    if not_after is not None and day > not_after:
        raise InvalidInput("input.date_future", field=field, value=day.isoformat(), limit=not_after.isoformat())
    return day


def hundredths_text(centi: int | None) -> str:
    """Hundredths as the operator typed them: 283 -> "2.83" ("-" when there is none)."""
    return "-" if centi is None else f"{centi // 100}.{centi % 100:02d}"


def hundredths(value: str) -> int | None:
    """A decimal typed with a point or a comma and up to two decimals ("12.5", "2,75", "3") in
    hundredths (1250, 275, 300); None when it is not one."""
    match = _HUNDREDTHS.match(value.strip())
    if not match:
        return None
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


def percentage_bp(value: str | int, field: str) -> int:
    """A percentage typed as "12.5" or "12,5 %" (up to 100), in basis points (1250); an int is
    taken as basis points already."""
    bp: int | None
    if isinstance(value, int) and not isinstance(value, bool):
        bp = value
    else:
        bp = hundredths(str(value or "").strip().removesuffix("%"))
    if bp is None or not 0 <= bp <= 10_000:
        raise InvalidInput("input.commission", field=field, value=value)
    return bp


def count(value: str | int, field: str) -> int:
    """A whole number of things, zero or more (blank means zero)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        cleaned = str(value or "").strip() or "0"
        if not _is_digits(cleaned) or len(cleaned) > 12:
            raise InvalidInput("input.count", field=field, value=value)
        number = int(cleaned)
    if number < 0:
        raise InvalidInput("input.count", field=field, value=value)
    return number


def family_card(value: str, field: str = "family_card", *, required: bool = False) -> str:
    cleaned = _digits_only(value)
    if not cleaned and not required:
        return ""
    if not _is_digits(cleaned) or len(cleaned) != 16:
        raise InvalidInput("input.family_card", field=field, value=value)
    return cleaned


def positive_money(value: int | str, field: str) -> int:
    """Integer rupiah: digits only (thousands separators `.` or `,` allowed), above zero."""
    amount = money(value, field)
    if amount <= 0:
        raise InvalidInput("input.money", field=field, value=value)
    return amount


def money(value: int | str, field: str) -> int:
    """Integer rupiah, zero or more: digits only (thousands separators `.` or `,` allowed)."""
    if isinstance(value, bool):
        raise InvalidInput("input.money", field=field, value=value)
    if isinstance(value, int):
        amount = value
    else:
        cleaned = re.sub(r"^(rp)\s*|[.,\s]", "", str(value).strip(), flags=re.IGNORECASE)
        if not _is_digits(cleaned):
            raise InvalidInput("input.money", field=field, value=value)
        amount = int(cleaned)
    if amount < 0:
        raise InvalidInput("input.money", field=field, value=value)
    return within_amount_ceiling(amount, field)


# --- NIK: PP RR DD DDMMYY SSSS -------------------------------------------------------------


@dataclass(frozen=True)
class NikParts:
    province: str
    regency: str
    district: str
    day: int  # real day of the month (40 already taken off for women)
    month: int
    year2: int  # two-digit year
    sex: str  # "M" or "F"
    serial: str

    def birth_date(self, today: dt.date | None = None) -> dt.date:
        """The birth date, choosing the century that does not lie in the future."""
        today = today or dt.date.today()
        year = 2000 + self.year2
        if year > today.year:
            year -= 100
        return dt.date(year, self.month, self.day)


def parse_nik(value: str, field: str = "nik") -> NikParts:
    """Check a NIK's structure; every refusal names the part that is wrong."""
    nik_text = (value or "").strip()
    if not nik_text:
        raise InvalidInput("input.required", field=field)
    if not _is_digits(nik_text):
        raise InvalidInput("input.nik.digits", field=field, value=nik_text)
    if len(nik_text) != 16:
        raise InvalidInput("input.nik.length", field=field, value=nik_text, length=len(nik_text))
    province_code = nik_text[0:2]
    if province_code not in PROVINCES:
        raise InvalidInput("input.nik.province", field=field, value=nik_text, part=province_code)
    day, month, year2 = int(nik_text[6:8]), int(nik_text[8:10]), int(nik_text[10:12])
    sex = "M"
    if day > 40:
        day, sex = day - 40, "F"
    if not _real_date_in_some_century(day, month, year2):
        raise InvalidInput("input.nik.date", field=field, value=nik_text, part=nik_text[6:12])
    serial = nik_text[12:16]
    if serial == "0000":
        raise InvalidInput("input.nik.serial", field=field, value=nik_text, part=serial)
    return NikParts(province_code, nik_text[2:4], nik_text[4:6], day, month, year2, sex, serial)


def _real_date_in_some_century(day: int, month: int, year2: int) -> bool:
    for century in (2000, 1900):
        try:
            dt.date(century + year2, month, day)
            return True
        except ValueError:
            continue
    return False


def nik(value: str, *, birth_date: dt.date | None = None, sex: str | None = None, field: str = "nik") -> NikParts:
    """A well-formed NIK that agrees with the record's birth date and sex (when given)."""
    parts = parse_nik(value, field)
    if birth_date is not None and (
        birth_date.day != parts.day or birth_date.month != parts.month or birth_date.year % 100 != parts.year2
    ):
        raise InvalidInput(
            "input.nik.birth_date_mismatch", field=field, value=value, part=value.strip()[6:12],
            birth_date=birth_date.isoformat(),
        )
    if sex is not None and sex != parts.sex:
        raise InvalidInput("input.nik.sex_mismatch", field=field, value=value, part=value.strip()[6:8], sex=sex)
    return parts


def build_nik(province_code: str, regency: int, district: int, birth_date: dt.date, sex: str, serial: int) -> str:
    """The NIK for these parts (used by fixtures and tests)."""
    day = birth_date.day + (40 if sex == "F" else 0)
    return (
        f"{province_code}{regency:02d}{district:02d}{day:02d}{birth_date.month:02d}"
        f"{birth_date.year % 100:02d}{serial:04d}"
    )
