"""Waves (gelombang): their scheme, quota, windows and budget, and each wave's funnel.

Admins create and edit waves. Once a wave is in progress (its participants were selected) its
scheme, the amounts participants were promised, can no longer change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store import validators
from store.errors import Conflict, InvalidInput, NotFound, RuleViolation
from store.failures import explain_constraint
from store.models import ParticipantStatus, ParticipantTally, Wave, WaveProvinceQuota, WaveState
from store.provinces import PROVINCES
from store.operation import operation
from store.uow import UnitOfWork, read_session

explain_constraint("uq_wave_number", "wave.number_taken", Conflict)

SCHEME_FIELDS = (
    "training_balance_idr", "incentive_idr", "incentive_count", "survey_idr", "survey_count",
)
MAX_WAVE_NUMBER = 99_999  # card numbers carry it in five digits (also a CHECK of the database)
LOCKED_STATES = frozenset({WaveState.SELECTING, WaveState.IN_PROGRESS, WaveState.CLOSED})
# Admins move a wave along by hand: planned -> open (registration) and in_progress -> closed.
# Selection itself moves planned/open -> selecting -> in_progress (store/services/selection.py).
MANUAL_TRANSITIONS = {
    WaveState.PLANNED: {WaveState.OPEN},
    WaveState.IN_PROGRESS: {WaveState.CLOSED},
}


@dataclass(frozen=True)
class WaveInput:
    number: int
    year: int
    training_balance_idr: int
    incentive_idr: int
    incentive_count: int
    survey_idr: int
    survey_count: int
    quota: int
    registration_opens: dt.date
    registration_closes: dt.date
    starts_on: dt.date
    purchase_deadline_days: int
    budget_idr: int

    def checked(self) -> WaveInput:
        """The input, or InvalidInput/RuleViolation naming the first field that is wrong."""
        for name in ("number", "year", "quota", "purchase_deadline_days", "training_balance_idr"):
            if getattr(self, name) <= 0:
                raise InvalidInput("wave.positive", field=name, value=getattr(self, name))
        for name in ("incentive_idr", "incentive_count", "survey_idr", "survey_count", "budget_idr"):
            if getattr(self, name) < 0:
                raise InvalidInput("wave.not_negative", field=name, value=getattr(self, name))
        for name in ("training_balance_idr", "incentive_idr", "survey_idr", "budget_idr"):
            validators.within_amount_ceiling(getattr(self, name), name)
        for name in ("number", "year", "quota", "purchase_deadline_days", "incentive_count", "survey_count"):
            if getattr(self, name) > 10**9:
                raise InvalidInput("input.count", field=name, value=getattr(self, name))
        if self.number > MAX_WAVE_NUMBER:
            raise InvalidInput("wave.number_range", field="number", value=self.number, max=MAX_WAVE_NUMBER)
        if self.registration_closes < self.registration_opens:
            raise InvalidInput("wave.window_order", field="registration_closes")
        if self.starts_on < self.registration_closes:
            raise InvalidInput("wave.starts_before_registration_closes", field="starts_on")
        if self.quota * self.training_balance_idr > self.budget_idr:
            raise RuleViolation(
                "wave.budget_below_balances", quota=self.quota, balance_idr=self.training_balance_idr,
                budget_idr=self.budget_idr,
            )
        return self


INPUT_FIELDS = tuple(WaveInput.__dataclass_fields__)


@dataclass(frozen=True)
class Funnel:
    registered: int  # the registered participants the selection considered (or would now)
    selected: int  # received a card in this wave (whatever happened to it later)
    purchased: int  # bought a course (in training or completed)
    completed: int
    revoked: int


@dataclass(frozen=True)
class WaveView(WaveInput):
    id: int
    state: str
    selection_seed: int | None
    selected_at: dt.datetime | None
    swept_at: dt.datetime | None
    version: int
    province_quotas: dict[str, int] = field(default_factory=dict)
    funnel: Funnel | None = None

    @property
    def deadline(self) -> dt.date:
        """The last day for a first purchase."""
        return self.starts_on + dt.timedelta(days=self.purchase_deadline_days)

    def ready_to_sweep(self, today: dt.date) -> bool:
        return self.state == WaveState.IN_PROGRESS and self.swept_at is None and today > self.deadline


def _view(wave: Wave, quotas: dict[str, int], funnel: Funnel | None = None) -> WaveView:
    assert wave.id is not None  # a wave read or flushed
    return WaveView(
        **{name: getattr(wave, name) for name in INPUT_FIELDS},
        id=wave.id, state=wave.state, selection_seed=wave.selection_seed, selected_at=wave.selected_at,
        swept_at=wave.swept_at, version=wave.version, province_quotas=quotas, funnel=funnel,
    )


async def province_quotas(session: AsyncSession, wave_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(col(WaveProvinceQuota.province_code), col(WaveProvinceQuota.quota))
        .where(col(WaveProvinceQuota.wave_id) == wave_id)
        .order_by(col(WaveProvinceQuota.province_code))
    )
    return dict(rows.all())


# Wave-wide operations (selection, the sweep) change hundreds of thousands of rows in one
# statement: minutes on a busy PostgreSQL server, beyond the connection's default timeout.
LONG_STATEMENT_TIMEOUT_MS = 30 * 60 * 1000


async def allow_long_statements(session: AsyncSession) -> None:
    """Raise PostgreSQL's statement timeout for this transaction only (SQLite has none)."""
    if (await session.connection()).dialect.name == "postgresql":
        await session.execute(
            text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(LONG_STATEMENT_TIMEOUT_MS)}
        )


async def hold_waves(session: AsyncSession, wave_ids: Iterable[int | None]) -> None:
    """Purchases and cancellations hold their participants' waves (FOR SHARE) until they commit:
    the sweep, which takes its wave FOR UPDATE, then never interleaves with them and its counts
    and returned balances are exact. (SQLite serialises writers anyway: a no-op there.)"""
    ids = sorted({wave_id for wave_id in wave_ids if wave_id is not None})
    if ids:
        await session.execute(select(col(Wave.id)).where(col(Wave.id).in_(ids)).with_for_update(read=True))


LISTS_LOCK = 0x6C697374  # "list": PostgreSQL advisory lock, see hold_lists


async def hold_lists(session: AsyncSession, *, to_select: bool = False) -> None:
    """A selection's part (`to_select`, exclusive) and a transaction that adds blacklist or
    exclusion entries (shared, before it adds them) take turns on PostgreSQL: none of those
    commits while a part writes, and a part sees every one committed before it. Otherwise one
    committed after the part checked its picks and before it committed got a listed NIK
    selected. (SQLite serialises writers anyway.)"""
    if (await session.connection()).dialect.name == "sqlite":
        return
    function = "pg_advisory_xact_lock" if to_select else "pg_advisory_xact_lock_shared"
    await session.execute(text(f"SELECT {function}(:key)"), {"key": LISTS_LOCK})


async def wave_by_number(session: AsyncSession, number: int, *, for_update: bool = False) -> Wave:
    query = select(Wave).where(col(Wave.number) == number)
    if for_update:
        query = query.with_for_update()
    wave = (await session.execute(query)).scalar_one_or_none()
    if wave is None:
        raise NotFound("wave.not_found", number=number)
    return wave


async def _wave_to_edit(session: AsyncSession, wave_id: int, expected_version: int) -> Wave:
    """The wave, locked, as the operator saw it (else "changed by someone else"), and not being
    selected: its draw depends on its dates, quotas and number (store/services/selection.py)."""
    wave = await session.get(Wave, wave_id, with_for_update=True)
    if wave is None:
        raise NotFound("wave.not_found", number=wave_id)
    if wave.version != expected_version:
        raise Conflict("record.changed")
    if wave.state == WaveState.SELECTING:
        raise RuleViolation("wave.selecting_locked", number=wave.number)
    return wave


@operation
async def create_wave(uow: UnitOfWork, data: WaveInput) -> WaveView:
    uow.actor.require("wave.manage")
    data = data.checked()
    wave = Wave(**asdict(data))
    uow.session.add(wave)
    await uow.session.flush()
    uow.audit("wave.created", "wave", wave.id, after=asdict(data))
    return _view(wave, {})


@operation
async def update_wave(uow: UnitOfWork, wave_id: int, data: WaveInput, *, expected_version: int) -> WaveView:
    """Change a wave; its scheme is locked once the wave is in progress."""
    uow.actor.require("wave.manage")
    data = data.checked()
    wave = await _wave_to_edit(uow.session, wave_id, expected_version)
    before = {name: getattr(wave, name) for name in INPUT_FIELDS}
    after = asdict(data)
    if wave.state in LOCKED_STATES:
        changed = [name for name in SCHEME_FIELDS if before[name] != after[name]]
        if changed:
            raise RuleViolation("wave.scheme_locked", number=wave.number, fields=", ".join(changed))
        if before["quota"] != after["quota"]:
            raise RuleViolation("wave.quota_locked", number=wave.number)
        if before["number"] != after["number"]:
            raise RuleViolation("wave.number_locked")  # its cards carry it (also refused by the database)
    quotas = await province_quotas(uow.session, wave_id)
    if sum(quotas.values()) > data.quota:
        raise RuleViolation("wave.province_quotas_exceed", total=sum(quotas.values()), quota=data.quota)
    for name, value in after.items():
        setattr(wave, name, value)
    uow.audit("wave.updated", "wave", wave.id, before=before, after=after)
    await uow.session.flush()
    return _view(wave, quotas)


@operation
async def set_province_quotas(
    uow: UnitOfWork, wave_id: int, quotas: dict[str, int], *, expected_version: int
) -> WaveView:
    """Replace the wave's per-province quotas (before selection). Provinces without a quota
    share what the province quotas leave of the total quota."""
    uow.actor.require("wave.manage")
    for code, quota in quotas.items():
        if code not in PROVINCES:
            raise InvalidInput("input.province", field="province", value=code)
        if quota < 0:
            raise InvalidInput("wave.not_negative", field="quota", value=quota)
    wave = await _wave_to_edit(uow.session, wave_id, expected_version)
    if wave.state in LOCKED_STATES:
        raise RuleViolation("wave.quota_locked", number=wave.number)
    if sum(quotas.values()) > wave.quota:
        raise RuleViolation("wave.province_quotas_exceed", total=sum(quotas.values()), quota=wave.quota)
    before = await province_quotas(uow.session, wave_id)
    await uow.session.execute(delete(WaveProvinceQuota).where(col(WaveProvinceQuota.wave_id) == wave_id))
    uow.session.add_all(
        WaveProvinceQuota(wave_id=wave_id, province_code=code, quota=quota) for code, quota in sorted(quotas.items())
    )
    flag_modified(wave, "quota")  # the quotas are part of the wave: its version moves with them
    uow.audit("wave.province_quotas_set", "wave", wave.id, before={"quotas": before}, after={"quotas": quotas})
    await uow.session.flush()
    return _view(wave, dict(sorted(quotas.items())))


@operation
async def set_wave_state(uow: UnitOfWork, wave_id: int, state: str, *, expected_version: int) -> WaveView:
    """Open a planned wave's registration, or close a wave in progress."""
    uow.actor.require("wave.manage")
    wave = await _wave_to_edit(uow.session, wave_id, expected_version)
    if state not in MANUAL_TRANSITIONS.get(WaveState(wave.state), set()):
        raise RuleViolation("wave.bad_transition", number=wave.number, current=wave.state, wanted=state)
    before = wave.state
    wave.state = state
    uow.audit("wave.state_changed", "wave", wave.id, before={"state": before}, after={"state": state})
    await uow.session.flush()
    return _view(wave, await province_quotas(uow.session, wave_id))


async def _funnels(session: AsyncSession) -> tuple[dict[int, dict[str, int]], int]:
    """Participants per (wave, status) and the current pool of registered participants, from the
    tally the database keeps (store/models/participants.py ParticipantTally): a handful of rows,
    whatever the registry's size."""
    counts: dict[int, dict[str, int]] = {}
    pool = 0
    for wave_key, status, n in await session.execute(
        select(col(ParticipantTally.wave_key), col(ParticipantTally.status), col(ParticipantTally.n))
        .where(col(ParticipantTally.n) != 0)
    ):
        if wave_key == 0:
            pool += n if status == ParticipantStatus.REGISTERED else 0
        else:
            counts.setdefault(wave_key, {})[status] = n
    return counts, pool


def _funnel(wave: Wave, counts: dict[str, int], pool: int) -> Funnel:
    purchased = counts.get(ParticipantStatus.IN_TRAINING, 0) + counts.get(ParticipantStatus.COMPLETED, 0)
    selected = sum(counts.values())
    # Before its selection is done, a wave would draw from the pool and those it already holds.
    drawing_from = pool + selected if wave.state == WaveState.SELECTING else pool
    return Funnel(
        registered=wave.registered_count if wave.registered_count is not None else drawing_from,
        selected=selected,
        purchased=purchased,
        completed=counts.get(ParticipantStatus.COMPLETED, 0),
        revoked=counts.get(ParticipantStatus.REVOKED, 0),
    )


async def list_waves(db: Database, actor: Actor) -> list[WaveView]:
    """Every wave, newest first, with its funnel (a handful of rows: waves are few)."""
    actor.require("wave.read")
    async with read_session(db, replica=True) as session:
        waves = (await session.execute(select(Wave).order_by(col(Wave.number).desc()))).scalars().all()
        counts, pool = await _funnels(session)
        quotas = await session.execute(select(WaveProvinceQuota))
        by_wave: dict[int, dict[str, int]] = {}
        for quota in quotas.scalars():
            by_wave.setdefault(quota.wave_id, {})[quota.province_code] = quota.quota
        views = []
        for wave in waves:
            assert wave.id is not None  # a wave read
            funnel = _funnel(wave, counts.get(wave.id, {}), pool)
            views.append(_view(wave, dict(sorted(by_wave.get(wave.id, {}).items())), funnel))
        return views


@dataclass(frozen=True)
class WaveOption:
    id: int
    number: int
    year: int


async def wave_options(db: Database, actor: Actor) -> list[WaveOption]:
    """The waves, newest first, without their funnels (for filters: cheap at any size)."""
    actor.require("wave.read")
    async with read_session(db) as session:
        rows = await session.execute(
            select(col(Wave.id), col(Wave.number), col(Wave.year)).order_by(col(Wave.number).desc())
        )
        return [WaveOption(row.id, row.number, row.year) for row in rows]


async def get_wave(db: Database, actor: Actor, number: int) -> WaveView:
    actor.require("wave.read")
    async with read_session(db) as session:
        wave = await wave_by_number(session, number)
        assert wave.id is not None  # a wave read
        return _view(wave, await province_quotas(session, wave.id))
