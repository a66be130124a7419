"""The status bar: the last outcome, model state, connection and a busy indicator on one line;
above it, while the last result has one, a line with its lint (all of them in the details pane, F8)."""
from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import LoadingIndicator, Static


class StatusBar(Vertical):
    """The status area: the lints of the last statement on a line of their own (hidden when
    there are none) above the status line: `message` │ `model` │ `connection` (reactive texts)
    and a busy indicator while `busy`."""

    connection = reactive("", init=False)
    model = reactive("model: not loaded", init=False)
    message = reactive("ready", init=False)
    lint = reactive("", init=False)  # the last result's lint, one line ("" hides the line)

    busy = reactive(False, init=False)

    def compose(self) -> ComposeResult:
        yield Static("", id="lint-line")
        with Horizontal(id="status-line"):
            yield Static("", id="status-text")
            yield LoadingIndicator(id="busy")

    def on_mount(self) -> None:
        self.query_one("#busy").display = False
        self.query_one("#lint-line").display = False
        self._refresh_text()

    def watch_connection(self) -> None:
        self._refresh_text()

    def watch_model(self) -> None:
        self._refresh_text()

    def watch_message(self) -> None:
        self._refresh_text()

    def watch_lint(self, lint: str) -> None:
        line = self.query_one("#lint-line", Static)
        line.update(f"[b]lint[/b] (F8: details): {escape(lint)}" if lint else "")
        line.display = bool(lint)

    def watch_busy(self, busy: bool) -> None:
        self.query_one("#busy").display = busy

    def _refresh_text(self) -> None:
        parts = [p for p in (self.message, self.model, self.connection) if p]
        self.query_one("#status-text", Static).update(" │ ".join(escape(p) for p in parts))
