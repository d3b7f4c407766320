"""How the review screen words an application: the applicant's data, the outcome so far, the
verdicts, and the history panel's lines."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text

from store.models import Verdict
from store.provinces import PROVINCE_COUNT, PROVINCES
from store.services.applications import ApplicationDetail
from tui.i18n import catalog, current_language, event_label, t
from tui.widgets.plain import bold

# By the verdict's code as the store gives it (a plain str, equal to its Verdict).
VERDICT_MARKS: dict[str, str] = {Verdict.PASS: "✓", Verdict.FAIL: "✗", Verdict.NEEDS_INFO: "?", Verdict.UNCHECKED: "·"}


def verdict_label(verdict: str | None) -> str:
    return "" if verdict is None else f"{VERDICT_MARKS[verdict]} {t('applications.verdict.' + verdict)}"


def applicant_text(detail: ApplicationDetail) -> Text:
    """The applicant's data, one labelled line each, shown as typed.

    The lines keep their places from one application to the next: the provinces are a grid with a
    slot for each of the 38 (an absent one shows "··", so a gap reads at a glance), and the free
    text that wraps as long as it is (contact, payment integration) comes last, then the earlier
    application if there is one. Stepping through the queue changes values in place, and over a
    field link only the changed characters are sent (tui/unchanged_spans.py)."""
    provinces = t("applications.provinces_count", count=len(detail.provinces), total=PROVINCE_COUNT)
    grid = " ".join(code if code in detail.provinces else "··" for code in PROVINCES)
    lines = [
        (t("field.legal_name"), detail.legal_name),
        (t("field.legal_form"), t("applications.form." + detail.legal_form)),
        (t("field.nib"), detail.nib),
        (t("field.npwp"), detail.npwp),
        (t("field.portal_url"), detail.portal_url),
        (t("field.provinces"), f"{provinces}\n  {grid}"),
        (t("field.own_group_providers"), str(detail.own_group_providers)),
        (t("field.third_party_providers"), str(detail.third_party_providers)),
        (t("field.licence_ref"), detail.licence_ref or "-"),
        (t("field.deed_ref"), detail.deed_ref or "-"),
        (t("field.ownership_group"), detail.ownership_group or "-"),
        (t("field.submitted_on"), detail.submitted_on.isoformat()),
        (t("field.contact_name"), " ".join(filter(None, [detail.contact_name, detail.contact_email, detail.contact_phone])) or "-"),
        (t("field.payment_integration"), detail.payment_integration or "-"),
    ]
    if detail.previous_application_id:
        lines.append((t("applications.previous"), f"#{detail.previous_application_id}"))
    return Text("\n").join(bold(label, value) for label, value in lines)


def outcome_text(detail: ApplicationDetail) -> str:
    """The recommendation and decision so far."""
    parts = []
    if detail.recommendation:
        parts.append(t(
            "applications.recommended_line", outcome=t("applications.outcome." + detail.recommendation),
            who=detail.recommended_by, note=detail.recommendation_note,
        ))
    if detail.decided:
        parts.append(t(
            "applications.decided_line", state=t("applications.state." + detail.state), who=detail.decided_by,
            note=detail.decision_note,
        ))
        if detail.platform_code:
            parts.append(t("applications.created_platform", code=detail.platform_code))
        if detail.provider_id:
            parts.append(t("applications.created_provider", id=detail.provider_id))
    if detail.reject_reason:
        parts.append(t("applications.reject_reason_line", reason=t("applications.reason." + detail.reject_reason)))
    return "\n".join(parts)


# The history's columns: when (YYYY-MM-DD HH:MM), who (longer user names are cut), and what, as
# wide as the longest event's name (an earlier application's "#123 " before it may be cut); None:
# the details take what is left.
HISTORY_WHEN, HISTORY_WHO = 16, 12


def history_widths() -> tuple[int, int, int, None]:
    names = [text for key, text in catalog(current_language()).items() if key.startswith("history.application.")]
    return HISTORY_WHEN, HISTORY_WHO, max(map(cell_len, names)), None


def history_row(event, current_id: int) -> list[str]:
    """One audit event as the history panel shows it."""
    changes = event.changes
    details = changes.get("details") or {}
    after = changes.get("after") or {}
    label = event_label(event.action)
    if event.action == "application.criterion_set":
        summary = f"{details.get('criterion')}: {verdict_label(after.get('verdict'))}"
        if details.get("override"):
            summary += " " + t("applications.override")
        if after.get("note"):
            summary += f" — {after['note']}"
    elif event.action in ("application.recommended", "application.decided"):
        summary = t("applications.outcome." + str(details.get("outcome") or details.get("recommendation")))
        if event.reason:
            summary += f" — {event.reason}"
    else:
        summary = event.reason
    where = "" if event.entity_id == str(current_id) else f"#{event.entity_id} "
    return [event.at.strftime("%Y-%m-%d %H:%M"), event.operator_name, where + label, summary]
