"""A participant's screen: identity, card, status and balance, enrollments with progress,
blacklist and exclusion hits, selection rejections, history; and the actions on them."""

from __future__ import annotations

import datetime as dt

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen

from screens.participants import assign_one
from screens.participants_forms import Field, FormScreen, parse_date, parse_int, unless_cancelled
from store.services import enrollments, participant_file, registry
from store.services.enrollments import EnrollmentView
from store.services.participant_file import ParticipantFile
from tui.gating import PermissionGate
from tui.i18n import event_label, t
from tui.money import rupiah
from tui.widgets.clipboard import copy_reference
from tui.widgets.fitting import FittedTable
from tui.widgets.footer import TranslatedFooter
from tui.widgets.plain import DataTable, Label, Static
from tui.widgets.status_bar import StatusBar
from tui.workers import ServiceCaller, job

ACTIVE = ("assigned", "in_progress")


def _reason(reason: str) -> str:
    """The sweep records reasons as codes ("no_purchase"); people type theirs in words."""
    key = f"participants.reason.{reason}"
    text = t(key)
    return reason if text == key else text


class ParticipantScreen(PermissionGate, ServiceCaller, Screen[bool]):
    DEFAULT_CSS = """
    ParticipantScreen VerticalScroll { padding: 0 1; }
    ParticipantScreen .section { text-style: bold; color: $accent; margin-top: 1; }
    ParticipantScreen #participant-enrollments { height: auto; max-height: 10; }
    ParticipantScreen #participant-history { height: auto; max-height: 14; }
    """
    BINDINGS = [
        Binding("escape", "back", "participants.key.back", id="mitra.participant.back"),
        Binding("v", "reveal", "participants.key.reveal", id="mitra.participant.reveal"),
        Binding("a", "assign", "participants.key.assign", id="mitra.participant.assign"),
        Binding("p", "progress", "participants.key.progress", id="mitra.participant.progress"),
        Binding("c", "complete", "participants.key.complete", id="mitra.participant.complete"),
        Binding("x", "cancel_enrollment", "participants.key.cancel_enrollment", id="mitra.participant.cancel"),
        Binding("f", "clear_flag", "participants.key.clear_flag", id="mitra.participant.clear_flag"),
        Binding("l", "lift", "participants.key.lift", id="mitra.participant.lift"),
        Binding("r", "refresh", "keys.refresh", id="mitra.participant.refresh"),
        Binding("y", "copy_reference", "keys.copy_reference", show=False, id="mitra.participant.copy"),
    ]
    ACTION_PERMISSIONS = {
        "reveal": "participant.reveal_contact", "assign": "enrollment.assign", "progress": "enrollment.progress",
        "complete": "enrollment.progress", "cancel_enrollment": "enrollment.assign",
        "clear_flag": "enrollment.clear_flag", "lift": "blacklist.lift",
    }

    def __init__(self, participant_id: int) -> None:
        super().__init__()
        self.participant_id = participant_id
        self.file: ParticipantFile | None = None
        self.file_shown = False
        self.changed = False

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with VerticalScroll():
            yield Label("", id="participant-title")
            yield Static("", id="participant-identity")
            yield Label(t("participants.section.enrollments"), classes="section", id="section-enrollments")
            # At 80 columns a long course title is cut before the price and the completion date.
            yield FittedTable(id="participant-enrollments", cursor_type="row", gives_way="course",
                              whole_through="completed_on")
            yield Label(t("participants.section.checks"), classes="section", id="section-checks")
            yield Static("", id="participant-checks")
            yield Label(t("participants.section.history"), classes="section", id="section-history")
            yield DataTable(id="participant-history", cursor_type="row")
        yield TranslatedFooter()

    def on_mount(self) -> None:
        self.relabel()
        self.query_one("#participant-enrollments", DataTable).focus()

    def relabel(self) -> None:
        table = self.query_one("#participant-enrollments", DataTable)
        table.clear(columns=True)
        for key in ("course", "platform", "status", "progress", "price", "completed_on", "certificate", "flag"):
            table.add_column(t(f"participants.col.{key}"), key=key)
        history = self.query_one("#participant-history", DataTable)
        history.clear(columns=True)
        for key in ("at", "operator", "action", "reason"):
            history.add_column(t(f"participants.col.{key}"), key=key)
        for section in ("enrollments", "checks", "history"):
            self.query_one(f"#section-{section}", Label).update(t(f"participants.section.{section}"))
        self.refresh_file()

    def refresh_file(self) -> None:
        self.call(participant_file.get_participant, self.participant_id, then=self.show)

    # --- drawing ---------------------------------------------------------------------------

    def show(self, file: ParticipantFile) -> None:
        self.file = file
        self.query_one("#participant-title", Label).update(f"{file.full_name}  ({t(f'participant.status.{file.status}')})")
        self.query_one("#participant-identity", Static).update(t(
            "participants.identity", nik=file.nik, birth_date=file.birth_date.isoformat(), sex=t(f"participant.sex.{file.sex}"),
            province=file.province_code, phone=file.phone or "-", email=file.email or "-",
            family_card=file.family_card or "-", wave=file.wave_number or "-", card=file.card_number or "-",
            balance=rupiah(file.balance_idr),
        ) + (f"\n{t('participants.revoked', at=file.revoked_at.date().isoformat(), reason=_reason(file.revoke_reason))}"
             if file.revoked_at else ""))
        table = self.query_one("#participant-enrollments", FittedTable)
        # Keep the highlighted course; the first time, highlight the one in progress, if any.
        cursor = table.cursor_row if self.file_shown else next(
            (n for n, e in enumerate(file.enrollments) if e.status in ACTIVE), 0
        )
        self.file_shown = True
        table.clear()
        for e in file.enrollments:
            flag = ""
            if e.flagged_fast:
                flag = t("participants.flag.cleared") if e.flag_cleared_at else t("participants.flag.too_fast")
            table.add_row(
                e.course_title, e.platform_name, t(f"enrollment.status.{e.status}"), f"{e.progress_pct}%",
                rupiah(e.price_idr), e.completed_on.isoformat() if e.completed_on else "", e.certificate_number, flag,
                key=str(e.id),
            )
        table.fit()
        if file.enrollments:
            table.move_cursor(row=min(max(cursor, 0), len(file.enrollments) - 1))
        self.query_one("#participant-checks", Static).update(self._checks(file))
        history = self.query_one("#participant-history", DataTable)
        history.clear()
        for event in file.history:
            history.add_row(event.at.strftime("%Y-%m-%d %H:%M"), event.operator_name, event_label(event.action),
                            event.reason[:50],
                            key=str(event.id))

    @staticmethod
    def _checks(file: ParticipantFile) -> str:
        lines = []
        for entry in file.blacklist:
            state = (t("participants.blacklist.lifted", decision=entry.lift_decision_ref) if not entry.standing
                     else t("participants.blacklist.standing"))
            lines.append(t("participants.blacklist.line", id=entry.id, on=entry.listed_on.isoformat(),
                           source=entry.source, reason=_reason(entry.reason), state=state))
        for hit in file.exclusions:
            lines.append(t("participants.exclusion.line", kind=t(f"selection.reason.{hit.kind}"), source=hit.source,
                           dated=hit.dated.isoformat(), detail=hit.detail))
        for rejection in file.rejections:
            lines.append(t("participants.rejection.line", wave=rejection.wave_number,
                           reason=t(f"selection.reason.{rejection.reason}")))
        return "\n".join(lines) or t("participants.checks.none")

    def current_enrollment(self) -> EnrollmentView | None:
        if self.file is None or not self.file.enrollments:
            return None
        table = self.query_one("#participant-enrollments", DataTable)
        return self.file.enrollments[min(table.cursor_row, len(self.file.enrollments) - 1)]

    def active_enrollment(self) -> EnrollmentView | None:
        """The highlighted course if it takes reports (assigned or in progress); else says so."""
        enrollment = self.current_enrollment()
        if enrollment is None or enrollment.status not in ACTIVE:
            self.app.notify(t("participants.no_active_enrollment"), severity="warning")
            return None
        return enrollment

    def _done(self, _result=None) -> None:
        self.changed = True
        self.refresh_file()

    # --- actions ---------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss(self.changed)

    def action_copy_reference(self) -> None:
        copy_reference(self.app, self.file.card_number if self.file else None)

    def action_refresh(self) -> None:
        self.refresh_file()

    def action_reveal(self) -> None:
        from screens.participants_reveal import RevealPrompt, revealable_fields

        if self.file is not None:
            self.app.push_screen(
                RevealPrompt(self.participant_id, self.file.full_name, revealable_fields(self.operator)),
                lambda _closed: self._done(),  # the reveal is in the history now
            )

    def action_assign(self) -> None:
        if self.file is not None:
            assign_one(self, self.file.id, self.file.full_name, self.file.balance_idr, then=self._done,
                       expected_version=self.file.version)

    def action_progress(self) -> None:
        enrollment = self.active_enrollment()
        if enrollment is None:
            return

        self.app.push_screen(FormScreen(
            t("participants.progress.title", title=enrollment.course_title),
            [Field("progress_pct", "field.progress_pct", str(enrollment.progress_pct))],
            run=lambda values: job(enrollments.record_progress, enrollment.id,
                                   parse_int(values["progress_pct"], "progress_pct"), expected_version=enrollment.version),
        ), unless_cancelled(self._done))

    def action_complete(self) -> None:
        enrollment = self.active_enrollment()
        if enrollment is None:
            return

        self.app.push_screen(FormScreen(
            t("participants.complete.title", title=enrollment.course_title),
            [Field("completed_on", "field.completed_on", dt.date.today().isoformat()),
             Field("certificate_number", "field.certificate_number"),
             Field("review_given", "participants.complete.review", "no", checkbox=True)],
            run=lambda values: job(
                enrollments.complete, enrollment.id, parse_date(values["completed_on"], "completed_on"),
                values["certificate_number"], review_given=values["review_given"], expected_version=enrollment.version,
            ),
        ), unless_cancelled(self._completed))

    def _completed(self, view: EnrollmentView) -> None:
        if view.flagged_fast:
            self.app.notify(t("participants.complete.flagged", hours=view.course_hours), severity="warning", timeout=10)
        self._done()

    def _ask_reason(self, title: str, service, enrollment: EnrollmentView) -> None:
        self.app.push_screen(FormScreen(
            title, [Field("reason", "field.reason")],
            run=lambda values: job(service, enrollment.id, values["reason"], expected_version=enrollment.version),
        ), unless_cancelled(self._done))

    def action_cancel_enrollment(self) -> None:
        enrollment = self.current_enrollment()
        if enrollment is not None:
            self._ask_reason(t("participants.cancel.title", title=enrollment.course_title,
                               price=rupiah(enrollment.price_idr)), enrollments.cancel, enrollment)

    def action_clear_flag(self) -> None:
        enrollment = self.current_enrollment()
        if enrollment is not None:
            self._ask_reason(t("participants.clear_flag.title", title=enrollment.course_title),
                             enrollments.clear_flag, enrollment)

    def action_lift(self) -> None:
        standing = [entry for entry in (self.file.blacklist if self.file else ()) if entry.standing]
        if not standing:
            self.app.notify(t("participants.blacklist.nothing_standing"), severity="warning")
            return
        entry = standing[0]

        self.app.push_screen(FormScreen(
            t("participants.lift.title", id=entry.id, reason=entry.reason),
            [Field("decision_ref", "field.decision_ref"), Field("reason", "field.reason")],
            run=lambda values: job(registry.lift_blacklist, entry.id, values["reason"], values["decision_ref"],
                                   expected_version=entry.version),
        ), unless_cancelled(self._done))
