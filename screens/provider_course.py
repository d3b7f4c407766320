"""A course: its details and listings, and what may be done with it (submit, approve, reject,
withdraw, list on a platform, delist). Opened from a provider's courses."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen

from screens.console import loaded
from screens.provider_forms import FormField, FormScreen, job
from screens.provider_text import label, percent, plain, yes_no
from store.errors import InvalidInput
from store.models import CourseMode, CourseState, ListingStatus, ProviderState
from store.services import courses, providers
from store.services.courses import CourseFile
from tui.i18n import t
from tui.money import in_words, rupiah
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.footer import TranslatedFooter
from tui.widgets.plain import DataTable, Label, Static
from tui.workers import ServiceCaller


def course_form(provider_id: int, provider_name: str) -> FormScreen:
    """The form for a new course (a draft) of the provider."""
    modes = [(label("mode", mode), mode.value) for mode in CourseMode]

    def create(values):
        async def run(db, actor):
            fields = courses.course_fields(values)  # refusals name the field, shown beside it
            return await courses.create_course(db, actor, provider_id, fields)

        return run

    return FormScreen(
        t("providers.course_form.title", provider=provider_name),
        [
            FormField("title", "field.title"),
            FormField("category", "field.category"),
            FormField("mode", "field.mode", "select", CourseMode.WEBINAR.value, modes),
            FormField("hours", "field.hours"),
            FormField("price", "field.price", placeholder="providers.placeholder.rupiah"),
            FormField("outside_price", "field.outside_price", placeholder="providers.placeholder.outside_price"),
            FormField("free_elsewhere", "field.free_elsewhere", "check", False),
            FormField("interactive", "field.interactive", "check", True),
        ],
        create,
    )


class CourseScreen(ServiceCaller, ModalScreen[bool]):
    """Dismisses with True when something changed (the provider's screen then reloads)."""

    DEFAULT_CSS = """
    CourseScreen { align: center middle; }
    CourseScreen > Vertical {
        width: 100; height: auto; max-height: 90%; border: thick $accent; background: $surface; padding: 0 2;
    }
    CourseScreen #course-title { text-style: bold; margin: 1 0 0 0; }
    CourseScreen #course-body { margin: 1 0; }
    CourseScreen DataTable { height: auto; max-height: 12; margin-bottom: 1; }
    """
    BINDINGS = [
        Binding("escape", "close", "providers.key.back", id="mitra.course.close"),
        Binding("s", "submit", "providers.key.submit_course", id="mitra.course.submit"),
        Binding("a", "approve", "providers.key.approve_course", id="mitra.course.approve"),
        Binding("x", "reject", "providers.key.reject_course", id="mitra.course.reject"),
        Binding("w", "withdraw", "providers.key.withdraw", id="mitra.course.withdraw"),
        Binding("l", "list", "providers.key.list", id="mitra.course.list"),
        Binding("d", "delist", "providers.key.delist", id="mitra.course.delist"),
    ]

    def __init__(self, course_id: int) -> None:
        super().__init__()
        self.course_id = course_id
        self.file: CourseFile | None = None
        self.changed = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("", id="course-title")
            yield Static("", id="course-body")
            yield DataTable(id="course-listings", cursor_type="row")
        yield TranslatedFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key in ("platform", "commission", "status", "reason"):
            table.add_column(t(f"providers.col.{key}"), key=key)
        self.reload()

    def reload(self) -> None:
        self.call(courses.get_course, self.course_id, then=self.show)

    def show(self, file: CourseFile) -> None:
        self.file = file
        course = file.course
        self.query_one("#course-title", Label).update(
            Text(f"{course.title} · {label('course_state', course.state)}")
        )
        outside = t("providers.free_elsewhere") if course.free_elsewhere else (
            rupiah(course.outside_price_idr) if course.outside_price_idr is not None else "-"
        )
        body = t(
            "providers.course.body", provider=file.provider_name, category=course.category,
            mode=label("mode", course.mode), hours=course.hours, price=rupiah(course.price_idr), outside=outside,
            interactive=yes_no(course.interactive),
        )
        if course.state_reason:
            body += "\n" + t("providers.header.reason", reason=course.state_reason)
        self.query_one("#course-body", Static).update(Text(body))
        table = self.query_one(DataTable)
        table.clear()
        for listing in file.listings:
            table.add_row(
                listing.platform_name, percent(listing.commission_bp), label("listing_status", listing.status),
                plain(listing.status_reason), key=str(listing.id),
            )
        self.refresh_bindings()

    # --- availability ----------------------------------------------------------------------

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "close":
            return True
        actor = self.app.actor
        if self.file is None or actor is None:  # nothing is offered before the course is loaded
            return False
        state = self.file.course.state
        provider_open = self.file.provider_state in courses.OPEN_PROVIDER_STATES
        rules = {
            "submit": ("course.edit", state == CourseState.DRAFT and provider_open),
            "approve": ("course.decide", self.file.may_decide and state == CourseState.SUBMITTED),
            "reject": ("course.decide", self.file.may_decide and state == CourseState.SUBMITTED),
            "withdraw": ("course.edit", state == CourseState.APPROVED),
            "list": (
                "listing.create",
                state == CourseState.APPROVED and self.file.provider_state == ProviderState.APPROVED,
            ),
            "delist": ("listing.create", any(x.status == ListingStatus.LISTED for x in self.file.listings)),
        }
        permission, allowed = rules.get(action, ("course.read", True))
        # Hidden when the role or the course's state does not allow it: the footer shows what can be done.
        return actor.can(permission) and allowed

    # --- actions ----------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss(self.changed)

    def _done(self, _result=None) -> None:
        self.changed = True
        self.reload()

    def _confirmed(self, title_key: str, body_key: str, service, **kwargs) -> None:
        course = loaded(self.file).course
        title = course.title

        def answered(yes: bool | None) -> None:
            if yes:
                self.call(service, self.course_id, expected_version=course.version, then=self._done, **kwargs)

        self.app.push_screen(ConfirmScreen(t(title_key), Text(t(body_key, title=title))), answered)

    def _with_reason(self, title_key: str, body_key: str, service) -> None:
        course = loaded(self.file).course
        title = course.title
        version = course.version

        def confirm(values):
            if not values["reason"].strip():
                raise InvalidInput("input.required", field="reason")
            return t(title_key), t(body_key, title=title) + "\n\n" + t("providers.confirm.reason", reason=values["reason"])

        form = FormScreen(
            t(title_key), [FormField("reason", "field.reason")],
            lambda values: job(service, self.course_id, values["reason"], expected_version=version),
            intro=t(body_key, title=title), confirm=confirm,
        )
        self.app.push_screen(form, lambda result: self._done() if result else None)

    def action_submit(self) -> None:
        self._confirmed("providers.key.submit_course", "providers.confirm.submit_course", courses.submit_course)

    def action_approve(self) -> None:
        self._confirmed("providers.key.approve_course", "providers.confirm.approve_course", courses.approve_course)

    def action_reject(self) -> None:
        self._with_reason("providers.key.reject_course", "providers.confirm.reject_course", courses.reject_course)

    def action_withdraw(self) -> None:
        self._with_reason("providers.key.withdraw", "providers.confirm.withdraw", courses.withdraw_course)

    def action_delist(self) -> None:
        table = self.query_one(DataTable)
        listings = loaded(self.file).listings
        listing = next((x for x in listings if str(x.id) == self._cursor_key(table)), None)
        if listing is None or listing.status != ListingStatus.LISTED:
            listing = next(x for x in listings if x.status == ListingStatus.LISTED)

        def confirm(values):
            if not values["reason"].strip():
                raise InvalidInput("input.required", field="reason")
            body = t("providers.confirm.delist", title=listing.course_title, platform=listing.platform_name)
            return t("providers.key.delist"), body + "\n\n" + t("providers.confirm.reason", reason=values["reason"])

        form = FormScreen(
            t("providers.key.delist"), [FormField("reason", "field.reason")],
            lambda values: job(courses.delist, listing.id, values["reason"], expected_version=listing.version),
            intro=t("providers.confirm.delist", title=listing.course_title, platform=listing.platform_name),
            confirm=confirm,
        )
        self.app.push_screen(form, lambda result: self._done() if result else None)

    @staticmethod
    def _cursor_key(table: DataTable) -> str | None:
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def action_list(self) -> None:
        self.call(providers.platform_choices, then=self._listing_form)

    def _listing_form(self, platforms: list[providers.Choice]) -> None:
        course = loaded(self.file).course
        names = {choice.id: choice.name for choice in platforms}

        def confirm(values):
            bp = courses.commission_bp(values["commission"])
            body = t(
                "providers.confirm.list", title=course.title, platform=names[values["platform"]],
                commission=percent(bp), price=rupiah(course.price_idr), words=in_words(course.price_idr),
            )
            return t("providers.key.list"), body

        form = FormScreen(
            t("providers.listing_form.title", title=course.title),
            [
                FormField("platform", "providers.col.platform", "select", platforms[0].id if platforms else None,
                          [(choice.name, choice.id) for choice in platforms]),
                FormField("commission", "field.commission", placeholder="providers.placeholder.commission"),
            ],
            lambda values: job(courses.list_course, self.course_id, values["platform"], values["commission"]),
            intro=t("providers.listing_form.intro"), confirm=confirm,
        )
        self.app.push_screen(form, lambda result: self._done() if result else None)
