"""A search box that keeps the keyboard: results follow what is typed (debounced), Enter searches
at once, Down goes to the results. Focus stays in the box after a search, so letters typed next
(a surname, a course title) never reach a list's single-key actions."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input


class SearchInput(Input):
    BINDINGS = [Binding("down", "to_results", show=False)]
    DEBOUNCE_S = 0.3

    class Search(Message):
        """The search to run now (typing paused, or Enter)."""

        def __init__(self, search_input: SearchInput, value: str) -> None:
            super().__init__()
            self.search_input = search_input
            self.value = value

        @property
        def control(self) -> SearchInput:
            return self.search_input

    def __init__(self, *, results: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self._results = results  # the id of the list the search fills
        self._timer: Timer | None = None
        self._searched: str | None = ""  # None: the next search runs whatever the text

    def _request(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.value != self._searched:
            self._searched = self.value
            self.post_message(self.Search(self, self.value))

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input is not self:
            return
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(self.DEBOUNCE_S, self._request)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input is not self:
            return
        event.stop()
        self._searched = None  # Enter always searches, even the same text again
        self._request()

    def action_to_results(self) -> None:
        self.screen.query_one(f"#{self._results}").focus()
