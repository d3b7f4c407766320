"""Search keys: names folded for case- and accent-insensitive prefix search.

`LIKE 'x%'` does not use an ordinary index on SQLite, so every searchable name has a `*_key`
column holding this folded form, and searches are ranges on it (`key >= 'x' AND key < 'x\uffff'`).
"""

from __future__ import annotations

import unicodedata

PREFIX_END = "\uffff"


def fold(value: str) -> str:
    """Lower-case, accents removed, inner whitespace collapsed: "  Siti  Ánisa" -> "siti anisa"."""
    if value.isascii():  # most names: no accents to remove (three times faster, for imports)
        return " ".join(value.lower().split())
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def prefix_range(prefix: str) -> tuple[str, str]:
    """Bounds for a prefix search on a folded key column."""
    key = fold(prefix)
    return key, key + PREFIX_END
