"""The one translation function, `t`, and the language choice.

Catalogs are TOML files under tui/locales/<language>/ (one file per area, merged); keys are
dotted paths ("shell.area.dashboard"). English and Indonesian must hold the same keys with the
same placeholders: tests/test_i18n.py checks it.
"""

from __future__ import annotations

import os
import re
import string
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from store.errors import MitraError

LANGUAGES = ("en", "id")
LOCALES = Path(__file__).with_name("locales")

_current = "en"


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = str(value)
    return flat


@cache
def catalog(language: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((LOCALES / language).glob("*.toml")):
        with path.open("rb") as handle:
            entries = _flatten(tomllib.load(handle))
        duplicated = merged.keys() & entries.keys()
        if duplicated:
            raise RuntimeError(f"{path}: keys defined twice: {sorted(duplicated)[:5]}")
        merged.update(entries)
    return merged


def choose_language(explicit: str | None = None) -> str:
    """`--lang` first, then $LANG (id_* means Indonesian), else English."""
    if explicit:
        if explicit not in LANGUAGES:
            raise ValueError(explicit)
        return explicit
    env = os.environ.get("LANG", "")
    return "id" if env.lower().startswith("id") else "en"


def set_language(language: str) -> None:
    global _current
    if language not in LANGUAGES:
        raise ValueError(language)
    _current = language


def current_language() -> str:
    return _current


class _Lenient(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def has_text(key: str) -> bool:
    """Whether `key` is a catalog key (rather than some widget's own English words)."""
    return key in catalog("en")


def event_label(action: str) -> str:
    """An audit action in words for history panels ("history.<action>" in the catalogs), else
    its code (the Audit area shows codes: auditors filter by them)."""
    key = "history." + action
    return t(key) if key in catalog("en") else action


# Keys asked for that no catalog holds: the key itself would reach the screen. The test suite
# fails any test that asked for one (tests/conftest.py), so no message id is ever shown.
MISSING: set[str] = set()
# Internal codes put into a sentence as they are (a field or a reason named "tax_status" where the
# catalog has no words for it): the suite fails any test that showed one, as for MISSING. Watched
# only when the suite asks (WATCH_CODES), so a console pays nothing for it.
WATCH_CODES = False
CODES: set[str] = set()
_CODE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?:, [a-z][a-z0-9]*(?:_[a-z0-9]+)+)*")
# Where a code is the right word: a file's own column names ("family_card"), as its header has
# them; the database's guard triggers and runtime role by name, for whoever restores or grants them.
NAMES_AS_THEY_ARE = {"cli.import.row_error": {"column"}, "cli.payments.row_error": {"column"},
                     "input.csv.header": {"expected", "missing", "unknown"},
                     "shell.guards_missing": {"guards"}, "cli.audit.broken_guards": {"guards"},
                     "cli.audit.guards_gone_too": {"guards"}, "cli.db.runtime_role": {"role"}}


def _singular(key: str, params: dict[str, Any]) -> str:
    """`key.one` when the sentence counts exactly one thing and the catalog has that form
    ("1 application", not "1 applications"); Indonesian nouns do not change."""
    if str(params.get("count", "")).strip() == "1" and f"{key}.one" in catalog("en"):
        return f"{key}.one"
    return key


def t(key: str, /, **params: Any) -> str:
    """The text for `key` in the current language, with {placeholders} filled in."""
    key = _singular(key, params)
    text = catalog(_current).get(key)
    if text is None:
        text = catalog("en").get(key)
        if text is None:
            MISSING.add(key)
            text = key
    if not params:
        return text
    if WATCH_CODES:
        as_they_are = NAMES_AS_THEY_ARE.get(key, set())
        CODES.update(value for name, value in params.items()
                     if isinstance(value, str) and name not in as_they_are and _CODE.fullmatch(value))
    return string.Formatter().vformat(text, (), _Lenient(params))


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _readable(name: str, value: Any) -> Any:
    """A parameter as it reads in a sentence: amounts as rupiah in the operator's language, field
    names and state codes in words."""
    from tui.money import rupiah  # here, not at the top: tui.money imports this module

    if name.endswith("_idr") and isinstance(value, int) and not isinstance(value, bool):
        return rupiah(value)
    if name == "field" and f"field.{value}" in catalog("en"):
        return t(f"field.{value}")
    if (name in ("state", "status") or name.endswith("_state")) and f"state.{value}" in catalog("en"):
        return t(f"state.{value}")
    if name in ("stage", "earlier") and f"providers.stage.{value}" in catalog("en"):  # curation stages
        return t(f"providers.stage.{value}")
    if name == "missing" and isinstance(value, str):  # a provider's documents, as codes
        return ", ".join(t(f"providers.document.{code}") if f"providers.document.{code}" in catalog("en") else code
                         for code in value.split(", "))
    return value


def describe_error(error: MitraError) -> str:
    """One sentence for an operator: what happened and, where it helps, what to do."""
    if error.key not in catalog("en"):
        return t("error.unknown", key=error.key)
    return t(error.key, **{name: _readable(name, value) for name, value in error.params.items()})
