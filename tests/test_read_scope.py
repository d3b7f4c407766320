"""Every read service, called by platform staff against another platform's records, refuses or
returns only in-scope rows. The services are discovered: a new read service fails this test until
it is listed below with a way to call it (so nobody forgets to scope one)."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import pkgutil

from sqlalchemy import text

import store.services
from store.errors import MitraError, PermissionDenied
from store.services import audit_log
from store.services.bulk_assignment import BulkFilter
from store.services.payments.browse import BatchFilter
from store.services.payments.payables import Scope
from store.services.providers import ProviderFilter
from store.services.registry import ParticipantFilter
from tests.conftest import Actors

# Services whose name fits (db, actor, ...) but that change data (through helpers of their own).
WRITES = {
    "audit_log.verify",  # a read, then its own record in a transaction of its own
    "bulk_assignment.run", "courses.listings.list_course",  # their transactions are operations of their own
    "payments.batches.set_approval_thresholds", "platforms.suspend", "platforms.reinstate",
    # a file read or written outside the transaction, which is a private operation
    "payments.accounts.import_participant_accounts", "payments.files.export_disbursement", "payments.files.reconcile",
    "participant_import.import_participants", "payments.files.reconcile_file",
    "participant_lists.write_participant_list",  # a file export: covered by its own scope tests
    "sessions.log_out", "sessions.touch",  # a console's own session row: bookkeeping
    "selection.select_participants", "selection.sweep_wave",  # their transactions are in helpers
    "participant_import.import_exclusions", "sessions.end_session",  # likewise
    "operators.create_operator",  # the first operator is created with no actor, so not an operation itself
}
# Program-wide reads with nothing of one platform in them (or scoped by a role platform staff lack).
PUBLIC = {"about.database_facts", "waves.list_waves", "waves.wave_options", "waves.get_wave", "curation.scheme.get_scheme",
          "platforms.list_platforms", "providers.reading.group_choices", "selection.rejection_counts"}


def services() -> dict[str, object]:
    """Every service shaped (db, actor, ...) not written as an operation, by its module's key."""
    found = {}
    for module_info in pkgutil.walk_packages(store.services.__path__, "store.services."):
        module = importlib.import_module(module_info.name)
        for name, function in vars(module).items():
            if name.startswith("_") or not inspect.iscoroutinefunction(function) or function.__module__ != module.__name__:
                continue
            if list(inspect.signature(function).parameters)[:2] != ["db", "actor"]:
                continue
            if "unit_of_work(" in inspect.getsource(function) or hasattr(function, "within"):
                continue
            found[f"{module.__name__.removeprefix('store.services.')}.{name}"] = function
    return found


def read_services() -> dict[str, object]:
    return {key: function for key, function in services().items() if key not in WRITES}


# How to call each read service against the other platform's records (`o` holds their ids).
CALLS = {
    "applications.reading.list_applications": lambda f, db, a, o: f(db, a),
    "applications.reading.get_application": lambda f, db, a, o: f(db, a, o["application"]),
    "applications.reading.application_history": lambda f, db, a, o: f(db, a, o["application"]),
    "applications.decision.decision_preview": lambda f, db, a, o: f(db, a, o["application"], "approved"),
    "audit_log.list_events": lambda f, db, a, o: f(db, a),
    "audit_log.count_events": lambda f, db, a, o: f(db, a),
    "audit_log.history": None,  # every entity, below
    "tour.begin": lambda f, db, a, o: f(db, a),
    "tour.progress": lambda f, db, a, o: f(db, a, 0),
    "bulk_assignment.preview": lambda f, db, a, o: f(db, a, BulkFilter(), o["listing"]),
    "courses.views.get_course": lambda f, db, a, o: f(db, a, o["course"]),
    "courses.outliers.price_outliers": lambda f, db, a, o: f(db, a, min_similar=1),
    "curation.scorecard.get_scorecard": lambda f, db, a, o: f(db, a, o["provider"]),
    "curation.independence.may_assess": lambda f, db, a, o: f(db, a, o["provider"]),
    "curation.queue.curation_queue": lambda f, db, a, o: f(db, a),
    "dashboard.work_waiting": lambda f, db, a, o: f(db, a),
    "enrollments.open_listings": lambda f, db, a, o: f(db, a),
    "obligations.calendar": lambda f, db, a, o: f(db, a, o["platform"]),
    "obligations.overdue_items": lambda f, db, a, o: f(db, a, o["platform"]),
    "obligations.fee_disbursement_check": lambda f, db, a, o: f(db, a, o["platform"], dt.date.today()),
    "payments.accounts.account_of:platform": lambda f, db, a, o: f(db, a, platform_code=o["platform_code"]),
    "operators.list_operators": lambda f, db, a, o: f(db, a),
    "operator_keys.list_keys": lambda f, db, a, o: f(db, a),
    "participant_file.get_participant": lambda f, db, a, o: f(db, a, o["participant"]),
    "payments.accounts.account_of": lambda f, db, a, o: f(db, a, provider_id=o["provider"]),
    "payments.accounts.account_of:nik": lambda f, db, a, o: f(db, a, nik=o["nik"]),
    "payments.batches.approval_thresholds": lambda f, db, a, o: f(db, a),
    "payments.batches.preview_candidates": lambda f, db, a, o: f(db, a, Scope.fees(o["platform_code"])),
    "payments.browse.list_batches": lambda f, db, a, o: f(db, a, BatchFilter()),
    "payments.browse.batch_detail": lambda f, db, a, o: f(db, a, o["batch"]),
    "payments.browse.batch_lines": lambda f, db, a, o: f(db, a, o["batch"]),
    "payments.browse.scope_choices": lambda f, db, a, o: f(db, a),
    "payments.browse.wave_budgets": lambda f, db, a, o: f(db, a),
    "payments.batch_rules.batch_actions": lambda f, db, a, o: f(db, a, o["batch"]),
    "platforms.get_platform": lambda f, db, a, o: f(db, a, o["platform"]),
    "provider_file.provider_file": lambda f, db, a, o: f(db, a, o["provider"]),
    "providers.reading.list_providers": lambda f, db, a, o: f(db, a, ProviderFilter()),
    "providers.reading.count_providers": lambda f, db, a, o: f(db, a, ProviderFilter()),
    "providers.reading.get_provider": lambda f, db, a, o: f(db, a, o["provider"]),
    "providers.reading.platform_choices": lambda f, db, a, o: f(db, a),
    "registry.list_participants": lambda f, db, a, o: f(db, a, ParticipantFilter()),
    "registry.count_participants": lambda f, db, a, o: f(db, a, ParticipantFilter()),
    "enrollments.list_flagged_completions": lambda f, db, a, o: f(db, a),
    "registry.list_blacklist": lambda f, db, a, o: f(db, a),
    "registry.reveal_nik": lambda f, db, a, o: f(db, a, o["participant"], "checking"),
    "sessions.list_sessions": lambda f, db, a, o: f(db, a),
    "selection.list_rejections": lambda f, db, a, o: f(db, a, o["wave"]),
    "selection.sweep_preview": lambda f, db, a, o: f(db, a, o["wave"]),
}
HISTORY_ENTITIES = ("platform", "obligation_item", "provider", "course", "participant", "enrollment",
                    "payment_batch", "platform_application", "operator")


def test_every_read_service_is_known():
    unknown = set(read_services()) - {key.split(":")[0] for key in CALLS} - PUBLIC
    assert not unknown, f"read services with no scope check in this test: {sorted(unknown)}"
    # A name listed here that the scan no longer finds (moved, renamed, now an operation) would
    # let a new service of that name go unchecked: the lists name only what exists.
    stale = (WRITES | PUBLIC | {key.split(":")[0] for key in CALLS}) - set(services())
    assert not stale, f"listed here but no such service (or now an operation): {sorted(stale)}"


async def _one(db, sql):
    async with db.engine.connect() as connection:
        return (await connection.execute(text(sql))).first()


async def _other_platform(db, own_code: str) -> dict:
    """Ids of records that belong only to another platform than `own_code`'s."""
    own = (await _one(db, f"SELECT id FROM platform WHERE code = '{own_code}'"))[0]
    batch = await _one(db, f"SELECT id, platform_id FROM payment_batch WHERE platform_id <> {own} ORDER BY id LIMIT 1")
    platform = batch.platform_id
    code = (await _one(db, f"SELECT code FROM platform WHERE id = {platform}"))[0]
    provider = (await _one(db, f"""SELECT pp.provider_id FROM provider_platform pp JOIN payout_account pa
        ON pa.provider_id = pp.provider_id WHERE pp.platform_id = {platform} AND NOT EXISTS (SELECT 1 FROM
        provider_platform mine WHERE mine.provider_id = pp.provider_id AND mine.platform_id = {own}) LIMIT 1"""))[0]
    enrollment = await _one(db, f"""SELECT e.id, e.participant_id, e.listing_id, e.course_id FROM enrollment e
        WHERE e.platform_id = {platform} AND NOT EXISTS (SELECT 1 FROM enrollment mine WHERE
        mine.participant_id = e.participant_id AND mine.platform_id = {own}) LIMIT 1""")
    participant = await _one(db, f"SELECT p.full_name, p.nik FROM participant p WHERE p.id = {enrollment.participant_id}")
    return {
        "platform": platform, "platform_code": code, "provider": provider, "batch": batch.id,
        "enrollment": enrollment.id, "participant": enrollment.participant_id, "listing": enrollment.listing_id,
        "course": enrollment.course_id, "nik": participant.nik, "name": participant.full_name,
        "application": (await _one(db, "SELECT id FROM platform_application ORDER BY id LIMIT 1"))[0],
        "wave": (await _one(db, "SELECT number FROM wave WHERE selected_at IS NOT NULL ORDER BY number LIMIT 1"))[0],
        "operator": (await _one(db, f"SELECT id FROM operator WHERE platform_id = {platform} LIMIT 1"))[0],
    }


def _mentions(result, foreign: dict) -> list[str]:
    shown = repr(result)
    return [what for what in ("name", "nik") if str(foreign[what]) in shown]


async def test_platform_staff_read_nothing_of_another_platform(small_demo):
    db = small_demo
    actors = await Actors(db).load()
    staff = actors.tokopedia
    foreign = await _other_platform(db, "tokopedia")
    leaks = []
    for key, call in CALLS.items():
        if call is None:
            continue
        function = read_services()[key.split(":")[0]]
        try:
            result = await call(function, db, staff, foreign)
        except PermissionDenied:
            continue
        except MitraError as error:  # a refusal of another kind (not found, not allowed now) is no leak
            assert error.key, key
            continue
        if _mentions(result, foreign) or str(foreign["platform_code"]) in repr(result) and key not in (
            "providers.reading.platform_choices", "payments.browse.scope_choices"
        ):
            leaks.append(key)
    for entity in HISTORY_ENTITIES:
        ids = [foreign.get(entity, foreign.get({"payment_batch": "batch", "platform_application": "application"}.get(entity, "")))]
        try:
            events = await audit_log.history(db, staff, entity, ids)
        except PermissionDenied:
            continue
        if events:
            leaks.append(f"audit_log.history:{entity}")
    assert leaks == []
