"""Building what payments pay for, by inserting rows directly.

Waves, providers, courses, listings, participants and enrollments belong to other areas' services;
payments only reads them. Tests (and bench/prepare_batch.py) create them here as plain rows, in the
shapes those services leave behind: a completed enrollment has its certificate and date, a first
enrollment has sequence 1, and so on.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from store.engine import Database
from store.models import (
    Course,
    CourseListing,
    Enrollment,
    Participant,
    PaymentLine,
    PayoutAccount,
    Platform,
    Provider,
    Wave,
    utcnow,
)
from store.validators import build_nik

COMPLETED_ON = dt.date(2020, 5, 20)
_serials = itertools.count(1)


def nik_for(number: int, province: str = "32", sex: str = "M") -> str:
    """A well-formed NIK, different for each `number` (up to 9999 x 28 x 12 x 40 people)."""
    serial = number % 9999 + 1
    rest = number // 9999
    birth = dt.date(1970 + rest // 336 % 40, rest // 28 % 12 + 1, rest % 28 + 1)
    return build_nik(province, 1, 1, birth, sex, serial)


def wave_row(number: int, **overrides: Any) -> dict[str, Any]:
    row = dict(
        number=number, year=2020, training_balance_idr=3_500_000, incentive_idr=600_000, incentive_count=4,
        survey_idr=50_000, survey_count=3, quota=1000, registration_opens=dt.date(2020, 4, 11),
        registration_closes=dt.date(2020, 4, 16), starts_on=dt.date(2020, 4, 17), purchase_deadline_days=30,
        budget_idr=10_000_000_000, state="in_progress", version=1,
    )
    row.update(overrides)
    return row


def participant_row(number: int, wave_id: int, **overrides: Any) -> dict[str, Any]:
    province = overrides.pop("province_code", "32")
    nik = overrides.pop("nik", None) or nik_for(number, province)
    row = dict(
        nik=nik, full_name=f"Peserta {number}", name_key=f"peserta {number}", birth_date=dt.date(1990, 1, 1),
        sex="M", province_code=province, phone="", email="", family_card="", status="completed", wave_id=wave_id,
        card_number=f"C{number:012d}", balance_idr=0, selected_at=None, created_at=utcnow(), version=1,
    )
    row.update(overrides)
    return row


def enrollment_row(participant_id: int, listing: Listing, **overrides: Any) -> dict[str, Any]:
    completed = overrides.pop("completed", True)
    row = dict(
        participant_id=participant_id, listing_id=listing.id, course_id=listing.course_id,
        platform_id=listing.platform_id, sequence=1, price_idr=listing.price_idr, commission_bp=listing.commission_bp,
        status="completed" if completed else "in_progress", progress_pct=100 if completed else 40,
        assigned_at=utcnow(), assigned_by=None, completed_on=COMPLETED_ON if completed else None,
        certificate_number=f"CERT-{participant_id}-{next(_serials)}" if completed else "",
        review_given=completed, flagged_fast=False, flag_cleared_by=None, flag_cleared_at=None, version=1,
    )
    row.update(overrides)
    return row


def participant_account_row(participant_id: int, nik: str, **overrides: Any) -> dict[str, Any]:
    row = dict(
        owner_kind="participant", participant_id=participant_id, provider_id=None, channel="bank",
        institution="BNI", account_number=f"{participant_id:010d}", holder_name=f"Peserta {participant_id}",
        holder_nik=nik, holder_npwp="", verified=True, verified_by=None, verified_at=None, created_at=utcnow(),
        updated_at=None, version=1,
    )
    row.update(overrides)
    return row


@dataclass(frozen=True)
class Listing:
    id: int
    course_id: int
    platform_id: int
    provider_id: int
    price_idr: int
    commission_bp: int


@dataclass(frozen=True)
class Trainee:
    participant_id: int
    nik: str
    enrollment_id: int


class PaymentWorld:
    """Rows for payment tests: `world = PaymentWorld(db)`, then `await world.trainee(...)`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._numbers = itertools.count(1)

    async def insert(self, model, **values: Any) -> int:
        table = model.__table__
        async with self.db.write_engine.begin() as connection:
            return (await connection.execute(table.insert().values(**values).returning(table.c.id))).scalar_one()

    async def revoke(self, participant_id: int) -> None:
        """A card revoked after its holder bought (a later finding): the database takes no purchase
        from someone without a card, so the enrollment comes first."""
        async with self.db.write_engine.begin() as connection:
            await connection.execute(update(Participant).where(Participant.id == participant_id).values(status="revoked"))

    async def platform_id(self, code: str) -> int:
        async with self.db.engine.connect() as connection:
            return (await connection.execute(select(Platform.id).where(Platform.code == code))).scalar_one()

    async def wave(self, number: int = 1, **overrides: Any) -> int:
        return await self.insert(Wave, **wave_row(number, **overrides))

    async def provider(self, name: str = "LP Cakap Digital", npwp: str = "0123456789012345", **overrides: Any) -> int:
        values = dict(
            name=name, name_key=name.lower(), nib=f"91{next(self._numbers):011d}", npwp=npwp, province_code="31",
            state="approved",
        )
        values.update(overrides)
        return await self.insert(Provider, **values)

    async def listing(
        self, provider_id: int, platform_code: str = "tokopedia", *, price_idr: int = 1_000_000,
        commission_bp: int = 1000, title: str = "Menjadi Barista", platform_account: bool = True,
    ) -> Listing:
        """A listed course of the provider on the platform; the platform gets a verified payout
        account (training fees are paid into it) unless it has one or `platform_account` is False."""
        course_id = await self.insert(
            Course, provider_id=provider_id, title=title, title_key=title.lower(), category="kuliner",
            mode="webinar", hours=12, price_idr=price_idr, state="approved",
        )
        platform_id = await self.platform_id(platform_code)
        if platform_account:
            await self.platform_account(platform_code)
        listing_id = await self.insert(
            CourseListing, course_id=course_id, platform_id=platform_id, commission_bp=commission_bp, status="listed"
        )
        return Listing(listing_id, course_id, platform_id, provider_id, price_idr, commission_bp)

    async def provider_account(self, provider_id: int, *, verified: bool = True, **overrides: Any) -> int:
        values = dict(
            owner_kind="provider", provider_id=provider_id, channel="bank", institution="BCA",
            account_number=f"88{provider_id:08d}", holder_name=f"PT Penyedia {provider_id}",
            holder_npwp="0123456789012345", verified=verified,
        )
        values.update(overrides)
        return await self.insert(PayoutAccount, **values)

    async def platform_account(self, platform_code: str = "tokopedia", *, verified: bool = True, **overrides: Any) -> int:
        """The platform's payout account (created once; an existing one is returned as it is)."""
        platform_id = await self.platform_id(platform_code)
        async with self.db.engine.connect() as connection:
            found = (await connection.execute(
                select(PayoutAccount.id).where(PayoutAccount.platform_id == platform_id)
            )).scalar()
        if found is not None:
            return found
        values = dict(
            owner_kind="platform", platform_id=platform_id, channel="bank", institution="MANDIRI",
            account_number=f"77{platform_id:08d}", holder_name=f"PT {platform_code.title()}",
            holder_npwp="0987654321098765", verified=verified,
        )
        values.update(overrides)
        return await self.insert(PayoutAccount, **values)

    async def participant(self, wave_id: int, **overrides: Any) -> tuple[int, str]:
        row = participant_row(next(self._numbers) + 1000 * wave_id, wave_id, **overrides)
        return await self.insert(Participant, **row), row["nik"]

    async def enrollment(self, participant_id: int, listing: Listing, **overrides: Any) -> int:
        return await self.insert(Enrollment, **enrollment_row(participant_id, listing, **overrides))

    async def account(self, participant_id: int, nik: str, **overrides: Any) -> int:
        return await self.insert(PayoutAccount, **participant_account_row(participant_id, nik, **overrides))

    async def trainees(self, wave_id: int, listing: Listing, count: int, **enrollment: Any) -> list[int]:
        """`count` participants with a completed first enrollment (no accounts), in one go."""
        participants = Participant.__table__
        people = [participant_row(next(self._numbers) + 1000 * wave_id, wave_id) for _ in range(count)]
        async with self.db.write_engine.begin() as connection:
            ids = (
                await connection.execute(
                    participants.insert().returning(participants.c.id, sort_by_parameter_order=True), people
                )
            ).scalars().all()
            await connection.execute(
                Enrollment.__table__.insert(), [enrollment_row(pid, listing, **enrollment) for pid in ids]
            )
        return list(ids)

    async def trainee(
        self, wave_id: int, listing: Listing, *, account: bool = True, institution: str = "BNI",
        participant: dict[str, Any] | None = None, **enrollment: Any,
    ) -> Trainee:
        """A participant of the wave with a first enrollment (completed and reviewed unless told
        otherwise) and, by default, a verified account at `institution` under the same NIK."""
        participant_id, nik = await self.participant(wave_id, **(participant or {}))
        enrollment_id = await self.enrollment(participant_id, listing, **enrollment)
        if account:
            await self.account(participant_id, nik, institution=institution)
        return Trainee(participant_id, nik, enrollment_id)


def bulk_trainee_rows(
    count: int, wave_id: int, listing: Listing, *, first_id: int = 1
) -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(participant, enrollment, account) rows with explicit ids, for bulk loading."""
    for offset in range(count):
        participant_id = first_id + offset
        participant = participant_row(participant_id, wave_id, id=participant_id)
        enrollment = enrollment_row(participant_id, listing, id=participant_id)
        enrollment["certificate_number"] = f"CERT-{participant_id}"
        account = participant_account_row(participant_id, participant["nik"], id=participant_id)
        yield (with_defaults(Participant, participant), with_defaults(Enrollment, enrollment),
               with_defaults(PayoutAccount, account))


def with_defaults(model, row: dict[str, Any]) -> dict[str, Any]:
    """The row with every column the model defaults (a plain value) filled in: bulk inserts name
    every column, and columns added since these rows were written must not break them."""
    filled = dict(row)
    for column in model.__table__.columns:
        default = column.default
        if column.name not in filled and default is not None and default.is_scalar:
            filled[column.name] = default.arg
    return filled



async def pay_in_full(db: Database, finance, approvers, batch_id: int, folder) -> None:
    """Take a draft through submit, the approvals it needs, export and a results file that pays
    every line: the only way lines become paid (the database refuses shortcuts)."""
    from store.services.payments import batches, files
    from store.uow import read_session

    await batches.submit_batch(db, finance, batch_id)
    for approver in approvers:
        if (await batches.approve_batch(db, approver, batch_id)).final:
            break
    await files.export_disbursement(db, finance, batch_id, folder / f"batch-{batch_id}.csv")
    async with read_session(db) as session:
        lines = (await session.execute(
            select(PaymentLine.id, PaymentLine.amount_idr).where(PaymentLine.batch_id == batch_id)
        )).all()
    results = [(line.id, line.amount_idr, "paid", f"TRX-{line.id}", "") for line in lines]
    await files.reconcile(db, finance, batch_id, files.results_text(results))
