"""The demo's participants steps: every state, the edge cases, exclusion hits, a wave ready to
sweep, enrollments in progress and completed (some flagged) once approved listings exist."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, select

from fixtures.build import DemoContext
from fixtures.steps import registry as steps
from store.models import Enrollment, Participant, SelectionRejection, Wave, WaveProvinceQuota
from store.uow import read_session
from tests.participants_support import make_listing

# Each test builds part of the demo (a registry of hundreds or thousands): the slow tier.
pytestmark = pytest.mark.slow


async def build(db, participants: int) -> DemoContext:
    context = DemoContext(db, participants, 2020, lambda *_: None)
    for step in (steps.waves, steps.participants, steps.participants_edge, steps.select_waves):
        await step(context)
    return context


async def test_registry_steps_give_edge_cases_and_exclusion_hits(db):
    await build(db, 300)
    async with read_session(db) as session:
        edge = {p.full_name: p for p in (await session.execute(
            select(Participant).where(Participant.nik.in_(["3371026902000001", "9671014311910001", "3572032902960001"]))
        )).scalars()}
        rejections = dict((await session.execute(
            select(Participant.full_name, SelectionRejection.reason)
            .join(SelectionRejection, SelectionRejection.participant_id == Participant.id)
            .join(Wave, Wave.id == SelectionRejection.wave_id)
            .where(Wave.number == 1, Participant.full_name.in_([
                "Dimas Remaja", "Hartono Sepuh", "Rina Mahasiswi", "Bambang Pegawai Negeri", "Agus Gaji Tinggi",
                "Wahyu Kartu Ganda", "Dewi Sudah Dipulihkan",
            ]))
        )).all())
    assert (edge["Ayu Kartika Dewi"].birth_date, edge["Ayu Kartika Dewi"].sex) == (dt.date(2000, 2, 29), "F")
    assert edge["Yohana Wenda"].province_code == "96"
    assert edge["Muhammad Rizky Febrian"].birth_date == dt.date(1996, 2, 29)
    assert rejections == {
        "Dimas Remaja": "too_young", "Hartono Sepuh": "too_old", "Rina Mahasiswi": "formal_education",
        "Bambang Pegawai Negeri": "excluded_occupation", "Agus Gaji Tinggi": "wage_above_ceiling",
        "Wahyu Kartu Ganda": "blacklisted",  # Dewi's entry was lifted: she is eligible
    }


async def test_enrollment_step_puts_participants_in_every_state(db, actors):
    context = await build(db, 1500)
    for title, price, hours in (("Digital Marketing", 700_000, 24), ("Menjahit Dasar", 350_000, 12)):
        await make_listing(db, actors.admin, title=title, price=price, hours=hours)
    await make_listing(db, actors.admin, title="Kelas Ditarik", provider_state="suspended")
    await steps.enrollments_and_sweep(context)
    async with read_session(db) as session:
        states = Counter((await session.execute(select(Participant.status))).scalars())
        enrolled = (await session.execute(
            select(Enrollment.status, Enrollment.flagged_fast, Enrollment.certificate_number, Wave.number)
            .join(Participant, Participant.id == Enrollment.participant_id)
            .join(Wave, Wave.id == Participant.wave_id)
        )).all()
        waves = {w.number: w for w in (await session.execute(select(Wave))).scalars()}
        bought_in_two = (await session.execute(
            select(func.count()).select_from(Enrollment).join(Participant, Participant.id == Enrollment.participant_id)
            .where(Participant.wave_id == waves[2].id, Participant.province_code == "32")
        )).scalar_one()
    assert set(states) == {"registered", "selected", "in_training", "completed", "revoked"}
    wave_one = Counter((status, flagged) for status, flagged, _, number in enrolled if number == 1)
    assert wave_one[("completed", True)] == steps.FAST
    assert wave_one[("completed", False)] == steps.COMPLETED - steps.FAST
    assert wave_one[("in_progress", False)] == steps.IN_PROGRESS
    assert all(certificate for status, _, certificate, _ in enrolled if status == "completed")
    assert bought_in_two > 0  # the bulk assignment of wave 2's province 32
    assert waves[1].swept_at is not None
    assert waves[2].swept_at is None and waves[2].starts_on + dt.timedelta(days=waves[2].purchase_deadline_days) < dt.date.today()


async def test_the_demo_calendar_has_a_wave_in_every_window_whatever_the_day(db, actors):
    """Built on any day, the demo has a wave open for registration, one in its purchase window
    (a first purchase works today), one past it (in training) and one swept."""
    from store.services import enrollments

    today = dt.date.today() - dt.timedelta(days=400)  # a day the fixture files never name
    context = DemoContext(db, 1500, 2020, lambda *_: None, today=today)
    for step in (steps.waves, steps.participants, steps.participants_edge, steps.select_waves):
        await step(context)
    await make_listing(db, actors.admin, title="Digital Marketing", price=700_000, hours=24)
    await steps.enrollments_and_sweep(context)
    async with read_session(db) as session:
        waves = {w.number: w for w in (await session.execute(select(Wave))).scalars()}
        in_window = (await session.execute(
            select(Participant.id).where(Participant.wave_id == waves[3].id, Participant.status == "selected").limit(1)
        )).scalar_one()

    def deadline(wave):
        return wave.starts_on + dt.timedelta(days=wave.purchase_deadline_days)

    assert waves[4].state == "open" and waves[4].registration_opens <= today <= waves[4].registration_closes
    assert waves[3].starts_on <= today <= deadline(waves[3])
    assert deadline(waves[2]) < today and waves[2].swept_at is None
    assert waves[1].swept_at is not None
    listing = (await enrollments.open_listings(db, actors.coordinator, limit=1)).rows[0].listing_id
    moment = dt.datetime.combine(today, dt.time(3), tzinfo=dt.UTC)
    bought = await enrollments.assign(db, actors.coordinator, in_window, listing, at=moment)
    assert bought.sequence == 1


async def test_a_small_demo_has_people_in_every_wave_and_some_left_for_the_open_wave(small_demo):
    """The waves' quotas are written for the default registry of 2,000. A demo of 120 (a class,
    a quick look) once gave wave 1 everybody: waves 2 and 3 had nobody, and the open wave nobody
    to select, so the guided tour's selection step could not be done."""
    from store.services import operators, selection

    async with read_session(small_demo) as session:
        members = dict((await session.execute(
            select(Wave.number, func.count(Participant.id)).join(Participant, Participant.wave_id == Wave.id)
            .group_by(Wave.number))).all())
    assert set(members) == {1, 2, 3} and min(members.values()) > 0, members
    coordinator = await operators.login(small_demo, "coordinator", "demo")
    selected = await selection.select_participants(small_demo, coordinator, 4)
    assert selected.selected > 0, selected


async def test_a_registry_of_a_handful_still_gets_its_waves(db):
    # In proportion, wave 2's quota comes to one and its provinces' to nothing: kept at one each,
    # they added up to more than the wave's, and the build stopped.
    await build(db, 3)
    async with read_session(db) as session:
        quotas = dict((await session.execute(select(Wave.number, Wave.quota))).all())
        provinces = (await session.execute(
            select(Wave.quota, func.coalesce(func.sum(WaveProvinceQuota.quota), 0))
            .join(WaveProvinceQuota, WaveProvinceQuota.wave_id == Wave.id, isouter=True).group_by(Wave.id, Wave.quota))).all()
    assert quotas == {1: 1, 2: 1, 3: 1, 4: 1}
    assert all(total <= quota for quota, total in provinces), provinces
