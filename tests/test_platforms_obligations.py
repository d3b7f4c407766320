"""Platforms and their obligations: periods, overdue on time, submissions, suspend and reinstate."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from store.errors import Conflict, InvalidInput, PermissionDenied, RuleViolation
from store.models import AuditEvent, ObligationItem, Platform
from store.services import dashboard, obligations, platforms, settings
from store.services.obligations import ObligationStatus, periods_between
from store.uow import read_session

TODAY = dt.date(2026, 11, 30)
SIX_MONTHS_AGO = dt.date(2026, 5, 1)


async def _platform_id(db, code: str) -> int:
    async with read_session(db) as session:
        return (await session.execute(select(Platform.id).where(Platform.code == code))).scalar_one()


async def _item_count(db) -> int:
    async with read_session(db) as session:
        return (await session.execute(select(func.count(ObligationItem.id)))).scalar_one()


def test_periods_are_whole_months():
    assert periods_between(dt.date(2026, 1, 1), dt.date(2026, 3, 1), 1) == [
        (dt.date(2026, 1, 1), dt.date(2026, 1, 31)),
        (dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
    ]
    assert periods_between(dt.date(2026, 11, 1), dt.date(2027, 2, 1), 3) == [
        (dt.date(2026, 11, 1), dt.date(2027, 1, 31)),
        (dt.date(2027, 2, 1), dt.date(2027, 4, 30)),
    ]


def test_status_follows_the_due_date():
    due = dt.date(2026, 12, 10)
    assert obligations.status_of(due, None, due) == ObligationStatus.OPEN
    assert obligations.status_of(due, None, due + dt.timedelta(days=1)) == ObligationStatus.OVERDUE
    assert obligations.status_of(due, due, due + dt.timedelta(days=30)) == ObligationStatus.ON_TIME
    assert obligations.status_of(due, due + dt.timedelta(days=1), due) == ObligationStatus.LATE


async def test_roll_forward_opens_ten_items_per_period_once(db, actors):
    result = await obligations.roll_forward(db, actors.admin, TODAY, start=SIX_MONTHS_AGO)
    # 8 platforms x 7 monthly periods (May to November) x 10 obligations.
    assert (result.platforms, result.created) == (8, 8 * 7 * 10)
    again = await obligations.roll_forward(db, actors.admin, TODAY, start=SIX_MONTHS_AGO)
    assert again.created == 0 and await _item_count(db) == 560
    later = await obligations.roll_forward(db, actors.admin, dt.date(2027, 1, 5))
    assert later.created == 8 * 2 * 10  # December and January
    tokopedia = await _platform_id(db, "tokopedia")
    async with read_session(db) as session:
        item = (await session.execute(
            select(ObligationItem).where(
                ObligationItem.platform_id == tokopedia, ObligationItem.kind == "report_budget",
                ObligationItem.period_start == dt.date(2026, 5, 1),
            )
        )).scalar_one()
        events = (await session.execute(
            select(AuditEvent.action).where(AuditEvent.entity == "platform", AuditEvent.entity_id == str(tokopedia))
        )).scalars().all()
    assert (item.period_end, item.due_on) == (dt.date(2026, 5, 31), dt.date(2026, 6, 10))
    assert events.count("obligation.periods_opened") == 2


async def test_roll_forward_follows_the_period_settings(db, actors):
    await settings.change(db, actors.admin, "obligations.period_months", 3)
    await settings.change(db, actors.admin, "obligations.due_days", 20)
    await obligations.roll_forward(db, actors.admin, dt.date(2026, 12, 31), start=dt.date(2026, 7, 1))
    async with read_session(db) as session:
        periods = (await session.execute(
            select(ObligationItem.period_start, ObligationItem.period_end, ObligationItem.due_on).distinct()
            .order_by(ObligationItem.period_start)
        )).all()
    assert periods == [
        (dt.date(2026, 7, 1), dt.date(2026, 9, 30), dt.date(2026, 10, 20)),
        (dt.date(2026, 10, 1), dt.date(2026, 12, 31), dt.date(2027, 1, 20)),
    ]


async def test_only_an_admin_schedules_obligations(db, actors):
    for name in ("reviewer", "coordinator", "tokopedia", "auditor"):
        with pytest.raises(PermissionDenied):
            await obligations.roll_forward(db, actors[name], TODAY)


async def test_obligations_become_overdue_on_time_and_are_counted(db, actors):
    await obligations.roll_forward(db, actors.admin, dt.date(2026, 10, 15), start=dt.date(2026, 10, 1))
    # October's reports are due on 10 November: open that day, overdue the next.
    due = dt.date(2026, 11, 10)
    rows = {row.code: row for row in await platforms.list_platforms(db, actors.admin, today=due)}
    assert (rows["tokopedia"].overdue, rows["tokopedia"].not_yet_due) == (0, 10)
    rows = {row.code: row for row in await platforms.list_platforms(db, actors.admin, today=due + dt.timedelta(days=1))}
    assert (rows["tokopedia"].overdue, rows["tokopedia"].not_yet_due) == (10, 0)
    assert rows["tokopedia"].scheduled_through == dt.date(2026, 10, 31)
    queues = {q.key: q.count for q in await dashboard.work_waiting(db, actors.admin, today=due + dt.timedelta(days=1))}
    assert queues["obligations_overdue"] == 80
    staff = {q.key: q.count for q in await dashboard.work_waiting(db, actors.tokopedia, today=due + dt.timedelta(days=1))}
    assert staff["obligations_overdue"] == 10
    reviewer = {q.key: q.count for q in await dashboard.work_waiting(db, actors.reviewer, today=due)}
    assert reviewer["obligations_overdue"] == 0


async def _first_item(db, actor, code: str, kind: str = "report_progress"):
    platform_id = await _platform_id(db, code)
    cal = await obligations.calendar(db, actor, platform_id, periods=12, today=TODAY)
    return next(item for item in cal.items if item.kind == kind and item.period_start == cal.periods[0][0])


async def test_recording_a_submission_flags_it_late_or_on_time(db, actors):
    await obligations.roll_forward(db, actors.admin, TODAY, start=SIX_MONTHS_AGO)
    item = await _first_item(db, actors.tokopedia, "tokopedia")
    assert item.status == ObligationStatus.OVERDUE and item.due_on == dt.date(2026, 6, 10)
    recorded = await obligations.record_submission(
        db, actors.tokopedia, item.id, "2026-06-14", "TKP/PRAKERJA/2026/05-progress",
        expected_version=item.version, today=TODAY,
    )
    assert (recorded.status, recorded.submitted_by, recorded.submitted_on) == (
        ObligationStatus.LATE, "tokopedia", dt.date(2026, 6, 14))
    on_time = await _first_item(db, actors.reviewer, "tokopedia", "report_budget")
    recorded = await obligations.record_submission(
        db, actors.reviewer, on_time.id, dt.date(2026, 6, 3), "email 3 June", expected_version=on_time.version,
        today=TODAY,
    )
    assert recorded.status == ObligationStatus.ON_TIME
    async with read_session(db) as session:
        event = (await session.execute(
            select(AuditEvent).where(AuditEvent.action == "obligation.submitted").order_by(AuditEvent.id)
        )).scalars().first()
    details = json.loads(event.changes)["details"]
    assert (event.operator_name, details["late"], details["kind"]) == ("tokopedia", True, "report_progress")
    rows = {row.code: row for row in await platforms.list_platforms(db, actors.admin, today=TODAY)}
    assert rows["tokopedia"].overdue == rows["bukalapak"].overdue - 2


async def test_the_list_orders_by_name_by_overdue_reports_or_by_status(db, actors):
    await obligations.roll_forward(db, actors.admin, TODAY, start=SIX_MONTHS_AGO)
    late = await _first_item(db, actors.reviewer, "tokopedia")
    await obligations.record_submission(db, actors.reviewer, late.id, dt.date(2026, 6, 14), "email",
                                        expected_version=late.version, today=TODAY)  # one fewer overdue
    [sisnaker] = [row for row in await platforms.list_platforms(db, actors.admin) if row.code == "sisnaker"]
    await platforms.suspend(db, actors.admin, sisnaker.id, "audit finding", expected_version=sisnaker.version)
    by_name = await platforms.list_platforms(db, actors.admin, today=TODAY)
    assert [row.name.casefold() for row in by_name] == sorted(row.name.casefold() for row in by_name)
    by_overdue = await platforms.list_platforms(db, actors.admin, today=TODAY, sort="overdue")
    overdue = [row.overdue for row in by_overdue]
    assert overdue == sorted(overdue, reverse=True) and by_overdue[-1].code == "tokopedia"
    by_status = await platforms.list_platforms(db, actors.admin, today=TODAY, sort="status")
    assert [row.status for row in by_status][-1] == "suspended" and by_status[-1].code == "sisnaker"
    with pytest.raises(InvalidInput):
        await platforms.list_platforms(db, actors.admin, sort="cheapest")


async def test_submissions_are_checked(db, actors):
    await obligations.roll_forward(db, actors.admin, TODAY, start=SIX_MONTHS_AGO)
    item = await _first_item(db, actors.admin, "bukalapak")
    cases = [
        (actors.tokopedia, "2026-06-01", "ref", PermissionDenied, "permission.other_platform"),
        (actors.auditor, "2026-06-01", "ref", PermissionDenied, "permission.denied"),
        (actors.bukalapak, "2026-04-30", "ref", InvalidInput, "obligation.before_period"),
        (actors.bukalapak, "2026-12-01", "ref", InvalidInput, "input.date_future"),
        (actors.bukalapak, "2026-06-01", "  ", InvalidInput, "input.required"),
    ]
    for actor, day, reference, error, key in cases:
        with pytest.raises(error) as refused:
            await obligations.record_submission(db, actor, item.id, day, reference, expected_version=item.version,
                                                today=TODAY)
        assert refused.value.key == key
    await obligations.record_submission(db, actors.bukalapak, item.id, "2026-06-01", "BL-05", expected_version=item.version,
                                        today=TODAY)
    with pytest.raises(Conflict):
        await obligations.record_submission(db, actors.bukalapak, item.id, "2026-06-01", "BL-05",
                                            expected_version=item.version, today=TODAY)
    with pytest.raises(RuleViolation) as refused:
        await obligations.record_submission(db, actors.bukalapak, item.id, "2026-06-01", "BL-05",
                                            expected_version=item.version + 1, today=TODAY)
    assert refused.value.key == "obligation.already_submitted"


async def test_calendar_pages_through_periods(db, actors):
    await obligations.roll_forward(db, actors.admin, TODAY, start=SIX_MONTHS_AGO)
    platform_id = await _platform_id(db, "sisnaker")
    latest = await obligations.calendar(db, actors.admin, platform_id, periods=3, today=TODAY)
    assert [start.month for start, _ in latest.periods] == [9, 10, 11]
    assert latest.has_earlier and not latest.has_later and len(latest.items) == 30
    earlier = await obligations.calendar(db, actors.admin, platform_id, periods=3, until=dt.date(2026, 8, 1), today=TODAY)
    assert [start.month for start, _ in earlier.periods] == [6, 7, 8] and earlier.has_later
    with pytest.raises(PermissionDenied):
        await obligations.calendar(db, actors.tokopedia, platform_id)
    overdue = await obligations.overdue_items(db, actors.sisnaker, platform_id, today=TODAY)
    assert len(overdue) == 60 and overdue[0].due_on == dt.date(2026, 6, 10)


async def test_platform_staff_see_only_their_platform(db, actors):
    assert [row.code for row in await platforms.list_platforms(db, actors.pintaria)] == ["pintaria"]
    assert len(await platforms.list_platforms(db, actors.auditor)) == 8
    with pytest.raises(PermissionDenied):
        await platforms.get_platform(db, actors.pintaria, await _platform_id(db, "tokopedia"))


async def test_admin_suspends_and_reinstates_with_a_reason(db, actors):
    platform_id = await _platform_id(db, "maubelajarapa")
    detail = await platforms.get_platform(db, actors.admin, platform_id)
    with pytest.raises(PermissionDenied):
        await platforms.suspend(db, actors.approver, platform_id, "x", expected_version=detail.row.version)
    with pytest.raises(InvalidInput) as refused:
        await platforms.suspend(db, actors.admin, platform_id, " ", expected_version=detail.row.version)
    assert refused.value.params["field"] == "reason"
    detail = await platforms.suspend(
        db, actors.admin, platform_id, "Budget reports missing for three months", expected_version=detail.row.version
    )
    assert (detail.row.status, detail.status_reason) == ("suspended", "Budget reports missing for three months")
    with pytest.raises(RuleViolation) as refused:
        await platforms.suspend(db, actors.admin, platform_id, "again", expected_version=detail.row.version)
    assert refused.value.key == "platforms.already_suspended"
    with pytest.raises(Conflict):
        await platforms.reinstate(db, actors.admin, platform_id, "reports received", expected_version=detail.row.version - 1)
    detail = await platforms.reinstate(db, actors.admin, platform_id, "Reports received", expected_version=detail.row.version)
    assert detail.row.status == "active"
    async with read_session(db) as session:
        events = (await session.execute(
            select(AuditEvent.action, AuditEvent.reason).where(
                AuditEvent.entity == "platform", AuditEvent.entity_id == str(platform_id)
            ).order_by(AuditEvent.id)
        )).all()
    assert events[-2:] == [
        ("platform.suspended", "Budget reports missing for three months"), ("platform.reinstated", "Reports received"),
    ]
