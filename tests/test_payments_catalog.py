"""Every message key the payments code uses is in both catalogs, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from tui.i18n import catalog, placeholders

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    *sorted((ROOT / "store" / "services" / "payments").glob("*.py")),
    ROOT / "tui" / "commands" / "payments.py",
    *sorted((ROOT / "screens").glob("payments*.py")),
    ROOT / "tui" / "widgets" / "prompt.py",
    ROOT / "fixtures" / "steps" / "payments.py",
]
# A quoted dotted key in one of our namespaces, e.g. "payment.over_budget" or "payments.key.prepare".
KEY = re.compile(r"""["']((?:payment|payments|payout|cli\.payments|prompt|queue|keys|input)\.[a-z_.]+[a-z_])["']""")


def _keys_in_code() -> set[str]:
    found = set()
    for path in SOURCES:
        found |= set(KEY.findall(path.read_text(encoding="utf-8")))
    # Permission and setting names are not message keys.
    found -= {"payments.approval_thresholds", "payments.accounts"}
    return {key for key in found if not key.startswith(("payment.read", "payment.prepare", "payment.send",
                                                        "payment.reconcile", "payment.approve", "payment.thresholds", "payment.retry_override",
                                                        "payment.budget", "payout_account."))}


def test_every_key_used_is_translated_in_both_languages():
    english, indonesian = catalog("en"), catalog("id")
    keys = _keys_in_code()
    assert len(keys) > 80
    assert sorted(keys - english.keys()) == []
    assert sorted(keys - indonesian.keys()) == []


def test_payments_catalogs_match_in_keys_and_placeholders():
    english, indonesian = catalog("en"), catalog("id")
    ours = [key for key in english if key.startswith(("payment.", "payments.", "payout.", "cli.payments.", "prompt."))]
    assert [key for key in ours if key not in indonesian] == []
    assert [key for key in ours if placeholders(english[key]) != placeholders(indonesian[key])] == []
    # Indonesian is translated, not copied (short labels like "Total" or "Batch {id}" may agree).
    def words(text: str) -> int:
        return sum(ch.isalpha() for ch in re.sub(r"\{[^}]*\}", "", text))

    copied = [key for key in ours if english[key] == indonesian[key] and words(english[key]) > 8]
    assert copied == []
