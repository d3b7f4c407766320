"""What is payable: the candidates of a scope, as one SQL query.

Training fee (scope: one platform): an enrollment on the platform that is completed with its
evidence (certificate number and completion date), not flagged as too fast or flagged and cleared
by a coordinator. The PMO pays the fee to the platform, which passes it on to the course's
provider less its commission: the line's payee is the platform's verified payout account, its
amount the gross fee (the price copied at purchase); it also names the provider and keeps the
platform's commission (basis points copied at purchase, rounded down) and the provider's net
amount, which the platform owes on. Item: "fee:<enrollment id>".

Incentive (scope: one wave and one payer): a participant of the wave whose *first* enrollment is
completed with its evidence and reviewed, with a verified payout account at the payer under the
same NIK, re-screened when the batch is prepared: not revoked, no standing blacklist entry, on no
exclusion list. Instalments come one at a time: a batch takes the participant's next instalment
once every earlier one is paid, up to the wave's count, each of the wave's amount. Item:
"incentive:<participant id>:<instalment>".

An item already on a live line is not a candidate. A failed line released its item: when the item
is taken again, the new line points at the latest failed one (`retry_of_line_id`). An item whose
latest failure was for an account reason is *held* while the payee's current account is the one
it failed on and no override was recorded (store/services/payments/failures.py).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Exists,
    FromClause,
    Integer,
    Label,
    ScalarSelect,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.errors import InvalidInput, NotFound
from store.models import (
    AccountOwner,
    BatchKind,
    BlacklistEntry,
    Course,
    Enrollment,
    EnrollmentStatus,
    ExclusionEntry,
    FailureKind,
    LineStatus,
    Participant,
    ParticipantStatus,
    PaymentLine,
    PaymentRetryOverride,
    PayoutAccount,
    Platform,
    Provider,
    Wave,
)
from store.provinces import PROVINCES

BASIS_POINTS = 10_000

# The columns of a candidate, in the order preparation inserts them into payment_line.
CANDIDATE_COLUMNS = (
    "item_key", "enrollment_id", "participant_id", "provider_id", "instalment", "province_code",
    "amount_idr", "commission_idr", "net_idr", "payee_name", "account_channel", "account_institution",
    "account_number", "retry_of_line_id",
)


@dataclass(frozen=True)
class Scope:
    """Training fees of one platform (by code), or incentives of one wave (by number) and payer."""

    kind: str
    platform_code: str = ""
    wave_number: int | None = None
    payer: str = ""

    @staticmethod
    def fees(platform_code: str) -> Scope:
        return Scope(BatchKind.TRAINING_FEE, platform_code=platform_code)

    @staticmethod
    def incentives(wave_number: int, payer: str) -> Scope:
        return Scope(BatchKind.INCENTIVE, wave_number=wave_number, payer=normalise_institution(payer))


@dataclass(frozen=True)
class CandidateFilter:
    """Optional narrowing of a scope's candidates; kept on the batch (as JSON) for its new version."""

    province_code: str = ""  # the participant's province
    provider_id: int | None = None  # training fees only
    completed_by: dt.date | None = None  # completed on or before this date
    limit: int | None = None  # at most this many lines (oldest items first)

    def to_json(self) -> str:
        values = {key: value for key, value in asdict(self).items() if value not in (None, "")}
        if self.completed_by:
            values["completed_by"] = self.completed_by.isoformat()
        return json.dumps(values, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> CandidateFilter:
        values = json.loads(text or "{}")
        if values.get("completed_by"):
            values["completed_by"] = dt.date.fromisoformat(values["completed_by"])
        return CandidateFilter(**values)

    def checked(self) -> CandidateFilter:
        if self.province_code and self.province_code not in PROVINCES:
            raise InvalidInput("input.province", field="province", value=self.province_code)
        if self.limit is not None and self.limit < 1:
            raise InvalidInput("payment.limit", field="payment_limit", value=self.limit)
        return self


@dataclass(frozen=True)
class ResolvedScope:
    kind: str
    platform_id: int | None
    wave_id: int | None
    payer: str
    label: str  # "Tokopedia" or "50 / BNI", for audit details


def normalise_institution(name: str) -> str:
    """Bank and e-wallet names are kept upper-case, so a payer matches its accounts exactly."""
    return " ".join((name or "").split()).upper()


async def resolve_scope(session: AsyncSession, scope: Scope) -> ResolvedScope:
    if scope.kind == BatchKind.TRAINING_FEE:
        row = (
            await session.execute(
                select(col(Platform.id), col(Platform.name)).where(col(Platform.code) == scope.platform_code)
            )
        ).first()
        if row is None:
            raise NotFound("platform.not_found", code=scope.platform_code)
        return ResolvedScope(scope.kind, row.id, None, "", row.name)
    if scope.kind == BatchKind.INCENTIVE:
        wave_id = (await session.execute(select(col(Wave.id)).where(col(Wave.number) == scope.wave_number))).scalar()
        if wave_id is None:
            raise NotFound("payment.wave_not_found", number=scope.wave_number)
        if not scope.payer:
            raise InvalidInput("input.required", field="payment_payer")
        return ResolvedScope(scope.kind, None, wave_id, scope.payer, f"{scope.wave_number} / {scope.payer}")
    raise InvalidInput("payment.kind", field="payment_kind", value=scope.kind)


def completion_evidence(enrollment: FromClause[Any]) -> list[ColumnElement[bool]]:
    """Completed, with certificate and date, and not held as too fast (or cleared)."""
    return [
        enrollment.c.status == EnrollmentStatus.COMPLETED,
        enrollment.c.certificate_number != "",
        enrollment.c.completed_on.is_not(None),
        or_(enrollment.c.flagged_fast == false(), enrollment.c.flag_cleared_at.is_not(None)),
    ]


def _line_table(alias: str) -> FromClause[Any]:
    return PaymentLine.__table__.alias(alias)


def _latest_failure(item_key: ColumnElement[str]) -> ScalarSelect[Any]:
    failed = _line_table("failed")
    # correlate_except: the item key's columns come from the enclosing query, however deep this
    # sits (inside an EXISTS, automatic correlation would look one level up only).
    return (
        select(func.max(failed.c.id))
        .where(failed.c.item_key == item_key, failed.c.status == LineStatus.FAILED)
        .correlate_except(failed)
        .scalar_subquery()
    )


def held_for_account(
    same_item: Callable[[FromClause[Any]], ColumnElement[bool]],
    payee_name: ColumnElement[str],
    channel: ColumnElement[str],
    institution: ColumnElement[str],
    number: ColumnElement[str],
) -> Exists:
    """The item's latest failure was for an account reason, on this very account, and no override
    was recorded: it waits for a changed account (the same rule as migration 0607's trigger).

    `same_item(line)` matches a line of the item by its typed columns (indexed, and cheaper than
    spelling the item key for every candidate: the database keeps key and columns in step). Written
    as "an account failure on this account with no later failure", the first probe finds nothing
    for almost every candidate."""
    failed = _line_table("held_failure")
    later = _line_table("later_failure")
    override = PaymentRetryOverride.__table__
    return (
        exists()
        .where(
            same_item(failed),
            failed.c.status == LineStatus.FAILED,
            failed.c.failure_kind == FailureKind.ACCOUNT,
            failed.c.payee_name == payee_name,
            failed.c.account_channel == channel,
            failed.c.account_institution == institution,
            failed.c.account_number == number,
            ~exists().where(override.c.line_id == failed.c.id),
            ~exists().where(later.c.item_key == failed.c.item_key, later.c.status == LineStatus.FAILED,
                            later.c.id > failed.c.id),
        )
        .correlate_except(failed, later, override)
    )


def copied_account(account: FromClause[Any]) -> list[Label[Any]]:
    """The payout account as the line keeps it: a later change never redirects the payment."""
    return [
        account.c.holder_name.label("payee_name"),
        account.c.channel.label("account_channel"),
        account.c.institution.label("account_institution"),
        account.c.account_number.label("account_number"),
    ]


def _held_filter(query: Select[*tuple[Any, ...]], waiting: Exists, held: bool | None) -> Select[*tuple[Any, ...]]:
    """Candidates (held False), held items (True), or both with a `held` column (None)."""
    if held is None:
        return query.add_columns(waiting.label("held"))
    return query.where(waiting if held else ~waiting)


def _fee_candidates(scope: ResolvedScope, filters: CandidateFilter, held: bool | None = False) -> Select[*tuple[Any, ...]]:
    enrollment = Enrollment.__table__.alias("e")
    course = Course.__table__.alias("c")
    provider = Provider.__table__.alias("pv")
    account = PayoutAccount.__table__.alias("a")  # the platform's: the PMO pays the platform
    participant = Participant.__table__.alias("p")
    live = _line_table("live_line")
    item_key = literal("fee:") + cast(enrollment.c.id, String)
    commission = (enrollment.c.price_idr * enrollment.c.commission_bp) // BASIS_POINTS
    query: Select[*tuple[Any, ...]] = (
        select(
            item_key.label("item_key"),
            enrollment.c.id.label("enrollment_id"),
            enrollment.c.participant_id.label("participant_id"),
            provider.c.id.label("provider_id"),
            cast(null(), Integer).label("instalment"),
            participant.c.province_code.label("province_code"),
            enrollment.c.price_idr.label("amount_idr"),
            commission.label("commission_idr"),
            (enrollment.c.price_idr - commission).label("net_idr"),
            *copied_account(account),
            _latest_failure(item_key).label("retry_of_line_id"),
        )
        .select_from(enrollment)
        .join(course, course.c.id == enrollment.c.course_id)
        .join(provider, provider.c.id == course.c.provider_id)
        .join(participant, participant.c.id == enrollment.c.participant_id)
        .join(
            account,
            and_(
                account.c.platform_id == enrollment.c.platform_id,
                account.c.owner_kind == AccountOwner.PLATFORM,
                account.c.verified == true(),
            ),
        )
        .where(
            enrollment.c.platform_id == scope.platform_id,
            *completion_evidence(enrollment),
            ~exists().where(live.c.item_key == item_key, live.c.live == true()),
        )
    )
    waiting = held_for_account(
        lambda line: and_(line.c.enrollment_id == enrollment.c.id, line.c.instalment.is_(None)),
        account.c.holder_name, account.c.channel, account.c.institution, account.c.account_number,
    )
    query = _held_filter(query, waiting, held)
    if filters.provider_id is not None:
        query = query.where(provider.c.id == filters.provider_id)
    if filters.province_code:
        query = query.where(participant.c.province_code == filters.province_code)
    if filters.completed_by is not None:
        query = query.where(enrollment.c.completed_on <= filters.completed_by)
    if filters.limit is not None:
        query = query.order_by(enrollment.c.id).limit(filters.limit)
    return query


def _incentive_candidates(
    scope: ResolvedScope, filters: CandidateFilter, held: bool | None = False
) -> Select[*tuple[Any, ...]]:
    participant = Participant.__table__.alias("p")
    wave = Wave.__table__.alias("w")
    enrollment = Enrollment.__table__.alias("e")
    account = PayoutAccount.__table__.alias("a")
    blacklist = BlacklistEntry.__table__.alias("b")
    exclusion = ExclusionEntry.__table__.alias("x")
    lines = _line_table("held")
    incentive_lines = and_(lines.c.participant_id == participant.c.id, lines.c.instalment.is_not(None), lines.c.live == true())
    # Every live incentive line of an eligible participant is a paid one (no pending line may
    # exist), so the next instalment is one more than the count of live lines.
    paid = select(func.count()).select_from(lines).where(incentive_lines).scalar_subquery()
    screened = (
        select(
            participant.c.id.label("participant_id"),
            enrollment.c.id.label("enrollment_id"),
            participant.c.province_code.label("province_code"),
            wave.c.incentive_idr.label("amount_idr"),
            *copied_account(account),
            (paid + 1).label("instalment"),
            wave.c.incentive_count.label("instalments"),
            (account.c.holder_nik == participant.c.nik).label("own_account"),
        )
        .select_from(participant)
        .join(wave, wave.c.id == participant.c.wave_id)
        .join(enrollment, and_(enrollment.c.participant_id == participant.c.id, enrollment.c.sequence == 1))
        .join(
            account,
            and_(
                account.c.participant_id == participant.c.id,
                account.c.owner_kind == AccountOwner.PARTICIPANT,
                account.c.verified == true(),
                account.c.institution == scope.payer,
            ),
        )
        .where(
            participant.c.wave_id == scope.wave_id,
            wave.c.incentive_idr > 0,
            *completion_evidence(enrollment),
            enrollment.c.review_given == true(),
            # Re-screening at preparation: revoked, blacklisted or excluded participants wait.
            participant.c.status != ParticipantStatus.REVOKED,
            ~exists().where(blacklist.c.nik == participant.c.nik, blacklist.c.lifted_at.is_(None)),
            ~exists().where(exclusion.c.nik == participant.c.nik),
            ~exists().where(incentive_lines, lines.c.status == LineStatus.PENDING),
        )
    )
    if filters.province_code:
        screened = screened.where(participant.c.province_code == filters.province_code)
    if filters.completed_by is not None:
        screened = screened.where(enrollment.c.completed_on <= filters.completed_by)
    # The same-NIK check is applied outside a fence (OFFSET 0 keeps PostgreSQL from flattening the
    # subquery): inside the join, "account of p AND holder NIK = p's NIK" made the planner expect
    # one row and probe the blacklist and exclusion lists by full scan for each of 800,000.
    eligible = screened.offset(0).subquery("eligible")
    item_key = (
        literal("incentive:") + cast(eligible.c.participant_id, String) + literal(":")
        + cast(eligible.c.instalment, String)
    )
    query: Select[*tuple[Any, ...]] = select(
        item_key.label("item_key"),
        eligible.c.enrollment_id,
        eligible.c.participant_id,
        cast(null(), Integer).label("provider_id"),
        eligible.c.instalment,
        eligible.c.province_code,
        eligible.c.amount_idr,
        literal(0, Integer).label("commission_idr"),
        eligible.c.amount_idr.label("net_idr"),
        eligible.c.payee_name,
        eligible.c.account_channel,
        eligible.c.account_institution,
        eligible.c.account_number,
        _latest_failure(item_key).label("retry_of_line_id"),
    ).where(eligible.c.own_account, eligible.c.instalment <= eligible.c.instalments)
    waiting = held_for_account(
        lambda line: and_(line.c.participant_id == eligible.c.participant_id, line.c.instalment == eligible.c.instalment),
        eligible.c.payee_name, eligible.c.account_channel, eligible.c.account_institution, eligible.c.account_number,
    )
    query = _held_filter(query, waiting, held)
    if filters.limit is not None:
        query = query.order_by(eligible.c.participant_id).limit(filters.limit)
    return query


def candidates(scope: ResolvedScope, filters: CandidateFilter, *, held: bool | None = False) -> Select[*tuple[Any, ...]]:
    """The candidates of `scope` as a query with CANDIDATE_COLUMNS; with `held`, instead, the items
    that would be candidates but wait for a changed account (their latest failure was the account's);
    with `held=None`, both, told apart by an extra `held` column."""
    if scope.kind == BatchKind.TRAINING_FEE:
        return _fee_candidates(scope, filters, held)
    return _incentive_candidates(scope, filters, held)


@dataclass(frozen=True)
class CandidateSummary:
    count: int
    total_idr: int  # gross: what the payer transfers
    commission_idr: int  # training fees: what the platform keeps
    held: int = 0  # items waiting for a changed account (failed for an account reason)
    payee_missing: bool = False  # training fees: the platform has no verified payout account

    @property
    def net_idr(self) -> int:
        """Training fees: what the platform owes on to the providers."""
        return self.total_idr - self.commission_idr


async def payee_missing(session: AsyncSession, scope: ResolvedScope) -> bool:
    """Training fees whose platform has no verified payout account (they are paid into it)."""
    if scope.kind != BatchKind.TRAINING_FEE:
        return False
    assert scope.platform_id is not None  # resolve_scope gives a fee scope its platform
    found = await session.execute(
        select(col(PayoutAccount.id)).where(
            col(PayoutAccount.platform_id) == scope.platform_id, col(PayoutAccount.owner_kind) == AccountOwner.PLATFORM,
            col(PayoutAccount.verified) == true(),
        )
    )
    return found.first() is None


async def summarise(session: AsyncSession, scope: ResolvedScope, filters: CandidateFilter) -> CandidateSummary:
    missing = await payee_missing(session, scope)
    if filters.limit is None:  # one pass, candidates and held items told apart
        found = candidates(scope, filters, held=None).subquery()
        taken = ~found.c.held

        def when_taken(value: ColumnElement[Any] | int) -> ColumnElement[Any]:
            return func.coalesce(func.sum(case((taken, value), else_=0)), 0)

        row = (
            await session.execute(
                select(
                    when_taken(1), when_taken(found.c.amount_idr), when_taken(found.c.commission_idr),
                    func.coalesce(func.sum(case((found.c.held, 1), else_=0)), 0),
                ).select_from(found)
            )
        ).one()
        return CandidateSummary(int(row[0]), int(row[1]), int(row[2]), int(row[3]), missing)
    found = candidates(scope, filters).subquery()
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(found.c.amount_idr), 0),
                func.coalesce(func.sum(found.c.commission_idr), 0),
            ).select_from(found)
        )
    ).one()
    waiting = candidates(scope, filters, held=True).subquery()
    held = (await session.execute(select(func.count()).select_from(waiting))).scalar_one()
    return CandidateSummary(int(row[0]), int(row[1]), int(row[2]), int(held), missing)
