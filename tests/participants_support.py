"""Building what the participants tests need, by direct inserts where another area owns the
rows (providers, courses, listings: their services live on another branch) and through the
participants services otherwise."""

from __future__ import annotations

import csv
import hashlib
import datetime as dt
import itertools
from pathlib import Path

from sqlalchemy import TextClause, select, text

from store.bulk import insert_rows
from store.engine import Database
from store.models import Course, CourseListing, Participant, Platform, Provider, utcnow
from store.services import registry, waves
from store.services.registry import new_participant_row
from store.text import fold
from store.uow import unit_of_work
from store.validators import build_nik

HEADER = ["nik", "full_name", "birth_date", "sex", "phone", "email", "family_card"]
_serials = itertools.count(1)
_NIBS = itertools.count(8_100_000_000_001)


def person(
    province: str = "32", birth: dt.date = dt.date(1990, 5, 17), sex: str = "M", name: str = "Budi Santoso",
    serial: int | None = None,
) -> dict[str, str]:
    """One valid CSV row (a fresh NIK unless `serial` is given)."""
    nik = build_nik(province, 1, 2, birth, sex, serial if serial is not None else next(_serials))
    return {
        "nik": nik, "full_name": name, "birth_date": birth.isoformat(), "sex": sex, "phone": "081234567890",
        "email": "", "family_card": f"{province}01020000000001",
    }


def write_csv(path: Path, rows: list[dict[str, str]], *, delimiter: str = ",", bom: bool = False,
              header: list[str] | None = None) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header or HEADER)
        for row in rows:
            writer.writerow([row.get(column, "") for column in (header or HEADER)])
    return path


async def add_participants(db: Database, actor, rows: list[dict[str, str]]) -> list[int]:
    """Insert registered participants directly (no validation: tests put odd rows in too)."""
    async with unit_of_work(db, actor) as uow:
        now = utcnow()
        await insert_rows(uow.session, Participant.__table__, [
            new_participant_row(
                nik=row["nik"], full_name=row["full_name"], birth_date=dt.date.fromisoformat(row["birth_date"]),
                sex=row["sex"], phone=row["phone"], email=row["email"], family_card=row["family_card"],
                created_at=now,
            )
            for row in rows
        ])
        found = await uow.session.execute(
            select(Participant.id).where(Participant.nik.in_([row["nik"] for row in rows])).order_by(Participant.id)
        )
        return list(found.scalars())


# A registration written as a database login would, without the services: a copy of registered
# participant `like`'s row under another NIK and name.
_RAW_REGISTRATION = text(
    "INSERT INTO participant (version, nik, full_name, name_key, birth_date, sex, province_code, phone, email,"
    " family_card, status, balance_idr, revoke_reason, created_at) SELECT version, :nik, :full_name, :name_key,"
    " birth_date, sex, province_code, phone, email, family_card, 'registered', 0, revoke_reason, created_at"
    " FROM participant WHERE id = :like"
)


def raw_registration(nik: str, full_name: str, like: int) -> tuple[TextClause, dict[str, object]]:
    """The statement and its values, for a connection's `execute`."""
    return _RAW_REGISTRATION, {"nik": nik, "full_name": full_name, "name_key": fold(full_name), "like": like}


async def all_pages(db: Database, actor, filters: registry.ParticipantFilter,
                    limit: int = 3) -> list[registry.ParticipantRow]:
    """Every row the filter finds, page after page (small pages: the keyset cursor is crossed)."""
    rows: list[registry.ParticipantRow] = []
    cursor = None
    while True:
        page = await registry.list_participants(db, actor, filters, cursor, limit)
        rows += page.rows
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


def wave_input(number: int = 7, *, starts_on: dt.date | None = None, quota: int = 10,
               balance: int = 3_500_000, deadline_days: int = 15) -> waves.WaveInput:
    # By default a wave that started a few days ago: first purchases are still within its deadline.
    starts_on = starts_on or dt.date.today() - dt.timedelta(days=5)
    return waves.WaveInput(
        number=number, year=starts_on.year, training_balance_idr=balance, incentive_idr=600_000,
        incentive_count=1, survey_idr=50_000, survey_count=2, quota=quota,
        registration_opens=starts_on - dt.timedelta(days=10), registration_closes=starts_on - dt.timedelta(days=3),
        starts_on=starts_on, purchase_deadline_days=deadline_days, budget_idr=quota * balance * 2,
    )


async def make_listing(
    db: Database,
    actor,
    *,
    platform_code: str = "tokopedia",
    price: int = 500_000,
    hours: int = 20,
    title: str = "Dasar Pemasaran Digital",
    provider_state: str = "approved",
    course_state: str = "approved",
    listing_status: str = "listed",
) -> int:
    """A provider, its course and the course's listing on a platform, in the states given."""
    async with unit_of_work(db, actor) as uow:
        session = uow.session
        platform_id = (await session.execute(select(Platform.id).where(Platform.code == platform_code))).scalar_one()
        # A decision state carries its reason, as the providers' services always give one.
        provider = Provider(
            name=f"LP {title}", name_key=fold(f"LP {title}"), nib=f"{next(_NIBS):013d}", state=provider_state,
            state_reason="test fixture" if provider_state in ("rejected", "suspended") else "",
        )
        session.add(provider)
        await session.flush()
        course = Course(
            provider_id=provider.id, title=title, title_key=fold(title), mode="webinar", hours=hours,
            price_idr=price, state=course_state,
            state_reason="test fixture" if course_state in ("rejected", "withdrawn") else "",
        )
        session.add(course)
        await session.flush()
        listing = CourseListing(
            course_id=course.id, platform_id=platform_id, commission_bp=1000, status=listing_status,
            status_reason="test fixture" if listing_status == "delisted" else "",
        )
        session.add(listing)
        await session.flush()
        return listing.id


def draw_order(seed: int, niks: list[str]) -> list[str]:
    """The selection rule stated independently of the store: the lowest md5("<seed>:<NIK>") first."""
    return sorted(niks, key=lambda nik: hashlib.md5(f"{seed}:{nik}".encode()).hexdigest())


def expected_draw(seed: int, niks: list[str], count: int) -> set[str]:
    return set(draw_order(seed, niks)[:count])
