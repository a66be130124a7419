"""F3: the query history, searchable. Enter puts the chosen query in the editor."""
from __future__ import annotations

import datetime as dt

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option


class HistoryScreen(ModalScreen[str | None]):
    """The modal history screen: type to filter, enter picks an entry; dismissed with the chosen
    SQL, or None on escape."""

    BINDINGS = [Binding("escape", "dismiss_none", "Close"),
                Binding("down", "focus_list", "List", show=False)]

    def __init__(self, history) -> None:
        super().__init__()
        self.history = history
        self.entries = []

    def compose(self) -> ComposeResult:
        with Vertical(id="history-box", classes="dialog"):
            yield Static("[b]History[/b]  type to filter, enter: use the query, escape: close")
            yield Input(placeholder="filter (words)", id="history-filter")
            yield OptionList(id="history-list")

    def on_mount(self) -> None:
        self.refilter("")
        self.query_one(Input).focus()

    def refilter(self, text: str) -> None:
        """List the history entries containing every word of `text` (case-insensitive), newest
        first, with time, outcome, duration and rows."""
        self.entries = self.history.search(text)
        ol = self.query_one(OptionList)
        ol.clear_options()
        for i, e in enumerate(self.entries):
            when = dt.datetime.fromtimestamp(e.ts).strftime("%Y-%m-%d %H:%M")
            mark = ("[yellow]cancelled[/yellow]" if e.cancelled else
                    "[green]ok[/green]" if e.ok else "[red]failed[/red]")
            rows = "" if e.rows is None else f", {e.rows} rows"
            one = " ".join(e.sql.split())
            ol.add_option(Option(f"[dim]{when}[/dim] {mark} [dim]{e.duration:.2f}s{rows}[/dim]\n{escape(one[:300])}",
                                 id=str(i)))
        if self.entries:
            ol.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        self.refilter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.entries:
            idx = self.query_one(OptionList).highlighted or 0
            self.dismiss(self.entries[idx].sql)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.entries[int(event.option.id)].sql)

    def action_focus_list(self) -> None:
        self.query_one(OptionList).focus()

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
