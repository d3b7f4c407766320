"""The Providers area: the providers list with state, platform and province filters and a search
by name or NIB; the inventory form, the curation queue, the price-outlier report and the
curation scheme start here. Platform staff see their own platform's providers only."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input

from screens.curation_scheme import SchemeScreen
from screens.price_outliers import PriceOutliersScreen
from screens.provider_forms import FormField, FormScreen
from screens.provider_screen import ProviderScreen
from screens.provider_text import label, plain
from store.models import LegalForm, ProviderState
from store.provinces import PROVINCES
from store.services import curation, providers
from tui import list_count
from tui.area import Area
from tui.i18n import t
from tui.widgets.paged_table import PagedTable
from tui.widgets.plain import DataTable, Select, Static
from tui.widgets.sort_order import SortChoice

COLUMNS = ("name", "nib", "state", "province", "platforms", "offline")


def _row(row: providers.ProviderRow) -> tuple[str, list]:
    return str(row.id), [
        plain(row.name), row.nib, label("state", row.state), PROVINCES.get(row.province_code, row.province_code),
        row.platforms, t("providers.yes") if row.offers_offline else "",
    ]


class ProvidersArea(SortChoice, Area):
    AREA_ID = "providers"
    TITLE = "area.providers"
    READ_PERMISSION = "provider.read"
    SORTS = tuple(providers.PROVIDER_ORDERS)
    SORT_TEXT = "providers.sort."
    ACTION_PERMISSIONS = {"inventory": "provider.inventory", "queue": "provider.curate"}
    DEFAULT_CSS = """
    ProvidersArea #provider-filters { height: 3; }
    ProvidersArea #provider-filters Select { width: 26; }
    ProvidersArea #provider-filters Input { width: 1fr; }
    ProvidersArea #provider-status { height: 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("slash", "search", "keys.filter", id="mitra.providers.search"),
        Binding("enter", "open", "keys.open", id="mitra.providers.open"),
        Binding("n", "inventory", "providers.key.inventory", id="mitra.providers.inventory"),
        Binding("q", "queue", "providers.key.queue", id="mitra.providers.queue"),
        Binding("o", "next_sort", "keys.sort", id="mitra.providers.sort"),
        Binding("p", "outliers", "providers.key.outliers", id="mitra.providers.outliers"),
        Binding("s", "scheme", "providers.key.scheme", id="mitra.providers.scheme"),
        Binding("r", "refresh", "keys.refresh", id="mitra.providers.refresh_list"),
        Binding("escape", "clear_filter", "keys.clear_filter", show=False, id="mitra.providers.clear"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._platforms: list[providers.Choice] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="provider-filters"):
            yield Select([], id="filter-state", prompt="")
            yield Select([], id="filter-platform", prompt="")
            yield Select([], id="filter-province", prompt="")
            yield Input(id="filter-search")
        yield Static("", id="provider-status")
        yield PagedTable([(key, f"providers.list.col.{key}") for key in COLUMNS], _row, id="provider-list",
                         # At 80 columns name, NIB and state stay readable; a long name is cut first.
                         reference=lambda row: row.nib, gives_way="name", whole_through="state")

    def on_mount(self) -> None:
        self._fill_filters()

    def _fill_filters(self) -> None:
        """(Re)write the filter choices in the current language, keeping what is chosen."""
        state = self.query_one("#filter-state", Select)
        state.prompt = t("providers.filter.any_state")
        state.set_options([(label("state", s), s.value) for s in ProviderState])
        province = self.query_one("#filter-province", Select)
        province.prompt = t("providers.filter.any_province")
        province.set_options([(f"{name} ({code})", code) for code, name in sorted(PROVINCES.items(), key=lambda i: i[1])])
        platform = self.query_one("#filter-platform", Select)
        platform.prompt = t("providers.filter.any_platform")
        platform.set_options([(choice.name, choice.id) for choice in self._platforms])
        self.query_one("#filter-search", Input).placeholder = t("providers.filter.search")

    def relabel(self) -> None:
        self._fill_filters()
        self.query_one(PagedTable).relabel()
        self.reload()

    def activate(self) -> None:
        platform = self.query_one("#filter-platform", Select)
        platform.display = not self.operator.is_platform_staff
        if not self._platforms:
            self.call(providers.platform_choices, then=self._got_platforms)
        self.reload()

    def _got_platforms(self, choices: list[providers.Choice]) -> None:
        self._platforms = choices
        self.query_one("#filter-platform", Select).set_options([(choice.name, choice.id) for choice in choices])

    # --- the list ---------------------------------------------------------------------------

    def _filters(self) -> providers.ProviderFilter:
        def chosen(selector: str):
            value = self.query_one(selector, Select).value
            return None if value == Select.NULL else value

        return providers.ProviderFilter(
            state=chosen("#filter-state") or "", platform_id=chosen("#filter-platform"),
            province=chosen("#filter-province") or "", search=self.query_one("#filter-search", Input).value,
            sort=self.sort,
        )

    def reload(self) -> None:
        filters = self._filters()
        list_count.cancel_count(self, "providers")

        async def fetch(db, actor, cursor, limit):
            return await providers.list_providers(db, actor, filters, cursor, limit)

        self.query_one(PagedTable).load(fetch)

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.reload()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.reload()
        self.query_one(PagedTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.reload()  # each key narrows the list (a keyset page: cheap)

    def on_paged_table_loaded(self, message: PagedTable.Loaded) -> None:
        status = self.query_one("#provider-status", Static)
        list_count.show_loaded(self, message, status, "providers", providers.count_providers, self._filters(),
                               order=self.sort_text())

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    # --- actions ----------------------------------------------------------------------------

    def focus_default(self) -> None:
        self.query_one(PagedTable).focus()  # the list, not a filter: single-letter keys work at once

    def action_search(self) -> None:
        self.query_one("#filter-search", Input).focus()

    def action_clear_filter(self) -> None:
        for selector in ("#filter-state", "#filter-platform", "#filter-province"):
            self.query_one(selector, Select).clear()
        self.query_one("#filter-search", Input).value = ""
        self.reload()
        self.query_one(PagedTable).focus()

    def action_refresh(self) -> None:
        self.reload()

    def action_open(self) -> None:
        row = self.query_one(PagedTable).selected_row()
        if row is not None:
            self.app.push_screen(ProviderScreen(row.id), lambda _: self.reload())

    QUEUE_STATES = {"providers_submitted": "submitted", "providers_in_curation": "in_curation",
                    "own_providers_inventoried": "inventoried", "own_providers_rejected": "rejected"}

    def show_queue(self, key: str) -> None:
        if key in self.QUEUE_STATES:
            self.query_one("#filter-state", Select).value = self.QUEUE_STATES[key]  # reloads
        elif key == "courses_submitted":
            self.action_queue()

    def action_queue(self) -> None:
        self.call(curation.curation_queue, then=self._open_queue)

    def _open_queue(self, queue: list[curation.QueueEntry]) -> None:
        if not queue:
            self.app.notify(t("providers.queue.empty"))
            return
        ids = [entry.provider_id for entry in queue]
        self.app.push_screen(ProviderScreen(ids[0], ids), lambda _: self.reload())

    def action_outliers(self) -> None:
        self.app.push_screen(PriceOutliersScreen())

    def action_scheme(self) -> None:
        self.app.push_screen(SchemeScreen())

    def action_inventory(self) -> None:
        self.call(providers.group_choices, then=self._inventory_form)

    def _inventory_form(self, groups: list[providers.Choice]) -> None:
        actor = self.operator
        fields = [
            FormField("name", "field.name"),
            FormField("legal_form", "field.legal_form", "select", LegalForm.PT.value,
                      [(label("legal_form", form), form.value) for form in LegalForm]),
            FormField("nib", "field.nib", placeholder="providers.placeholder.nib"),
            FormField("npwp", "field.npwp"),
            FormField("province", "field.province", "select", "31",
                      [(f"{name} ({code})", code) for code, name in sorted(PROVINCES.items(), key=lambda i: i[1])]),
            FormField("address", "field.address"),
            FormField("online", "field.online", "check", True),
            FormField("offline", "field.offline", "check", False),
            FormField("founded_on", "field.founded_on", placeholder="providers.placeholder.date"),
            FormField("contact_name", "field.contact_name"),
            FormField("contact_email", "field.contact_email"),
            FormField("contact_phone", "field.contact_phone"),
        ]
        if not actor.is_platform_staff:
            fields.append(FormField("platforms", "field.platforms", placeholder="providers.placeholder.platforms"))
        fields.append(FormField("ownership_group", "field.ownership_group", "select", "",
                                [("-", "")] + [(group.name, group.code) for group in groups]))

        def inventory(values):
            async def run(db, actor):
                return await providers.inventory_provider(
                    db, actor, providers.provider_fields(values),
                    platform_codes=values.get("platforms", "").replace(",", " ").split(),
                    ownership_group=values["ownership_group"] or None,
                )

            return run

        intro = t("providers.inventory_form.intro_platform", platform=actor.platform_code) if actor.is_platform_staff \
            else t("providers.inventory_form.intro_office")
        self.app.push_screen(
            FormScreen(t("providers.inventory_form.title"), fields, inventory, intro=intro), self._inventoried
        )

    def _inventoried(self, row: providers.ProviderRow | None) -> None:
        if row is None:
            return
        self.app.notify(t("providers.done.inventoried", name=row.name))
        self.reload()
        self.app.push_screen(ProviderScreen(row.id), lambda _: self.reload())
