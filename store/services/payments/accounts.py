"""Payout accounts: where the PMO pays a participant's incentive or a platform's training fees.

One account per owner; registering again replaces it (unverified again until checked). A payment
line copies the account when it is created, so a later change never redirects a payment already
in a batch. Participants' accounts are registered under their own NIK (a different holder is
refused); platforms' and providers' under their tax number (NPWP). Institutions are kept
upper-case ("BNI", "GOPAY") so that an incentive batch's payer matches its accounts exactly.

Training fees are paid to the platform (gross): the platform passes each fee on to the provider
less its commission (one of its ten obligations), so fee lines pay the platform's account. A
provider's account is kept for the record (the platform pays it, not the PMO).

A line that failed for an account reason is paid again only once the account differs from the
one it failed on (store/services/payments/failures.py): registering a corrected account here,
and verifying it, is what releases it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlmodel import col

from store import validators
from store.actor import Actor
from store.csvio import ImportReport, malformed, rows
from store.engine import Database
from store.errors import Conflict, InvalidInput, MitraError, NotFound, RuleViolation
from store.models import AccountChannel, AccountOwner, Participant, PayoutAccount, Platform, PlatformApplication, Provider, utcnow
from store.services.payments.payables import normalise_institution
from store.scope import require_visible
from store.services.registry import mask_nik
from store.operation import operation
from store.uow import UnitOfWork, read_session

ACCOUNT = PayoutAccount.__table__
_ACCOUNT_NUMBER = re.compile(r"^\d{6,30}$")
IMPORT_COLUMNS = ("nik", "channel", "institution", "account_number", "holder_name", "holder_nik")
IMPORT_OPTIONAL = ("verified",)
_YES = {"yes", "y", "true", "1", "ya"}
_NO = {"no", "n", "false", "0", "tidak", ""}
CHUNK = 5000


@dataclass(frozen=True)
class AccountDetails:
    channel: str
    institution: str
    account_number: str
    holder_name: str

    def checked(self) -> AccountDetails:
        if self.channel not in {c.value for c in AccountChannel}:
            raise InvalidInput("payout.channel", field="payout_channel", value=self.channel)
        institution = normalise_institution(validators.require_text(self.institution, "payout_institution", max_length=100))
        number = re.sub(r"[\s.\-]", "", self.account_number or "")
        if not _ACCOUNT_NUMBER.match(number):
            raise InvalidInput("payout.account_number", field="payout_account_number", value=self.account_number)
        holder = validators.require_text(self.holder_name, "payout_holder_name")
        return AccountDetails(self.channel, institution, number, holder)


@dataclass(frozen=True)
class AccountView:
    id: int
    owner_kind: str
    participant_id: int | None
    provider_id: int | None
    platform_id: int | None
    channel: str
    institution: str
    account_number: str
    holder_name: str
    holder_nik: str
    holder_npwp: str
    verified: bool
    version: int


def _view(account: PayoutAccount) -> AccountView:
    assert account.id is not None  # an account read or flushed
    return AccountView(
        account.id, account.owner_kind, account.participant_id, account.provider_id, account.platform_id, account.channel,
        account.institution, account.account_number, account.holder_name, account.holder_nik,
        account.holder_npwp, account.verified, account.version,
    )


def _fields(account: PayoutAccount) -> dict[str, Any]:
    return {
        "channel": account.channel, "institution": account.institution, "account_number": account.account_number,
        "holder_name": account.holder_name, "verified": account.verified,
    }


@operation
async def set_provider_account(
    uow: UnitOfWork, provider_id: int, details: AccountDetails, holder_npwp: str,
    *, expected_version: int | None = None,
) -> AccountView:
    """Register (or replace) a provider's account, held under the provider's NPWP."""
    uow.actor.require("payout_account.manage")
    details = details.checked()
    npwp = validators.npwp(holder_npwp, "payout_holder_npwp")
    provider = await uow.session.get(Provider, provider_id)
    if provider is None:
        raise NotFound("payout.provider_not_found", id=provider_id)
    if provider.npwp and provider.npwp != npwp:
        raise RuleViolation("payout.npwp_mismatch", provider=provider.name)
    return await _register(uow, AccountOwner.PROVIDER, provider_id, details, npwp, expected_version)


@operation
async def set_platform_account(
    uow: UnitOfWork, platform_code: str, details: AccountDetails, holder_npwp: str,
    *, expected_version: int | None = None,
) -> AccountView:
    """Register (or replace) the account the PMO pays a platform's training fees into, held under
    the platform's NPWP (the one of its application, when the office has it)."""
    uow.actor.require("payout_account.manage")
    details = details.checked()
    npwp = validators.npwp(holder_npwp, "payout_holder_npwp")
    platform = (
        await uow.session.execute(select(Platform).where(col(Platform.code) == platform_code))
    ).scalar_one_or_none()
    if platform is None:
        raise NotFound("platform.not_found", code=platform_code)
    assert platform.id is not None  # a platform read from the database
    known = set(
        (await uow.session.execute(
            select(col(PlatformApplication.npwp)).where(col(PlatformApplication.platform_id) == platform.id)
        )).scalars()
    ) - {""}
    if known and npwp not in known:
        raise RuleViolation("payout.platform_npwp_mismatch", platform=platform.name)
    return await _register(uow, AccountOwner.PLATFORM, platform.id, details, npwp, expected_version)


async def _register(
    uow: UnitOfWork, kind: AccountOwner, owner_id: int, details: AccountDetails, npwp: str, expected_version: int | None,
) -> AccountView:
    """The account of a provider or a platform (`kind`), new or replaced."""
    column = "provider_id" if kind == AccountOwner.PROVIDER else "platform_id"
    account = (
        await uow.session.execute(select(PayoutAccount).where(ACCOUNT.c[column] == owner_id))
    ).scalar_one_or_none()
    before = _fields(account) if account else {}
    # A new or changed account is paid only once it has been verified.
    if account is None:
        account = PayoutAccount(
            owner_kind=kind, provider_id=owner_id if kind == AccountOwner.PROVIDER else None,
            platform_id=owner_id if kind == AccountOwner.PLATFORM else None, **asdict(details), holder_npwp=npwp,
            created_at=utcnow(),
        )
        uow.session.add(account)
    elif expected_version is not None and account.version != expected_version:
        raise Conflict("record.changed")
    else:
        account.channel, account.institution = details.channel, details.institution
        account.account_number, account.holder_name, account.holder_npwp = details.account_number, details.holder_name, npwp
        account.verified, account.verified_by, account.verified_at = False, None, None
        account.updated_at = utcnow()
    await uow.session.flush()
    uow.audit("payout_account.registered", "payout_account", account.id, before=before, after=_fields(account),
              details={column: owner_id})
    return _view(account)


@operation
async def verify_account(uow: UnitOfWork, account_id: int, *, expected_version: int | None = None) -> AccountView:
    """Mark an account checked with its bank or e-wallet: only verified accounts are paid."""
    uow.actor.require("payout_account.manage")
    account = await uow.session.get(PayoutAccount, account_id)
    if account is None:
        raise NotFound("payout.not_found", id=account_id)
    if expected_version is not None and account.version != expected_version:
        raise Conflict("record.changed")
    if not account.verified:
        account.verified, account.verified_by, account.verified_at = True, uow.actor.operator_id, utcnow()
        await uow.session.flush()
        uow.audit("payout_account.verified", "payout_account", account_id, before={"verified": False},
                  after={"verified": True})
    return _view(account)


async def account_of(
    db: Database, actor: Actor, *, nik: str | None = None, provider_id: int | None = None,
    platform_code: str | None = None,
) -> AccountView | None:
    actor.require("payment.read")
    query = select(PayoutAccount)
    if nik is not None:
        query = query.join(Participant, col(Participant.id) == PayoutAccount.participant_id).where(
            col(Participant.nik) == nik
        )
    elif platform_code is not None:
        query = query.join(Platform, col(Platform.id) == PayoutAccount.platform_id).where(
            col(Platform.code) == platform_code
        )
    else:
        query = query.where(col(PayoutAccount.provider_id) == provider_id)
    async with read_session(db) as session:
        account = (await session.execute(query)).scalar_one_or_none()
        if account is None:
            return None
        view = _view(account)
        await require_visible(session, actor, "payout_account", view.id)
    if not actor.can("participant.reveal_nik"):
        view = dataclasses.replace(view, holder_nik=mask_nik(view.holder_nik) if view.holder_nik else "")
    return view


# A checked row of an accounts file: its line, the participant's NIK, the account, verified or not.
_Row = tuple[int, str, AccountDetails, bool]


def _yes_no(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _YES:
        return True
    if lowered in _NO:
        return False
    raise InvalidInput("payout.verified", field="payout_verified", value=value)


async def import_participant_accounts(db: Database, actor: Actor, text: str) -> ImportReport:
    """Participants' accounts from a CSV file (nik, channel, institution, account_number,
    holder_name, holder_nik[, verified]); each row registers or replaces one account.

    Rows that fail are reported with their line and column; the others are imported. One audit
    event records the import with its counts (a file of 800,000 accounts is one decision).
    """
    actor.require("payout_account.manage")
    report = ImportReport()
    parsed: list[_Row] = []
    for line, row in rows(text, IMPORT_COLUMNS, IMPORT_OPTIONAL, report=report):
        report.read += 1
        problem = malformed(row, len(IMPORT_COLUMNS))
        if problem:
            report.reject(line, problem)
            continue
        try:
            details = AccountDetails(row["channel"], row["institution"], row["account_number"], row["holder_name"]).checked()
            nik = row["nik"].strip()
            validators.parse_nik(nik)
            if row["holder_nik"].strip() != nik:
                raise RuleViolation("payout.nik_mismatch", field="payout_holder_nik", nik=nik)
            verified = _yes_no(row.get("verified", ""))
        except MitraError as error:
            report.reject(line, error, _column(error))
            continue
        parsed.append((line, nik, details, verified))
    # The file is checked before the transaction: the write lock is held for the accounts only.
    await _write_accounts(db, actor, parsed, report)
    return report


@operation
async def _write_accounts(uow: UnitOfWork, parsed: list[_Row], report: ImportReport) -> None:
    """The checked rows, chunk by chunk, and the import's one audit event."""
    now = utcnow()
    for start in range(0, len(parsed), CHUNK):
        report.imported += await _store_accounts(uow, parsed[start:start + CHUNK], report, now)
    report.errors.sort(key=lambda error: error.line)  # unknown NIKs are found a chunk later
    uow.audit("payout_account.imported", "payout_account", "",
              details={"read": report.read, "imported": report.imported, "rejected": report.rejected})


def _column(error: MitraError) -> str:
    field = str(error.params.get("field", ""))
    return field.removeprefix("payout_")


async def _store_accounts(uow: UnitOfWork, chunk: list[_Row], report: ImportReport, now: dt.datetime) -> int:
    session = uow.session
    niks = [nik for _, nik, _, _ in chunk]
    participants = dict(
        (
            await session.execute(select(col(Participant.nik), col(Participant.id)).where(col(Participant.nik).in_(niks)))
        ).all()
    )
    existing: dict[int, int] = dict(
        (
            await session.execute(
                select(ACCOUNT.c.participant_id, ACCOUNT.c.id).where(ACCOUNT.c.participant_id.in_(participants.values()))
            )
        ).all()
    )
    inserts, updates, done = [], [], set()
    for line, nik, details, verified in chunk:
        participant_id = participants.get(nik)
        if participant_id is None:
            report.reject(line, NotFound("payout.participant_not_found", nik=nik), "nik")
            continue
        if participant_id in done:
            report.reject(line, RuleViolation("payout.duplicate_row", nik=nik), "nik")
            continue
        done.add(participant_id)
        values = {
            "channel": details.channel, "institution": details.institution, "account_number": details.account_number,
            "holder_name": details.holder_name, "holder_nik": nik, "verified": verified,
            "verified_by": uow.actor.operator_id if verified else None, "verified_at": now if verified else None,
        }
        if participant_id in existing:
            updates.append({"account_id": existing[participant_id], **values, "updated_at": now})
        else:
            inserts.append({"owner_kind": AccountOwner.PARTICIPANT.value, "participant_id": participant_id,
                            "provider_id": None, "holder_npwp": "", "version": 1, "created_at": now,
                            "updated_at": None, **values})
    if inserts:
        await session.execute(ACCOUNT.insert(), inserts)
    if updates:
        await session.execute(
            update(ACCOUNT)
            .where(ACCOUNT.c.id == bindparam("account_id"))
            .values(version=ACCOUNT.c.version + 1),
            updates,
        )
    return len(inserts) + len(updates)
