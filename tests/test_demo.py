"""`mitra demo --build-only`: builds on both back ends; the same arguments give the same data."""

from __future__ import annotations

import pytest
from sqlalchemy import DateTime, select

from store.engine import create_database
from store.migrate import downgrade
from store.models import Operator, Participant, Platform, metadata
from store.validators import nik as check_nik
from tests.cli_support import mitra

# Whole demo builds / several processes: the slow tier (`-m "not slow"` leaves them out).
pytestmark = pytest.mark.slow

VOLATILE = {"password_hash", "hash", "prev_hash", "last_hash"}  # salts; hashes over timestamps


async def _dump(url: str) -> dict[str, list[tuple]]:
    """Every table's rows in key order, without timestamps, salts and hashes."""
    db = create_database(url)
    tables: dict[str, list[tuple]] = {}
    try:
        async with db.engine.connect() as connection:
            for table in metadata.sorted_tables:
                columns = [
                    column for column in table.columns
                    if column.name not in VOLATILE and not isinstance(column.type, DateTime)
                    and not isinstance(getattr(column.type, "impl", None), DateTime)
                ]
                rows = await connection.execute(select(*columns).order_by(*table.primary_key.columns))
                tables[table.name] = [tuple(row) for row in rows]
    finally:
        await db.dispose()
    return tables


async def _blank(db_url_factory) -> str:
    url = await db_url_factory("empty")
    db = create_database(url)
    await downgrade(db)
    await db.dispose()
    return url


async def test_demo_build_only_gives_a_complete_database_and_the_same_arguments_the_same_data(
        backend, db_url_factory, small_demo):
    # One build per back end, compared with the run's `small_demo` template, which the fixtures
    # built in process with the same arguments; each back end's half hears the build in one language.
    url = await _blank(db_url_factory)
    lang = "en" if backend == "sqlite" else "id"
    result = mitra("demo", "--build-only", "--db", url, "--participants", "120", "--seed", "3", "--lang", lang)
    assert result.returncode == 0, result.stderr
    # The build says what it is doing in the operator's words, never by its steps' code names.
    if lang == "en":
        assert "building 2/12: ownership groups and platforms" in result.stderr
        assert "building 9/12: participants with unusual records" in result.stderr
    else:
        assert "membangun 9/12: peserta dengan data tidak biasa" in result.stderr
        assert "peserta: 120 dari 120" in result.stderr
    db = create_database(url)
    try:
        async with db.engine.connect() as connection:
            platforms = set((await connection.execute(select(Platform.code))).scalars())
            names = set((await connection.execute(select(Operator.username))).scalars())
            participants = (await connection.execute(select(Participant.nik, Participant.birth_date, Participant.sex))).all()
    finally:
        await db.dispose()
    assert {"tokopedia", "bukalapak", "skillacademy", "maubelajarapa", "pintaria", "sekolahmu",
            "pijarmahir", "sisnaker"} <= platforms  # the partners of 2020, and any approved since
    assert {"admin", "reviewer", "curator", "coordinator", "finance", "approver", "approver2", "auditor",
            "tokopedia", "sisnaker"} <= names
    assert len(participants) >= 120
    for nik, birth_date, sex in participants:
        check_nik(nik, birth_date=birth_date, sex=sex)  # every generated NIK is well formed

    assert await _dump(url) == await _dump(small_demo.url)


async def test_demo_refuses_a_database_that_holds_data(db_url):
    result = mitra("demo", "--build-only", "--db", db_url, "--participants", "10")
    assert result.returncode == 1
    assert "--replace" in result.stderr
