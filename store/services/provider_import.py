"""`mitra import providers FILE`: bulk inventory of providers by a platform (or the office).

Every row is checked on its own: a bad row is reported as "line N, column C: reason" and the
good rows are imported, all in one unit of work (with one audit event per provider, marked with
the file's name). Platform staff import for their own platform only.
"""

from __future__ import annotations

from pathlib import Path

from store import csvio
from store.errors import Conflict, MitraError
from store.services import providers
from store.operation import operation
from store.uow import UnitOfWork

REQUIRED = ("name", "legal_form", "nib", "npwp", "province", "address", "online", "offline")
OPTIONAL = (
    "founded_on", "contact_name", "contact_email", "contact_phone", "platforms", "ownership_group",
    "documents_present",
)
# Which column an error of the store names, when it is not the field's own name.
COLUMN_OF_KEY = {
    "permission.other_platform": "platforms",
    "platform.not_found": "platforms",
    "ownership_group.not_found": "ownership_group",
    "provider.nib_exists": "nib",
}


@operation
async def import_providers(uow: UnitOfWork, path: str | Path) -> csvio.ImportReport:
    """Read and import the file; a wrong header refuses the whole file (InvalidInput)."""
    uow.actor.require("provider.inventory")
    text = csvio.read_text(path)
    report = csvio.ImportReport()
    source = Path(path).name
    imported: dict[str, str] = {}  # NIB -> name, for rows repeating an earlier row's NIB
    for line, row in csvio.rows(text, REQUIRED, OPTIONAL, report=report):
        report.read += 1
        broken = csvio.malformed(row, len(REQUIRED))
        if broken is not None:
            report.reject(line, broken)
            continue
        try:
            fields = providers.provider_fields(row)
            if fields.nib in imported:
                raise Conflict("provider.nib_exists", nib=fields.nib, name=imported[fields.nib])
            documents = providers.document_kinds(row.get("documents_present", ""), "documents_present")
            await providers.inventory_provider.within(
                uow, fields, platform_codes=row.get("platforms", "").replace(",", " ").split(),
                ownership_group=row.get("ownership_group") or None, documents_present=documents, source=source,
            )
        except MitraError as error:
            report.reject(line, error, COLUMN_OF_KEY.get(error.key))
            continue
        imported[fields.nib] = fields.name
        report.imported += 1
    return report
