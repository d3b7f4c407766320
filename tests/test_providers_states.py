"""Provider records: inventory, documents checklist, every state transition allowed and refused,
reasons, platform scope, and what the database and the audit log say afterwards."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy import select, text

from store.errors import Conflict, InvalidInput, PermissionDenied, RuleViolation
from store.models import Provider, ProviderDocument, ProviderPlatform
from store.services import curation, providers
from store.uow import read_session
from tests import providers_support as ps


async def _state(db, provider_id: int) -> tuple[str, str]:
    async with read_session(db) as session:
        provider = await session.get(Provider, provider_id)
        return provider.state, provider.state_reason


async def test_platform_staff_inventory_a_provider_for_their_platform(db, actors):
    row = await providers.inventory_provider(
        db, actors.tokopedia, ps.fields("Lembaga Kursus Maju"), documents_present=["deed", "nib"]
    )
    assert row.state == "inventoried" and row.platforms == "tokopedia"
    async with read_session(db) as session:
        documents = dict(
            (await session.execute(select(ProviderDocument.kind, ProviderDocument.status).where(
                ProviderDocument.provider_id == row.id))).all()
        )
        platforms = (await session.execute(select(ProviderPlatform.platform_id).where(
            ProviderPlatform.provider_id == row.id))).scalars().all()
    assert documents == {
        "deed": "present", "nib": "present", "npwp": "missing", "tax_status": "missing",
        "cooperation_agreement": "missing", "course_conformity": "missing",
    }
    assert platforms == [await ps.platform_id(db, "tokopedia")]
    [event] = await ps.events(db, "provider.inventoried")
    assert event.operator_name == "tokopedia" and event.entity_id == str(row.id)
    assert ps.changes(event)["after"]["platforms"] == ["tokopedia"]


async def test_platform_staff_cannot_inventory_for_another_platform(db, actors):
    with pytest.raises(PermissionDenied) as refused:
        await providers.inventory_provider(db, actors.tokopedia, ps.fields(), platform_codes=["bukalapak"])
    assert refused.value.key == "permission.other_platform"


async def test_office_inventories_for_named_platforms_and_needs_one(db, actors):
    row = await providers.inventory_provider(
        db, actors.admin, ps.fields(), platform_codes=["bukalapak", "pintaria"], ownership_group="emtek"
    )
    assert row.platforms == "bukalapak, pintaria"
    with pytest.raises(InvalidInput) as refused:
        await providers.inventory_provider(db, actors.admin, ps.fields())
    assert refused.value.params["field"] == "platforms"


async def test_a_second_record_with_the_same_nib_is_refused(db, actors):
    first = ps.fields("Satu")
    await providers.inventory_provider(db, actors.tokopedia, first)
    with pytest.raises(Conflict) as refused:
        await providers.inventory_provider(db, actors.bukalapak, ps.fields("Dua", nib=first.nib))
    assert refused.value.key == "provider.nib_exists"


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("nib", "123", "input.nib"),
        ("npwp", "12", "input.npwp"),
        ("province", "99", "input.province"),
        ("legal_form", "llc", "input.legal_form"),
        ("online", "maybe", "input.yes_no"),
        ("founded_on", "2020-13-01", "input.date"),
        ("name", "  ", "input.required"),
    ],
)
def test_bad_fields_are_refused_naming_the_field(field, value, key):
    with pytest.raises(InvalidInput) as refused:
        ps.fields(**{field: value})
    assert refused.value.key == key


def test_a_provider_delivers_online_or_offline_or_both():
    with pytest.raises(InvalidInput) as refused:
        ps.fields(online=False, offline=False)
    assert refused.value.key == "provider.no_delivery_mode"


async def test_submission_needs_every_document_present(db, actors):
    provider_id = await ps.inventoried(db, actors.tokopedia, documents=("deed", "nib", "npwp"))
    with pytest.raises(RuleViolation) as refused:
        await providers.submit_provider(db, actors.tokopedia, provider_id)
    assert refused.value.key == "provider.documents_incomplete"
    assert refused.value.params["missing"] == "tax_status, cooperation_agreement, course_conformity"
    for kind in ("tax_status", "cooperation_agreement", "course_conformity"):
        await providers.set_document(db, actors.tokopedia, provider_id, kind, "present", reference=f"{kind}-1")
    assert await providers.submit_provider(db, actors.tokopedia, provider_id) == "submitted"
    assert await _state(db, provider_id) == ("submitted", "")
    [event] = await ps.events(db, "provider.submitted")
    assert ps.changes(event)["after"]["state"] == "submitted" and event.operator_name == "tokopedia"


async def test_submission_needs_an_entity_at_least_a_year_old(db, actors):
    young = await ps.inventoried(db, actors.tokopedia, founded_on=dt.date.today() - dt.timedelta(days=200))
    with pytest.raises(RuleViolation) as refused:
        await providers.submit_provider(db, actors.tokopedia, young)
    assert refused.value.key == "provider.too_young"
    unknown = await ps.inventoried(db, actors.tokopedia, founded_on="")
    with pytest.raises(RuleViolation) as refused:
        await providers.submit_provider(db, actors.tokopedia, unknown)
    assert refused.value.key == "provider.founding_unknown"


async def test_an_invalid_document_needs_a_note_in_the_store_and_the_schema(db, actors):
    provider_id = await ps.inventoried(db, actors.tokopedia)
    with pytest.raises(InvalidInput) as refused:
        await providers.set_document(db, actors.tokopedia, provider_id, "npwp", "invalid")
    assert refused.value.key == "provider.invalid_needs_note"
    view = await providers.set_document(db, actors.tokopedia, provider_id, "npwp", "invalid", note="NPWP expired")
    assert view.status == "invalid" and view.note == "NPWP expired"
    async with db.engine.connect() as connection:
        with pytest.raises(DBAPIError):
            await connection.execute(text("UPDATE provider_document SET note = '' WHERE status = 'invalid'"))


async def test_platform_staff_may_not_correct_documents_after_submission_the_office_may(db, actors):
    provider_id = await ps.submitted(db, actors)
    with pytest.raises(RuleViolation) as refused:
        await providers.set_document(db, actors.tokopedia, provider_id, "npwp", "missing")
    assert refused.value.key == "provider.documents_locked"
    view = await providers.set_document(db, actors.curator, provider_id, "npwp", "invalid", note="Wrong name on NPWP")
    assert view.status == "invalid"


async def test_stale_document_edit_is_refused(db, actors):
    provider_id = await ps.inventoried(db, actors.tokopedia)
    first = await providers.set_document(db, actors.tokopedia, provider_id, "deed", "present", reference="AHU-1")
    with pytest.raises(Conflict):
        await providers.set_document(
            db, actors.tokopedia, provider_id, "deed", "missing", expected_version=first.version - 1
        )


async def test_only_own_platform_staff_see_and_submit_a_provider(db, actors):
    provider_id = await ps.inventoried(db, actors.tokopedia)
    with pytest.raises(PermissionDenied):
        await providers.submit_provider(db, actors.bukalapak, provider_id)
    with pytest.raises(PermissionDenied):
        await providers.get_provider(db, actors.bukalapak, provider_id)
    page = await providers.list_providers(db, actors.bukalapak, providers.ProviderFilter())
    assert page.rows == []
    page = await providers.list_providers(db, actors.tokopedia, providers.ProviderFilter())
    assert [row.id for row in page.rows] == [provider_id]
    # The list's count keeps the same scope: platform staff never learn how many others hold.
    assert (await providers.count_providers(db, actors.bukalapak, providers.ProviderFilter())).value == 0
    assert (await providers.count_providers(db, actors.tokopedia, providers.ProviderFilter())).value == 1


async def test_curators_cannot_submit_and_platform_staff_cannot_curate(db, actors):
    provider_id = await ps.inventoried(db, actors.tokopedia)
    with pytest.raises(PermissionDenied):
        await providers.submit_provider(db, actors.curator, provider_id)
    await providers.submit_provider(db, actors.tokopedia, provider_id)
    with pytest.raises(PermissionDenied):
        await curation.start_curation(db, actors.tokopedia, provider_id)
    with pytest.raises(PermissionDenied):
        await curation.approve_provider(db, actors.admin, provider_id)


async def test_every_transition_from_the_wrong_state_is_refused(db, actors):
    inventoried = await ps.inventoried(db, actors.tokopedia)
    with pytest.raises(RuleViolation) as refused:
        await curation.start_curation(db, actors.curator, inventoried)
    assert refused.value.key == "provider.transition.start_curation"
    with pytest.raises(RuleViolation) as refused:
        await curation.approve_provider(db, actors.curator, inventoried)
    assert refused.value.key == "provider.transition.approve"
    with pytest.raises(RuleViolation) as refused:
        await curation.reject_provider(db, actors.curator, inventoried, "No")
    assert refused.value.key == "provider.transition.reject"
    with pytest.raises(RuleViolation) as refused:
        await providers.suspend_provider(db, actors.curator, inventoried, "No")
    assert refused.value.key == "provider.transition.suspend"
    with pytest.raises(RuleViolation) as refused:
        await providers.reinstate_provider(db, actors.curator, inventoried, "No")
    assert refused.value.key == "provider.transition.reinstate"
    submitted = await ps.submitted(db, actors)
    with pytest.raises(RuleViolation) as refused:
        await providers.submit_provider(db, actors.tokopedia, submitted)
    assert refused.value.key == "provider.transition.submit"
    with pytest.raises(RuleViolation) as refused:
        await curation.approve_provider(db, actors.curator, submitted)
    assert refused.value.key == "provider.transition.approve"
    assert await _state(db, inventoried) == ("inventoried", "")
    assert await _state(db, submitted) == ("submitted", "")


async def test_reject_from_submitted_or_in_curation_needs_a_reason(db, actors):
    submitted = await ps.submitted(db, actors)
    with pytest.raises(InvalidInput) as refused:
        await curation.reject_provider(db, actors.curator, submitted, "  ")
    assert refused.value.params["field"] == "reason"
    await curation.reject_provider(db, actors.curator, submitted, "Company deed forged")
    assert await _state(db, submitted) == ("rejected", "Company deed forged")
    in_curation = await ps.submitted(db, actors)
    await curation.start_curation(db, actors.curator, in_curation)
    await curation.reject_provider(db, actors.curator, in_curation, "Failed governance")
    assert await _state(db, in_curation) == ("rejected", "Failed governance")
    rejected = [event for event in await ps.events(db, "provider.rejected")]
    assert [event.reason for event in rejected] == ["Company deed forged", "Failed governance"]
    assert all(event.operator_name == "curator" for event in rejected)
    with pytest.raises(RuleViolation) as refused:
        await curation.start_curation(db, actors.curator, submitted)
    assert refused.value.key == "provider.transition.start_curation"


async def test_suspend_and_reinstate_with_reasons(db, actors):
    provider_id = await ps.approved(db, actors)
    with pytest.raises(InvalidInput):
        await providers.suspend_provider(db, actors.admin, provider_id, "")
    await providers.suspend_provider(db, actors.admin, provider_id, "Certificates issued before completion")
    assert await _state(db, provider_id) == ("suspended", "Certificates issued before completion")
    with pytest.raises(InvalidInput):
        await providers.reinstate_provider(db, actors.curator, provider_id, "")
    with pytest.raises(PermissionDenied):
        await providers.reinstate_provider(db, actors.tokopedia, provider_id, "Fixed")
    await providers.reinstate_provider(db, actors.curator, provider_id, "Evidence reviewed, practice corrected")
    assert await _state(db, provider_id) == ("approved", "Evidence reviewed, practice corrected")
    actions = [event.action for event in await ps.events(db, "provider.", provider_id)]
    assert actions[-3:] == ["provider.approved", "provider.suspended", "provider.reinstated"]


async def test_schema_refuses_a_rejection_without_reason(db, actors):
    provider_id = await ps.submitted(db, actors)
    async with db.engine.connect() as connection:
        with pytest.raises(DBAPIError) as refused:
            await connection.execute(text(f"UPDATE provider SET state = 'rejected' WHERE id = {provider_id}"))
    assert "decision_has_reason" in str(refused.value)


async def test_stale_decision_is_refused_as_changed(db, actors):
    provider_id = await ps.approved(db, actors)
    view = await providers.get_provider(db, actors.admin, provider_id)
    await providers.suspend_provider(db, actors.admin, provider_id, "First", expected_version=view.version)
    with pytest.raises(Conflict) as refused:
        await providers.reinstate_provider(db, actors.curator, provider_id, "Second", expected_version=view.version)
    assert refused.value.key == "record.changed"


async def test_list_filters_by_state_platform_province_and_searches_name_or_nib(db, actors):
    a = await ps.inventoried(db, actors.tokopedia, name="Akademi Kopi Nusantara", province="32")
    b = await ps.submitted(db, actors, name="Ákademi Batik", platforms=("bukalapak",))
    c = await ps.inventoried(
        db, actors.admin, name="Balai Las Surabaya", platforms=("pintaria",), province="35", nib="3578012345678"
    )
    everything = providers.ProviderFilter()
    assert [row.id for row in (await providers.list_providers(db, actors.curator, everything)).rows] == [b, a, c]
    assert [r.id for r in (await providers.list_providers(db, actors.curator, providers.ProviderFilter(search="akademi"))).rows] == [b, a]
    counted = await providers.count_providers(db, actors.curator, providers.ProviderFilter(search="akademi"))
    assert (counted.value, counted.exact) == (2, True)
    assert [r.id for r in (await providers.list_providers(db, actors.curator, providers.ProviderFilter(search="3578.01"))).rows] == [c]
    assert [r.id for r in (await providers.list_providers(db, actors.curator, providers.ProviderFilter(state="submitted"))).rows] == [b]
    pintaria = await ps.platform_id(db, "pintaria")
    assert [r.id for r in (await providers.list_providers(db, actors.curator, providers.ProviderFilter(platform_id=pintaria))).rows] == [c]
    assert [r.id for r in (await providers.list_providers(db, actors.curator, providers.ProviderFilter(province="32"))).rows] == [a]


async def test_list_pages_follow_each_other_without_gaps(db, actors):
    ids = [await ps.inventoried(db, actors.tokopedia, name=f"Lembaga {n:02d}") for n in range(7)]
    seen, cursor = [], None
    while True:
        page = await providers.list_providers(db, actors.curator, providers.ProviderFilter(), cursor, 3)
        seen += [row.id for row in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ids


async def _all_pages(fetch, limit: int = 1) -> list:
    """Every row of a list, a page of `limit` at a time: the order must hold across pages."""
    rows, cursor = [], None
    while True:
        page = await fetch(cursor, limit)
        rows += page.rows
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


async def test_the_list_sorts_by_name_by_state_or_by_province_across_pages(db, actors):
    a = await ps.inventoried(db, actors.tokopedia, name="Akademi Kopi Nusantara", province="32")
    b = await ps.submitted(db, actors, name="Ákademi Batik", platforms=("bukalapak",), province="33")
    c = await ps.inventoried(db, actors.admin, name="Balai Las Surabaya", platforms=("pintaria",), province="11",
                             nib="3578012345678")

    async def ids(sort: str) -> list[int]:
        rows = await _all_pages(lambda cursor, limit: providers.list_providers(
            db, actors.curator, providers.ProviderFilter(sort=sort), cursor, limit))
        return [row.id for row in rows]

    assert await ids("name") == [b, a, c]
    assert await ids("state") == [a, c, b]  # inventoried (by name) before submitted
    assert await ids("province") == [c, a, b]  # 11, 32, 33
    with pytest.raises(InvalidInput) as refused:
        await providers.list_providers(db, actors.curator, providers.ProviderFilter(sort="nib; DROP TABLE provider"))
    assert refused.value.key == "list.sort_unknown"
