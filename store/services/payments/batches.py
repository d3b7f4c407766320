"""Payment batches from preparation to approval: the maker-checker part of paying.

draft -> submitted -> approved -> sent -> reconciled; submitted -> rejected; draft or submitted ->
cancelled. Every change is a guarded transition (`UPDATE ... WHERE id, state, version`) in one unit
of work with its audit event, amounts included. A batch is never edited after submission: a
rejected one comes back as a new version (a new draft linked to it) and its lines are released
(`live` false) the moment it is rejected or cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, MetaData, Select, Table, func, insert, literal, select, text, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store.errors import Conflict, InvalidInput, NotFound, RuleViolation
from store.models import (
    BatchApproval,
    BatchKind,
    BatchState,
    LineStatus,
    PaymentBatch,
    PaymentLine,
    Platform,
    Wave,
    utcnow,
)
from store.services import settings
from store.services.payments.payables import (
    CANDIDATE_COLUMNS,
    CandidateFilter,
    CandidateSummary,
    ResolvedScope,
    Scope,
    candidates,
    payee_missing,
    resolve_scope,
    summarise,
)
from store.services.payments.batch_rules import (
    OPEN_STATES,
    approvers_of,
    budget_refusal,
    checker_refusal,
    enforce,
)
from store.services.payments.integrity import check_unchanged_since_prepared, line_digest
from store.services.payments.views import BatchRow, batch_rows, to_batch_row
from store.operation import operation
from store.uow import UnitOfWork, read_session

THRESHOLDS_KEY = "payments.approval_thresholds"
BATCH = PaymentBatch.__table__
LINE = PaymentLine.__table__

# PostgreSQL advisory lock namespaces (two-key form: namespace, scope id).
PG_PREPARE_FEES = 0x70617946  # "payF": preparing fee batches of one platform
PG_PREPARE_INCENTIVES = 0x70617949  # "payI": preparing incentive batches of one wave
PG_WAVE_BUDGET = 0x70617942  # "payB": approving against one wave's budget


# --- thresholds ---------------------------------------------------------------------------


def approvals_for(total_idr: int, thresholds: list[list[int]]) -> int:
    """Distinct approvers a batch of `total_idr` needs: the last threshold it reaches applies."""
    needed = 1
    for amount, approvals in sorted(thresholds):
        if total_idr >= amount:
            needed = approvals
    return max(1, needed)


def check_thresholds(pairs: Any) -> list[list[int]]:
    """[[0, 1], [1_000_000_000, 2]]: amounts from 0 strictly rising, approvals at least 1, never fewer."""
    try:
        cleaned = [[int(amount), int(approvals)] for amount, approvals in pairs]
    except (TypeError, ValueError):
        raise InvalidInput("payment.thresholds", field="payment_thresholds") from None
    amounts = [amount for amount, _ in cleaned]
    approvals = [count for _, count in cleaned]
    if (
        not cleaned
        or amounts[0] != 0
        or any(b <= a for a, b in zip(amounts, amounts[1:]))
        or any(count < 1 for count in approvals)
        or any(b < a for a, b in zip(approvals, approvals[1:]))
    ):
        raise InvalidInput("payment.thresholds", field="payment_thresholds")
    return cleaned


async def approval_thresholds(db: Database, actor: Actor) -> list[list[int]]:
    actor.require("payment.read")
    thresholds: list[list[int]] = await settings.get(db, THRESHOLDS_KEY)
    return thresholds


async def set_approval_thresholds(db: Database, actor: Actor, pairs: Any) -> list[list[int]]:
    """Admins change the thresholds (through the audited settings service)."""
    actor.require("payment.thresholds")
    thresholds: list[list[int]] = await settings.change(db, actor, THRESHOLDS_KEY, check_thresholds(pairs))
    return thresholds


# --- reading a batch inside a unit of work --------------------------------------------------


async def batch_row(session: AsyncSession, batch_id: int) -> BatchRow:
    row = (await session.execute(batch_rows().where(col(PaymentBatch.id) == batch_id))).first()
    if row is None:
        raise NotFound("payment.batch_not_found", batch=batch_id)
    return to_batch_row(row)


async def _locked(uow: UnitOfWork, batch_id: int, expected_version: int | None) -> Any:
    """The batch's row, locked against concurrent transitions (FOR UPDATE; SQLite's write
    transactions are serialised already). A stale `expected_version` is a conflict."""
    row = (
        await uow.session.execute(select(BATCH).where(BATCH.c.id == batch_id).with_for_update())
    ).first()
    if row is None:
        raise NotFound("payment.batch_not_found", batch=batch_id)
    if expected_version is not None and row.version != expected_version:
        raise Conflict("record.changed")
    return row


async def transition(session: AsyncSession, batch: Any, to_state: str, from_states: tuple[str, ...], **values: Any) -> None:
    """UPDATE ... WHERE id AND state AND version: a concurrent change makes it a conflict."""
    result = await session.execute(
        update(BATCH)
        .where(BATCH.c.id == batch.id, BATCH.c.state.in_(from_states), BATCH.c.version == batch.version)
        .values(state=to_state, version=BATCH.c.version + 1, **values)
    )
    assert isinstance(result, CursorResult)  # what an UPDATE returns
    if result.rowcount != 1:
        raise Conflict("record.changed")


async def _release_lines(session: AsyncSession, batch_id: int) -> None:
    """The batch's items become candidates again (its lines stay, frozen, for the record)."""
    await session.execute(update(LINE).where(LINE.c.batch_id == batch_id, LINE.c.live == true()).values(live=False))


def _amounts(batch: Any) -> dict[str, Any]:
    return {"line_count": batch.line_count, "total_idr": batch.total_idr, "commission_idr": batch.commission_idr}


# --- preparing ------------------------------------------------------------------------------


async def preview_candidates(db: Database, actor: Actor, scope: Scope, filters: CandidateFilter = CandidateFilter()) -> CandidateSummary:
    """How many items the scope would take now, and their total."""
    actor.require("payment.prepare")
    filters = filters.checked()
    async with read_session(db) as session:
        return await summarise(session, await resolve_scope(session, scope), filters)


async def _serialise_preparers(uow: UnitOfWork, scope: ResolvedScope) -> None:
    """Preparers of one scope take turns (PostgreSQL; SQLite's BEGIN IMMEDIATE already does)."""
    if uow.db.is_sqlite:
        return
    namespace, key = (
        (PG_PREPARE_FEES, scope.platform_id) if scope.kind == BatchKind.TRAINING_FEE
        else (PG_PREPARE_INCENTIVES, scope.wave_id)
    )
    await uow.session.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": namespace, "key": key})


# The candidates are first copied into a temporary table, then into payment_line. In one
# INSERT ... SELECT, PostgreSQL planned the candidate query's look-ups into payment_line while the
# table was empty and then re-read the lines the same statement was adding: quadratic, minutes at
# 800,000 lines. Two statements read a payment_line that does not change underneath them.
CANDIDATES = Table(
    "payment_candidate", MetaData(),
    *[Column(name, LINE.c[name].type) for name in CANDIDATE_COLUMNS],
    prefixes=["TEMPORARY"], postgresql_on_commit="DROP",
)


async def _take_candidates(uow: UnitOfWork, batch_id: int, query: Select[*tuple[Any, ...]]) -> None:
    """Copy the candidates into lines of the batch, with their accounts, live, set-based; any item
    that became live meanwhile is skipped (ON CONFLICT against the partial unique index: the
    database's never-twice)."""
    connection = await uow.session.connection()
    await connection.run_sync(CANDIDATES.create)
    await connection.execute(insert(CANDIDATES).from_select(list(CANDIDATE_COLUMNS), query))
    columns = ["batch_id", *CANDIDATE_COLUMNS, "status", "live", "payer_reference", "failure_reason"]
    source = select(
        literal(batch_id).label("batch_id"),
        *[CANDIDATES.c[name] for name in CANDIDATE_COLUMNS],
        literal(LineStatus.PENDING.value).label("status"),
        true().label("live"),
        literal("").label("payer_reference"),
        literal("").label("failure_reason"),
    ).where(true())  # SQLite's upsert after INSERT ... SELECT needs a WHERE to parse
    dialect_insert = sqlite.insert if uow.db.is_sqlite else postgresql.insert
    await connection.execute(
        dialect_insert(LINE)
        .from_select(columns, source)
        .on_conflict_do_nothing(index_elements=["item_key"], index_where=text("live"))
    )
    if uow.db.is_sqlite:  # PostgreSQL drops it at commit; SQLite keeps it for the connection
        await connection.run_sync(CANDIDATES.drop)


async def _prepare(
    uow: UnitOfWork, scope: Scope, filters: CandidateFilter, *, previous: Any | None = None
) -> BatchRow:
    session = uow.session
    resolved = await resolve_scope(session, scope)
    await _serialise_preparers(uow, resolved)
    batch_id = (
        await session.execute(
            insert(BATCH)
            .values(
                kind=resolved.kind, platform_id=resolved.platform_id, wave_id=resolved.wave_id, payer=resolved.payer,
                state=BatchState.DRAFT, version=1, filters=filters.to_json(),
                batch_version=previous.batch_version + 1 if previous is not None else 1,
                previous_batch_id=previous.id if previous is not None else None,
                prepared_by=uow.actor.operator_id, prepared_at=utcnow(),
            )
            .returning(BATCH.c.id)
        )
    ).scalar_one()
    await _take_candidates(uow, batch_id, candidates(resolved, filters))
    # int(): PostgreSQL sums BIGINT into NUMERIC (a Decimal), which must not reach the audit JSON.
    count, total, commission = (
        int(value) for value in (await session.execute(
            select(
                func.count(), func.coalesce(func.sum(LINE.c.amount_idr), 0),
                func.coalesce(func.sum(LINE.c.commission_idr), 0),
            ).where(LINE.c.batch_id == batch_id)
        )).one()
    )
    if count == 0:
        if await payee_missing(session, resolved):
            raise RuleViolation("payment.platform_account_needed", platform=resolved.label)
        raise RuleViolation("payment.no_candidates", scope=resolved.label)
    thresholds = await settings.get_in(session, THRESHOLDS_KEY)
    # Filling in the totals of the batch just created: not an edit, so no version bump.
    await session.execute(
        update(BATCH)
        .where(BATCH.c.id == batch_id)
        .values(line_count=count, total_idr=total, commission_idr=commission,
                approvals_needed=approvals_for(total, thresholds))
    )
    row = await batch_row(session, batch_id)
    uow.audit(
        "payment_batch.prepared", "payment_batch", batch_id,
        details={
            "kind": resolved.kind, "scope": resolved.label, "filters": filters.to_json(),
            "line_count": count, "total_idr": total, "commission_idr": commission,
            "approvals_needed": row.approvals_needed, "batch_version": row.batch_version,
            "previous_batch_id": row.previous_batch_id, "line_digest": await line_digest(session, batch_id),
        },
    )
    return row


@operation
async def prepare_batch(uow: UnitOfWork, scope: Scope, filters: CandidateFilter = CandidateFilter()) -> BatchRow:
    """A new draft with every current candidate of the scope (set-based, in one statement)."""
    uow.actor.require("payment.prepare")
    return await _prepare(uow, scope, filters.checked())


@operation
async def new_version(uow: UnitOfWork, batch_id: int, filters: CandidateFilter | None = None) -> BatchRow:
    """A new draft from a rejected batch: same scope (and filter, unless another is given),
    prepared from the current candidates, which include the rejected batch's released items."""
    uow.actor.require("payment.prepare")
    rejected = await _locked(uow, batch_id, None)
    enforce("new_version", rejected)
    taken = (
        await uow.session.execute(select(BATCH.c.id).where(BATCH.c.previous_batch_id == batch_id))
    ).scalar()
    if taken is not None:
        raise RuleViolation("payment.version_exists", batch=batch_id, version_batch=taken)
    scope = await _scope_of(uow.session, rejected)
    chosen = (filters or CandidateFilter.from_json(rejected.filters)).checked()
    return await _prepare(uow, scope, chosen, previous=rejected)


async def _scope_of(session: AsyncSession, batch: Any) -> Scope:
    if batch.kind == BatchKind.TRAINING_FEE:
        code = (await session.execute(select(col(Platform.code)).where(col(Platform.id) == batch.platform_id))).scalar_one()
        return Scope.fees(code)
    number = (await session.execute(select(col(Wave.number)).where(col(Wave.id) == batch.wave_id))).scalar_one()
    return Scope.incentives(number, batch.payer)


# --- submitting, approving, rejecting, cancelling ---------------------------------------------


@operation
async def submit_batch(uow: UnitOfWork, batch_id: int, expected_version: int | None = None) -> BatchRow:
    """Draft -> submitted; the approvals it needs are fixed now, from the current thresholds."""
    uow.actor.require("payment.prepare")
    batch = await _locked(uow, batch_id, expected_version)
    enforce("submit", batch)
    if batch.line_count == 0:
        raise RuleViolation("payment.no_candidates", scope=batch_id)
    needed = approvals_for(batch.total_idr, await settings.get_in(uow.session, THRESHOLDS_KEY))
    # What approvers will see is what was prepared: a draft edited since is refused.
    digest = await check_unchanged_since_prepared(uow.session, batch_id)
    await transition(
        uow.session, batch, BatchState.SUBMITTED, (BatchState.DRAFT,), submitted_at=utcnow(),
        approvals_needed=needed,
    )
    uow.audit(
        "payment_batch.submitted", "payment_batch", batch_id,
        before={"state": batch.state}, after={"state": BatchState.SUBMITTED},
        details={**_amounts(batch), "approvals_needed": needed, "line_digest": digest},
    )
    return await batch_row(uow.session, batch_id)


async def _check_budget(uow: UnitOfWork, batch: Any) -> None:
    if batch.kind != BatchKind.INCENTIVE:
        return
    if not uow.db.is_sqlite:
        # Two approvals against one wave's budget must not both count on the same headroom.
        await uow.session.execute(
            text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": PG_WAVE_BUDGET, "key": batch.wave_id}
        )
    refused = await budget_refusal(uow.session, batch)
    if refused is not None:
        raise refused


@dataclass(frozen=True)
class ApprovalResult:
    batch: BatchRow
    approval: int  # this approval's number (1 = first)
    final: bool  # the batch is approved now


@operation
async def approve_batch(uow: UnitOfWork, batch_id: int, expected_version: int | None = None) -> ApprovalResult:
    """One approval by a distinct approver who did not prepare the batch; the last one needed
    approves it, if the wave's budget (incentives) covers it with everything already approved."""
    uow.actor.require("payment.approve")
    batch = await _locked(uow, batch_id, expected_version)
    enforce("approve", batch)
    approvers = await approvers_of(uow.session, batch_id)
    refused = checker_refusal("approve", uow.actor, batch, approvers)
    if refused is not None:
        raise refused
    await _check_budget(uow, batch)
    number = len(approvers) + 1
    final = number >= batch.approvals_needed
    approver_id = uow.actor.operator_id
    assert approver_id is not None  # only the system acts without an operator, and it approves nothing
    # The approval first: the database approves a batch only with its approvals recorded.
    uow.session.add(BatchApproval(batch_id=batch_id, prepared_by=batch.prepared_by, approver_id=approver_id))
    await uow.session.flush()
    await transition(
        uow.session, batch, BatchState.APPROVED if final else BatchState.SUBMITTED, (BatchState.SUBMITTED,)
    )
    uow.audit(
        "payment_batch.approved" if final else "payment_batch.approval_given", "payment_batch", batch_id,
        before={"state": batch.state}, after={"state": BatchState.APPROVED if final else batch.state},
        details={**_amounts(batch), "approval": number, "approvals_needed": batch.approvals_needed},
    )
    await uow.session.flush()
    return ApprovalResult(await batch_row(uow.session, batch_id), number, final)


def _reason(reason: str) -> str:
    cleaned = " ".join((reason or "").split())
    if not cleaned:
        raise InvalidInput("payment.reason_required", field="payment_reason")
    return cleaned


async def _close(uow: UnitOfWork, batch: Any, to_state: str, from_states: tuple[str, ...], reason: str, **values: Any) -> BatchRow:
    """Rejected or cancelled: the batch freezes, its items are released, the reason is recorded."""
    await transition(uow.session, batch, to_state, from_states, **values)
    await _release_lines(uow.session, batch.id)
    uow.audit(
        f"payment_batch.{to_state}", "payment_batch", batch.id,
        before={"state": batch.state}, after={"state": to_state}, details=_amounts(batch), reason=reason,
    )
    return await batch_row(uow.session, batch.id)


@operation
async def reject_batch(uow: UnitOfWork, batch_id: int, reason: str, expected_version: int | None = None) -> BatchRow:
    """Submitted -> rejected, with a reason; the batch freezes and its items are released."""
    uow.actor.require("payment.approve")
    reason = _reason(reason)
    batch = await _locked(uow, batch_id, expected_version)
    enforce("reject", batch)
    refused = checker_refusal("reject", uow.actor, batch, set())
    if refused is not None:
        raise refused
    return await _close(
        uow, batch, BatchState.REJECTED, (BatchState.SUBMITTED,), reason,
        rejected_by=uow.actor.operator_id, rejected_at=utcnow(), reject_reason=reason,
    )


@operation
async def cancel_batch(uow: UnitOfWork, batch_id: int, reason: str, expected_version: int | None = None) -> BatchRow:
    """Draft or submitted -> cancelled, with a reason; its items are released."""
    uow.actor.require("payment.prepare")
    reason = _reason(reason)
    batch = await _locked(uow, batch_id, expected_version)
    enforce("cancel", batch)
    return await _close(
        uow, batch, BatchState.CANCELLED, OPEN_STATES, reason,
        cancelled_by=uow.actor.operator_id, cancelled_at=utcnow(), cancel_reason=reason,
    )

