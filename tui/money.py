"""Rupiah for people: thousands separators per language, and amounts in words.

Indonesian writes Rp1.000.000 and "satu juta rupiah" (terbilang); English writes Rp1,000,000 and
"one million rupiah". Amounts are integer rupiah up to the largest BIGINT the store can hold.
"""

from __future__ import annotations

from tui.i18n import current_language

MAX_AMOUNT = 2**63 - 1  # the largest value of a BIGINT money column

_ID_UNITS = ["", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"]
_ID_SCALES = ["", "ribu", "juta", "miliar", "triliun", "kuadriliun", "kuintiliun"]
_EN_UNITS = [
    "", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
]
_EN_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_EN_SCALES = ["", "thousand", "million", "billion", "trillion", "quadrillion", "quintillion"]


def group_digits(amount: int, language: str | None = None) -> str:
    separator = "." if (language or current_language()) == "id" else ","
    return f"{amount:,}".replace(",", separator)


def about(count: int, language: str | None = None) -> str:
    """A large estimated count in words, two significant digits: "1.2 million" / "1,2 juta",
    "340,000" / "340.000" (an estimate is never shown to the last digit)."""
    language = language or current_language()
    for size, english, indonesian in ((10**9, "billion", "miliar"), (10**6, "million", "juta")):
        if count >= size:
            value = f"{count / size:.1f}".removesuffix(".0")
            if language == "id":
                return f"{value.replace('.', ',')} {indonesian}"
            return f"{value} {english}"
    digits = len(str(count))
    rounded = round(count, -max(0, digits - 2))
    return group_digits(rounded, language)


def percent(basis_points: int, language: str | None = None) -> str:
    """A rate held in basis points, as a percentage: 1500 -> "15 %", 1250 -> "12,50 %" (id)."""
    whole, rest = divmod(basis_points, 100)
    if not rest:
        return f"{whole} %"
    decimal = "," if (language or current_language()) == "id" else "."
    return f"{whole}{decimal}{rest:02d} %"


def rupiah(amount: int, language: str | None = None) -> str:
    """Rp1.000.000 (Indonesian) or Rp1,000,000 (English); negative amounts as -Rp..."""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{group_digits(abs(amount), language)}"


def _check(amount: int) -> None:
    # bool is an int to Python, but True is no amount of money.
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0 or amount > MAX_AMOUNT:
        raise ValueError(f"amount out of range: {amount!r}")


def _groups(amount: int) -> list[int]:
    """Groups of three digits, least significant first."""
    groups = []
    while amount:
        amount, group = divmod(amount, 1000)
        groups.append(group)
    return groups


def _id_below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds == 1:
        words.append("seratus")
    elif hundreds:
        words += [_ID_UNITS[hundreds], "ratus"]
    if rest == 10:
        words.append("sepuluh")
    elif rest == 11:
        words.append("sebelas")
    elif 12 <= rest <= 19:
        words += [_ID_UNITS[rest - 10], "belas"]
    elif rest >= 20:
        tens, units = divmod(rest, 10)
        words += [_ID_UNITS[tens], "puluh"]
        if units:
            words.append(_ID_UNITS[units])
    elif rest:
        words.append(_ID_UNITS[rest])
    return words


def terbilang(amount: int) -> str:
    """Indonesian words: terbilang(1_200_000_000) == "satu miliar dua ratus juta rupiah"."""
    _check(amount)
    if amount == 0:
        return "nol rupiah"
    words: list[str] = []
    for scale, group in reversed(list(enumerate(_groups(amount)))):
        if not group:
            continue
        if scale == 1 and group == 1:
            words.append("seribu")  # 1.000 is "seribu", never "satu ribu"
            continue
        words += _id_below_thousand(group)
        if _ID_SCALES[scale]:
            words.append(_ID_SCALES[scale])
    return " ".join(words + ["rupiah"])


def _en_below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_EN_UNITS[hundreds], "hundred"]
    if rest < 20:
        if rest:
            words.append(_EN_UNITS[rest])
    else:
        tens, units = divmod(rest, 10)
        words.append(_EN_TENS[tens] + (f"-{_EN_UNITS[units]}" if units else ""))
    return words


def in_english_words(amount: int) -> str:
    """English words: in_english_words(1_200_000_000) == "one billion two hundred million rupiah"."""
    _check(amount)
    if amount == 0:
        return "zero rupiah"
    words: list[str] = []
    for scale, group in reversed(list(enumerate(_groups(amount)))):
        if group:
            words += _en_below_thousand(group)
            if _EN_SCALES[scale]:
                words.append(_EN_SCALES[scale])
    return " ".join(words + ["rupiah"])


def in_words(amount: int, language: str | None = None) -> str:
    """The amount in words in the UI language."""
    return terbilang(amount) if (language or current_language()) == "id" else in_english_words(amount)
