"""F4: migrations (status, plan, apply). Placeholder until the runner lands."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class MigrationsScreen(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, session) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        with Vertical(id="migrations-box", classes="dialog"):
            yield Static("Migrations", id="migrations-title")

    def action_close(self) -> None:
        self.dismiss(False)
