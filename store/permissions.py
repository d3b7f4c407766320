"""Who may do what: each service operation names a permission; this table grants it to roles.

Platform staff (role `platform`) are also confined to their own platform's records: services check
that scope with `Actor.require_platform`. Auditors read everything and change nothing, so they
appear only against `*.read` permissions.
"""

from __future__ import annotations

from store.models import Role

A, RV, CU, CO, FI, AP, AU, PL = (
    Role.ADMIN, Role.REVIEWER, Role.CURATOR, Role.COORDINATOR,
    Role.FINANCE, Role.APPROVER, Role.AUDITOR, Role.PLATFORM,
)
OFFICE = frozenset({A, RV, CU, CO, FI, AP, AU})
EVERYONE = OFFICE | {PL}

PERMISSIONS: dict[str, frozenset[Role]] = {
    # Foundation
    "operator.manage": frozenset({A}),
    "operator.read": frozenset({A, AU}),
    "setting.change": frozenset({A}),
    "audit.read": frozenset({A, AU, RV, CU, CO, FI, AP}),
    "audit.verify": frozenset({A, AU}),
    "audit.export": frozenset({A, AU}),
    # Platform applications and platforms
    "application.read": OFFICE,
    "application.intake": frozenset({A, RV}),
    "application.review": frozenset({RV}),
    "application.recommend": frozenset({RV}),
    "application.decide": frozenset({AP}),
    "platform.read": EVERYONE,
    "platform.suspend": frozenset({A}),
    "obligation.read": EVERYONE,
    "obligation.record": frozenset({A, RV, CO, PL}),
    "obligation.schedule": frozenset({A}),
    # Providers and courses
    "provider.read": EVERYONE,
    "provider.inventory": frozenset({A, CU, PL}),
    "provider.submit": frozenset({A, PL}),
    "provider.curate": frozenset({CU}),
    "provider.decide": frozenset({CU}),
    "provider.suspend": frozenset({A, CU}),
    "scheme.change": frozenset({A}),
    "curator.affiliation": frozenset({A}),
    "course.read": EVERYONE,
    "course.edit": frozenset({A, CU, PL}),
    "course.decide": frozenset({CU}),
    "listing.create": frozenset({A, CU, PL}),
    # Waves, participants, enrollments
    "wave.read": EVERYONE,
    "wave.manage": frozenset({A}),
    "wave.select": frozenset({CO}),
    "wave.sweep": frozenset({CO}),
    "participant.read": EVERYONE,
    "participant.import": frozenset({A, CO}),
    "participant.reveal_nik": frozenset({A, CO, AU}),
    # Phone, e-mail and family card: shown masked; revealed one at a time, with a reason, audited.
    "participant.reveal_contact": frozenset({A, CO, AU, PL}),
    "exclusion.import": frozenset({A, CO}),
    "blacklist.read": OFFICE,
    "blacklist.add": frozenset({A, CO}),
    "blacklist.lift": frozenset({A}),
    "enrollment.assign": frozenset({CO}),
    "enrollment.progress": frozenset({CO, PL}),
    "enrollment.clear_flag": frozenset({CO}),
    "participant.export": frozenset({A, CO, AU, PL}),
    # Payments
    "payment.read": frozenset({A, FI, AP, AU, PL}),
    "payment.prepare": frozenset({FI}),
    "payment.send": frozenset({FI}),
    "payment.reconcile": frozenset({FI}),
    "payment.approve": frozenset({AP}),
    "payment.retry_override": frozenset({FI, AP}),
    "payout_account.manage": frozenset({FI, CO}),
    "payment.thresholds": frozenset({A}),
    "payment.budget": frozenset({A, FI, AP, AU}),
}


def roles_for(permission: str) -> frozenset[Role]:
    try:
        return PERMISSIONS[permission]
    except KeyError:
        raise KeyError(f"unknown permission {permission!r}: add it to store/permissions.py") from None
