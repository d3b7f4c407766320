"""Finding participants by what an operator remembers: any part of the name ("widjaja" finds
"Budi Widjaja"), part of a NIK ("641828" anywhere in it), or the whole NIK.

A trigram index serves the parts at the registry's scale, in a table apart from `participant` kept
in step by triggers, so that a change of status or wave never writes to it: on SQLite an FTS5
table with the trigram tokenizer (migration 0609); on PostgreSQL a plain table with pg_trgm GIN
indexes under LIKE (0613). What is typed decides the search:

- 16 digits: that NIK exactly (the unique index);
- 6 to 15 digits: NIKs containing them, anywhere (fewer would match a large share of the
  registry by its date part alone; the first digits still narrow by region, below);
- 1 to 5 digits: NIKs starting with them (province, regency: the NIK index's range);
- words: names containing every word of 3 letters or more, anywhere, ignoring case and accents
  (the folded name_key is indexed); shorter words alone ("bu") are a prefix of the name (the
  name_key index), since a trigram needs 3 letters.

A search by parts pages by id. On PostgreSQL the trigram index hands its matches over in no
order: a page costs fetching and sorting every match, 0.14 s for a surname shared by 15,000 of
a million and growing with the registry. For such a common part, walking the registry in id
order and keeping the matches fills a page after a few thousand rows. The planner cannot tell
the two apart (pg_trgm estimated 93 matches for those 15,000), so the list asks a sample of the
registry first (`walks_ids`); the two ways give the same rows in the same order. SQLite's FTS5
index does hand its matches over in id order, but the list still collected them all before its
first page (85 ms for a common surname at 20 million): there the index's own count, stopped at
the same share, decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement, Select, and_, column, func, literal, literal_column, select, table, tablesample, text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.util import ClauseAdapter
from sqlmodel import col

from store.models import Participant
from store.text import fold, prefix_range

MIN_NIK_PART = 6
NIK_LENGTH = 16
TRIGRAM = 3
# `walks_ids`: about this many participants are sampled, and a part found in at least
# COMMON_HITS of them (one in a thousand) is common: walking the registry in id order then
# reads at most ~100,000 rows for a page, against fetching 20,000 matches or more one by one.
SAMPLE_ROWS = 20_000
COMMON_HITS = 20
_DIGITS = re.compile(r"^[0-9]+$")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")

# Schema objects of the trigram search that the models do not describe (the FTS5 table and its
# shadow tables, the GIN indexes): left out when migrations are compared with the models.
OUTSIDE_MODELS = frozenset({
    "participant_search", "participant_search_data", "participant_search_idx", "participant_search_docsize",
    "participant_search_config", "ix_participant_search_name_key_trgm", "ix_participant_search_nik_trgm",
})
# PostgreSQL's table of what is searched (migration 0613): a participant's id, name_key and NIK.
_PG_SEARCH = table("participant_search", column("id"), column("name_key"), column("nik"))


def in_models(name: str | None, _type: str, _parents: object) -> bool:
    """Alembic's include_name hook: compare everything but the trigram search's objects."""
    return name not in OUTSIDE_MODELS


@dataclass(frozen=True)
class Search:
    kind: str  # "nik", "nik_part", "nik_prefix", "words", "name_prefix" or "" (nothing typed)
    terms: tuple[str, ...] = ()

    @property
    def by_name_key(self) -> bool:
        """Paged by (name_key, id): the name prefix. Everything else pages by id."""
        return self.kind == "name_prefix"


def parse(typed: str) -> Search:
    # Control characters (a NUL pasted in, a tab) separate words like spaces: the FTS5 query
    # language ended at a NUL ("unterminated string"), and no name or NIK holds one.
    typed = " ".join(_CONTROLS.sub(" ", typed).split())
    if not typed:
        return Search("")
    compact = typed.replace(" ", "")
    if _DIGITS.match(compact):
        if len(compact) >= NIK_LENGTH:
            return Search("nik", (compact[:NIK_LENGTH],))
        return Search("nik_part" if len(compact) >= MIN_NIK_PART else "nik_prefix", (compact,))
    # Names are searched folded (name_key: lower case, accents off), so "SÍTI" finds "Siti".
    words = tuple(word for word in fold(typed).split(" ") if len(word) >= TRIGRAM)
    return Search("words", words) if words else Search("name_prefix", (typed,))


def condition(search: Search, is_sqlite: bool, *, walk_ids: bool = False) -> ColumnElement[bool] | None:
    """The WHERE clause on participant for `search` (None when nothing was typed). With
    `walk_ids` (a common part: `walks_ids`) a part is matched without its trigram index, so that
    a page is found by walking the primary key."""
    nik, name_key = col(Participant.nik), col(Participant.name_key)
    if search.kind == "nik":
        return nik == search.terms[0]
    if search.kind == "nik_prefix":
        return and_(nik >= search.terms[0], nik < search.terms[0] + ":")  # ':' follows '9'
    if search.kind == "name_prefix":
        low, high = prefix_range(search.terms[0])
        return and_(name_key >= low, name_key < high)
    if search.kind in ("nik_part", "words"):
        column = "nik" if search.kind == "nik_part" else "name_key"
        if walk_ids:  # the same text on participant's own columns, where no trigram index answers for it
            matched = (nik if column == "nik" else name_key).concat(literal(""))
            return _containing(matched, search.terms)
        if is_sqlite:
            return col(Participant.id).in_(_fts_rowids(column, search.terms))
        return col(Participant.id).in_(
            select(_PG_SEARCH.c.id).where(_containing(_PG_SEARCH.c[column], search.terms))
        )
    return None


async def walks_ids(session: AsyncSession, search: Search, is_sqlite: bool) -> bool:
    """Whether a search by parts finds its page sooner by walking the registry in id order than
    through the trigram index (see the module's note): the part matches at least one in a
    thousand participants (COMMON_HITS of SAMPLE_ROWS). A registry under ten samples' size
    always takes the index.

    PostgreSQL counts the part in a sample of about SAMPLE_ROWS participants (always the same
    sample, so a search keeps its way from page to page). SQLite's FTS5 index hands its matches
    over in id order and can stop early, so it counts them there, up to that share."""
    if search.kind not in ("nik_part", "words"):
        return False
    rows: float
    if is_sqlite:  # the highest id: as many as there are, near enough (a few are deleted, if any)
        rows = (await session.execute(select(func.max(col(Participant.id))))).scalar_one() or 0
    else:
        rows = (await session.execute(
            select(func.greatest(literal_column("reltuples"), 0)).select_from(text("pg_class"))
            .where(literal_column("oid") == literal_column("'participant'::regclass"))
        )).scalar_one()
    if rows < 10 * SAMPLE_ROWS:
        return False
    if is_sqlite:
        enough = int(rows * COMMON_HITS / SAMPLE_ROWS)
        column = "nik" if search.kind == "nik_part" else "name_key"
        matches = _fts_rowids(column, search.terms).limit(enough).subquery()
        return (await session.execute(select(func.count()).select_from(matches))).scalar_one() >= enough
    registry = Participant.__table__
    sampled = tablesample(registry, func.system(100.0 * SAMPLE_ROWS / rows), seed=literal(0))
    part = condition(search, is_sqlite=False, walk_ids=True)
    assert part is not None  # a search by parts has its condition
    in_sample = ClauseAdapter(sampled).traverse(part)  # the same condition, on the sample's rows
    hits = (await session.execute(
        select(func.count()).select_from(
            select(literal(1)).select_from(sampled).where(in_sample).limit(COMMON_HITS).subquery()
        )
    )).scalar_one()
    return hits >= COMMON_HITS


def _fts_rowids(column: str, terms: tuple[str, ...]) -> Select[Any]:
    """Row ids from the FTS5 trigram table: every term as a quoted phrase, in `column` only."""
    phrases = " AND ".join('"' + term.replace('"', '""') + '"' for term in terms)
    return (
        select(literal_column("rowid"))
        .select_from(text("participant_search"))
        .where(text("participant_search MATCH :participant_search").bindparams(
            participant_search=f"{column} : ({phrases})"
        ))
    )


def _containing(text_column: Any, terms: tuple[str, ...]) -> ColumnElement[bool]:
    return and_(*[text_column.like(f"%{_escape_like(term)}%", escape="\\") for term in terms])


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

