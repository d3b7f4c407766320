"""`mitra demo` copies a cached template: built once, a private copy per session, `--fresh` rebuilds."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from fixtures import template
from tests.conftest import cheaper_passwords
from tui.commands.console import _copy_of_template

# Whole demo builds / several processes: the slow tier (`-m "not slow"` leaves them out).
pytestmark = pytest.mark.slow


def _count(path, table: str) -> int:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(template.CACHE_ENV, str(tmp_path / "cache"))
    with cheaper_passwords():  # what is tested here is where the builds go, not their hashes
        yield tmp_path / "cache" / "demo-templates"


async def test_the_template_is_built_once_each_session_gets_its_own_copy_and_fresh_rebuilds(cache, tmp_path):
    first, second = tmp_path / "one.db", tmp_path / "two.db"
    db = await _copy_of_template(str(first), 30, 5, fresh=False)
    await db.dispose()
    [built] = list(cache.glob("demo-*.db"))
    built_at = built.stat().st_mtime_ns

    db = await _copy_of_template(str(second), 30, 5, fresh=False)
    await db.dispose()
    assert built.stat().st_mtime_ns == built_at, "the second session rebuilt the template"
    assert _count(second, "participant") == _count(first, "participant") >= 30

    # What one trainee does never shows in another's copy, nor in the template.
    with closing(sqlite3.connect(first)) as connection:
        connection.execute("DELETE FROM enrollment")
        connection.commit()
    assert _count(first, "enrollment") == 0
    assert _count(second, "enrollment") == _count(built, "enrollment") > 0

    # --fresh rebuilds the template. (Other arguments make another key, so another template:
    # the next test; a build costs seconds, so this one makes two.)
    db = await _copy_of_template(str(tmp_path / "three.db"), 30, 5, fresh=True)
    await db.dispose()
    assert built.stat().st_mtime_ns != built_at
    assert list(cache.glob("demo-*.db")) == [built]
    assert not list(cache.glob(".building-*")), "a partial build was left behind"


def test_the_key_follows_the_schema_revision_the_fixtures_and_the_seed(tmp_path, monkeypatch):
    key = template.template_key(30, 5)
    assert template.template_key(30, 6) != key
    assert template.template_key(31, 5) != key
    # A new migration (another head) makes another key, so an old template is never copied.
    versions = tmp_path / "versions"
    versions.mkdir()
    for script in template.MIGRATIONS.glob("*.py"):
        (versions / script.name).write_bytes(script.read_bytes())
    monkeypatch.setattr(template, "MIGRATIONS", versions)
    assert template.template_key(30, 5) == key
    (versions / "9999_next.py").write_text('revision = "next"\n')
    assert template.template_key(30, 5) != key


def test_finding_the_template_loads_nothing_of_the_store():
    # What `mitra demo` does before its login screen: it must stay as light as `mitra --db FILE`.
    import subprocess
    import sys

    probe = (
        "import sys, fixtures\n"
        "from fixtures.template import template_path\n"
        "template_path(2000, 2020); fixtures.demo_operator_list()\n"
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'store.engine', 'fixtures.build') if m in sys.modules))\n"
    )
    shown = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    assert shown.strip() == "[]"
