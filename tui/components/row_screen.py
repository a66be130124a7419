"""Enter on a result row: the whole row, one column per line with its type, values in full
(ClickHouse's text of each, wrapped; vectors as `[512 x Float32]`, their numbers are in an export)."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from .. import chtext


def row_text(columns: list[str], types: list[str] | None, row) -> Text:
    """Each column as a `name  type` line, then its full value indented below it (it wraps, long
    words fold)."""
    out = Text()
    for name, type_name, value in zip(columns, types or [""] * len(columns), row):
        out.append(name, style="bold cyan")
        if type_name:
            out.append(f"  {type_name}", style="dim")
        out.append("\n")
        out.append_text(chtext.value_display(value, type_name, max_len=1_000_000))
        out.append("\n\n")
    out.rstrip()
    return out


class RowScreen(ModalScreen[None]):
    """A dialog over the app showing result row `index` (0-based) of `total`: `columns` and their
    ClickHouse `types` (None: unknown), each value in full (`row_text`). Escape, Enter or q close it."""

    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close")]

    def __init__(self, columns: list[str], types: list[str] | None, row, index: int, total: int) -> None:
        super().__init__(id="row-screen")
        self.columns, self.types, self.row = columns, types, row
        self.index, self.total = index, total

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="row-box", classes="dialog"):
            yield Static(f"[b]row {self.index + 1} of {self.total}[/b]  (escape closes)\n")
            yield Static(row_text(self.columns, self.types, self.row), id="row-body")

    def on_mount(self) -> None:
        self.query_one("#row-box").focus()

    def action_dismiss(self) -> None:
        self.dismiss(None)
