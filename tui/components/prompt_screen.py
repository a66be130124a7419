"""A one-line prompt (export path, the text for "more like this"), and a yes/no question."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class PromptScreen(ModalScreen[str | None]):
    """A modal one-line prompt under `title` (start `value`, `placeholder`): dismissed with the text
    on enter, or None on escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title_text = title
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog prompt-box"):
            yield Static(self.title_text, id="prompt-title")
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input")
            yield Static("[dim]enter: ok, escape: cancel[/dim]")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A modal yes/no question: `text` (Rich markup), dismissed with True on `y`, False on `n`
    or escape. For actions that change a database, so that one stray key cannot run them."""

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, text: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog prompt-box"):
            yield Static(self.text, id="confirm-text")
            yield Static("[dim]y: yes, n or escape: no[/dim]")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
