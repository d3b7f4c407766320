"""Translations: English and Indonesian complete, with the same placeholders; every message key
the code names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from store.errors import InvalidInput, RuleViolation
from tui.i18n import catalog, choose_language, describe_error, placeholders, set_language, t
from tui.money import rupiah

ROOT = Path(__file__).resolve().parents[1]
ERROR_CALL = re.compile(
    r"\b(?:RuleViolation|InvalidInput|Conflict|NotFound|PermissionDenied|AuthenticationFailed|"
    r"DatabaseUnavailable|SchemaMismatch|ConfigError|MitraError)\(\s*\"([a-z0-9_.]+)\""
)
T_CALL = re.compile(r"\bt\(\s*\"([a-z0-9_.]*[a-z0-9_])\"\s*[,)]")
KEY_LITERAL = re.compile(r"\"((?:keys|area|role|queue)\.[a-z0-9_.]+)\"")


def _sources(*folders: str):
    for folder in folders:
        yield from (ROOT / folder).rglob("*.py")


def test_both_languages_have_the_same_keys_and_placeholders():
    english, indonesian = catalog("en"), catalog("id")
    assert sorted(english.keys() - indonesian.keys()) == []
    assert sorted(indonesian.keys() - english.keys()) == []
    for key, text in english.items():
        assert placeholders(text) == placeholders(indonesian[key]), key


# Texts that are the same in both languages on purpose.
SAME_IN_BOTH = {"palette.language_help", "applications.form_placeholder.legal_name", "payments.batch.title"}


def test_indonesian_is_not_an_english_copy():
    english, indonesian = catalog("en"), catalog("id")
    copied = [
        key for key, text in english.items()
        if len(text) > 25 and indonesian[key] == text and key not in SAME_IN_BOTH
    ]
    assert copied == []


def test_every_error_the_store_raises_has_a_sentence():
    english = catalog("en")
    missing = set()
    for path in _sources("store", "tui", "screens", "fixtures"):
        for key in ERROR_CALL.findall(path.read_text()):
            if key not in english:
                missing.add(f"{path.relative_to(ROOT)}: {key}")
    assert sorted(missing) == []


def test_every_literal_key_in_the_console_exists():
    english = catalog("en")
    missing = set()
    for path in _sources("tui", "screens"):
        source = path.read_text()
        for key in T_CALL.findall(source) + KEY_LITERAL.findall(source):
            if key not in english:
                missing.add(f"{path.relative_to(ROOT)}: {key}")
    assert sorted(missing) == []


def test_errors_read_as_sentences_in_both_languages():
    error = InvalidInput("input.nik.date", field="nik", value="3201014502990001", part="450299")
    try:
        set_language("en")
        assert describe_error(error) == "NIK 3201014502990001: the birth date part 450299 is not a real date."
        set_language("id")
        assert describe_error(error) == "NIK 3201014502990001: bagian tanggal lahir 450299 bukan tanggal yang sah."
        assert "tidak dikenal" in describe_error(InvalidInput("input.province", field="province", value="99"))
        assert describe_error(RuleViolation("no.such.key")).startswith("Terjadi kesalahan (no.such.key)")
        # State codes and amounts read as words and rupiah inside the sentence.
        closed = RuleViolation("enrollment.provider_not_approved", state="in_curation")
        assert "(statusnya dalam kurasi)" in describe_error(closed)
        set_language("en")
        assert "(it is in curation)" in describe_error(closed)
    finally:
        set_language("en")


@pytest.mark.parametrize(
    ("explicit", "env", "expected"),
    [("id", "en_US.UTF-8", "id"), (None, "id_ID.UTF-8", "id"), (None, "en_GB.UTF-8", "en"), (None, "", "en")],
)
def test_language_choice(monkeypatch, explicit, env, expected):
    monkeypatch.setenv("LANG", env)
    assert choose_language(explicit) == expected


def test_rupiah_per_language():
    assert rupiah(1_000_000, "id") == "Rp1.000.000"
    assert rupiah(1_000_000, "en") == "Rp1,000,000"
    try:
        set_language("id")
        assert t("area.payments") == "Pembayaran"
        assert rupiah(3_500_000) == "Rp3.500.000"
    finally:
        set_language("en")


def test_codes_in_messages_read_as_words():
    """Document kinds and curation stages reach the operator in words, never as codes."""
    from store.errors import RuleViolation
    from tui.i18n import describe_error

    documents = describe_error(RuleViolation("provider.documents_incomplete", missing="nib, tax_status"))
    stage = describe_error(RuleViolation("curation.stage_not_passed", stage="course_assessment", score="2.83",
                                         threshold="3.00"))
    assert "nib" not in documents and "tax_status" not in documents and "KSWP" in documents
    assert "course_assessment" not in stage and "2.83" in stage


def test_one_thing_is_counted_in_the_singular():
    from tui.i18n import set_language, t

    set_language("en")
    assert t("participants.shown", count=1) == "1 participant shown"
    assert t("participants.shown", count=2) == "2 participants shown"
    assert t("applications.shown", count=1) == "1 application"
    assert t("payments.amounts", count=1, total="Rp1", words="one rupiah").startswith("1 line ·")


def test_indonesian_calls_a_platform_application_one_thing():
    """"Pengajuan" (the area's own name) everywhere for a platform's application; "pendaftaran"
    is the participants' registration, and using it for both confused the two."""
    import tomllib
    from pathlib import Path

    import tui

    catalog = tomllib.loads((Path(tui.__file__).parent / "locales" / "id" / "applications.toml").read_text())
    mixed = {key: text for key, text in catalog.items() if "endaftaran" in text.lower()
             and not key.startswith("obligations.kind.")}  # a platform's duty to help participants register
    assert not mixed, mixed
