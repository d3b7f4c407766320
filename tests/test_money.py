"""Amounts for people: thousands separators and words, in Indonesian and English."""

from __future__ import annotations

import pytest

from tui.i18n import set_language
from tui.money import MAX_AMOUNT, in_english_words, in_words, rupiah, terbilang

WORDS = [
    # amount, Indonesian (terbilang), English
    (0, "nol rupiah", "zero rupiah"),
    (1, "satu rupiah", "one rupiah"),
    (10, "sepuluh rupiah", "ten rupiah"),
    (11, "sebelas rupiah", "eleven rupiah"),
    (12, "dua belas rupiah", "twelve rupiah"),
    (21, "dua puluh satu rupiah", "twenty-one rupiah"),
    (100, "seratus rupiah", "one hundred rupiah"),
    (111, "seratus sebelas rupiah", "one hundred eleven rupiah"),
    (1_000, "seribu rupiah", "one thousand rupiah"),
    (1_100, "seribu seratus rupiah", "one thousand one hundred rupiah"),
    (11_000, "sebelas ribu rupiah", "eleven thousand rupiah"),
    (100_000, "seratus ribu rupiah", "one hundred thousand rupiah"),
    (600_000, "enam ratus ribu rupiah", "six hundred thousand rupiah"),
    (1_000_000, "satu juta rupiah", "one million rupiah"),
    (1_001_000, "satu juta seribu rupiah", "one million one thousand rupiah"),
    (3_500_000, "tiga juta lima ratus ribu rupiah", "three million five hundred thousand rupiah"),
    (101_000_000, "seratus satu juta rupiah", "one hundred one million rupiah"),
    (1_000_000_000, "satu miliar rupiah", "one billion rupiah"),
    (1_200_000_000, "satu miliar dua ratus juta rupiah", "one billion two hundred million rupiah"),
    (1_000_000_000_000, "satu triliun rupiah", "one trillion rupiah"),
    (
        MAX_AMOUNT,  # 9.223.372.036.854.775.807, the largest BIGINT
        "sembilan kuintiliun dua ratus dua puluh tiga kuadriliun tiga ratus tujuh puluh dua triliun"
        " tiga puluh enam miliar delapan ratus lima puluh empat juta tujuh ratus tujuh puluh lima ribu"
        " delapan ratus tujuh rupiah",
        "nine quintillion two hundred twenty-three quadrillion three hundred seventy-two trillion"
        " thirty-six billion eight hundred fifty-four million seven hundred seventy-five thousand"
        " eight hundred seven rupiah",
    ),
]


@pytest.mark.parametrize(("amount", "indonesian", "english"), WORDS)
def test_amounts_in_words_in_both_languages(amount, indonesian, english):
    assert terbilang(amount) == indonesian
    assert in_english_words(amount) == english
    assert in_words(amount, "id") == indonesian
    assert in_words(amount, "en") == english


def test_in_words_follows_the_ui_language():
    set_language("id")
    try:
        assert in_words(1_200_000_000) == "satu miliar dua ratus juta rupiah"
        assert rupiah(1_200_000_000) == "Rp1.200.000.000"
    finally:
        set_language("en")
    assert in_words(1_200_000_000) == "one billion two hundred million rupiah"
    assert rupiah(1_200_000_000) == "Rp1,200,000,000"


@pytest.mark.parametrize(
    ("amount", "indonesian", "english"),
    [(0, "Rp0", "Rp0"), (1_000, "Rp1.000", "Rp1,000"), (1_000_000, "Rp1.000.000", "Rp1,000,000"),
     (MAX_AMOUNT, "Rp9.223.372.036.854.775.807", "Rp9,223,372,036,854,775,807"), (-600_000, "-Rp600.000", "-Rp600,000")],
)
def test_thousands_separators(amount, indonesian, english):
    assert (rupiah(amount, "id"), rupiah(amount, "en")) == (indonesian, english)


@pytest.mark.parametrize("amount", [-1, MAX_AMOUNT + 1, True, 1.5, "1000"])
def test_amounts_out_of_range_are_refused(amount):
    with pytest.raises(ValueError):
        terbilang(amount)
    with pytest.raises(ValueError):
        in_english_words(amount)


def test_an_estimated_count_reads_as_one_in_both_languages():
    from tui.money import about

    assert about(1_234_567, "en") == "1.2 million" and about(1_234_567, "id") == "1,2 juta"
    assert about(20_000_000, "en") == "20 million" and about(345_678, "en") == "350,000"
    assert about(345_678, "id") == "350.000"
