"""The status bar: connection, model state, busy indicator and the last outcome."""
from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import LoadingIndicator, Static


class StatusBar(Horizontal):
    """The status line: `message` │ `model` │ `connection` (reactive texts) and a busy indicator
    while `busy`."""

    connection = reactive("", init=False)
    model = reactive("model: not loaded", init=False)
    message = reactive("ready", init=False)
    busy = reactive(False, init=False)

    def compose(self) -> ComposeResult:
        yield Static("", id="status-text")
        yield LoadingIndicator(id="busy")

    def on_mount(self) -> None:
        self.query_one("#busy").display = False
        self._refresh_text()

    def watch_connection(self) -> None:
        self._refresh_text()

    def watch_model(self) -> None:
        self._refresh_text()

    def watch_message(self) -> None:
        self._refresh_text()

    def watch_busy(self, busy: bool) -> None:
        self.query_one("#busy").display = busy

    def _refresh_text(self) -> None:
        parts = [p for p in (self.message, self.model, self.connection) if p]
        self.query_one("#status-text", Static).update(" │ ".join(escape(p) for p in parts))
