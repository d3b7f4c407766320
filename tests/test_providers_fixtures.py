"""The demo's providers step: every state, the affiliated provider, each listing rule tripped,
and catalog keys in both languages. (The same data on every build: tests/test_demo.py compares
whole demos, every table.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fixtures.build import DemoContext
from fixtures.steps import providers as step
from store.errors import RuleViolation
from store.models import Course, CourseListing, Platform, Provider
from store.services import courses
from store.services.catalog import enrollable_listing
from store.uow import read_session
from tests import providers_support as ps
from tui.i18n import catalog, placeholders

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # builds part of the demo
async def test_demo_providers_cover_every_state_and_rule(db):
    # The providers step alone (the whole demo adds a provider in a later step).
    await step.providers_and_courses(DemoContext(db, participants=0, seed=2020, progress=lambda *_: None))
    async with read_session(db) as session:
        states = dict((await session.execute(select(Provider.state, func.count()).group_by(Provider.state))).all())
        course_count = (await session.execute(select(func.count()).select_from(Course))).scalar_one()
        listed_on = set((await session.execute(
            select(Platform.code).join(CourseListing, CourseListing.platform_id == Platform.id).distinct())).scalars())
    assert set(states) == {"inventoried", "submitted", "in_curation", "approved", "rejected", "suspended"}
    assert sum(states.values()) == 40 and 190 <= course_count <= 210
    assert listed_on == {"tokopedia", "bukalapak", "skillacademy", "maubelajarapa", "pintaria", "sekolahmu",
                         "pijarmahir", "sisnaker"}
    assert [event.reason for event in await ps.events(db, "provider.reinstated")] == [
        "Peralatan diganti dan diperiksa ulang oleh kurator"
    ]
    tripped = {ps.changes(event)["details"]["rule"] for event in await ps.events(db, "listing.refused")}
    # Every rule but the suspended platform (no demo platform is suspended) is tripped at least once.
    assert tripped == set(courses.LISTING_RULES) - {"listing.platform_suspended"}


# The next two read the run's small demo (built once), where the providers step has run.
async def test_the_affiliated_providers_paid_course_is_refused_on_its_platform_listed_elsewhere(small_demo):
    db = small_demo
    async with read_session(db) as session:
        course = (await session.execute(
            select(Course).where(Course.title == "Komunikasi Efektif di Tempat Kerja"))).scalar_one()
        listed = (await session.execute(
            select(Platform.code).join(CourseListing, CourseListing.platform_id == Platform.id)
            .where(CourseListing.course_id == course.id))).scalars().all()
    refusals = await ps.events(db, "listing.refused", course.id)
    assert [ps.changes(event)["details"]["rule"] for event in refusals] == ["listing.cross_selling"]
    assert ps.changes(refusals[0])["details"]["platform"] == "Skill Academy"
    assert listed == ["tokopedia"]


async def test_a_suspended_demo_providers_listings_take_no_enrollments(small_demo):
    db = small_demo
    async with read_session(db) as session:
        listing_id = (await session.execute(
            select(CourseListing.id).join(Course, Course.id == CourseListing.course_id)
            .join(Provider, Provider.id == Course.provider_id)
            .where(Provider.state == "suspended", CourseListing.status == "listed").limit(1))).scalar_one()
        with pytest.raises(RuleViolation) as refused:
            await enrollable_listing(session, listing_id)
    assert refused.value.key == "enrollment.provider_not_approved"


def _raised_keys(path: Path) -> set[str]:
    """Message keys given to the store's errors in a module (f-strings expanded by hand below)."""
    keys = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in {
            "RuleViolation", "InvalidInput", "NotFound", "Conflict", "PermissionDenied",
        } and node.args and isinstance(node.args[0], ast.Constant):
            keys.add(node.args[0].value)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "explain_constraint":
            keys.add(node.args[1].value)
    return keys


def test_every_key_the_providers_area_raises_is_in_both_languages():
    services = ROOT / "store" / "services"
    # Each a module or a package of modules.
    paths = [
        path
        for name in ("providers", "curation", "courses", "provider_import")
        for path in ([services / f"{name}.py"] if (services / f"{name}.py").exists() else (services / name).glob("*.py"))
    ]
    keys = set().union(*(_raised_keys(path) for path in paths))
    keys |= {f"provider.transition.{action}" for action in ("submit", "start_curation", "approve", "reject",
                                                              "suspend", "reinstate")}
    keys |= {f"course.transition.{action}" for action in ("submit", "approve", "reject", "withdraw")}
    keys |= set(courses.LISTING_RULES)
    english, indonesian = catalog("en"), catalog("id")
    assert sorted(keys - set(english)) == []
    assert sorted(keys - set(indonesian)) == []
    area_keys = [key for key in english if key.startswith(("providers.", "provider.", "curation.", "course.",
                                                           "listing.", "cli.providers.", "cli.curation."))]
    for key in area_keys:
        assert placeholders(english[key]) == placeholders(indonesian[key]), key
    # Real Indonesian, not English copies: only names and abbreviations read the same in both.
    same = sorted(key for key in area_keys if english[key] == indonesian[key] and len(english[key]) > 12)
    assert same == [], same
