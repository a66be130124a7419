"""F1 / ?: every key binding of the app."""
from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = [
    ("Editor", [
        ("F5, ctrl+r", "run the statement under the cursor"),
        ("F9, ctrl+b", "run the whole buffer (every statement)"),
        ("ctrl+space, tab", "complete a table, column or function name (EMBED included): tab after a word, "
                            "ctrl+space anywhere; up/down, enter/tab, escape"),
        ("ctrl+a", "select all (home: start of the line)"),
        ("tab / shift+tab", "elsewhere: move the focus between editor, results, catalog"),
    ]),
    ("Results", [
        ("up/down", "select a row: its image shows in the preview"),
        ("enter", "the whole row, every value in full"),
        ("m", "more like this: the editor's statement again, by the selected row's image"),
        ("M (shift+m)", "more like this, combined with a text you type"),
        ("e, ctrl+s", "export the result to CSV, JSON, JSON lines or Parquet"),
        ("g, F7", "gallery of the top results' images"),
    ]),
    ("Views", [
        ("", "each key focuses its view; the focused widget has an accent bar on its left"),
        ("F6", "results"), ("F7", "gallery"), ("F8", "query details (SQL sent, timings, lints)"),
        ("F2", "catalog sidebar: focus (it widens) and refresh; enter inserts a name, space folds"),
        ("ctrl+t", "hide or show the catalog sidebar (F2 also shows it; under 110 columns ctrl+t keeps it shown)"),
        ("alt+left, alt+right", "sidebar narrower / wider (4 columns a press; kept for the session, "
                                "and the editor keeps at least 40 columns)"),
        ("[ ], - + =", "the same in the catalog (F2), for terminals whose alt+arrows do not reach the app"),
        ("F3", "history (type to filter, enter puts the query in the editor)"),
        ("F4", "migrations: status, plan, apply"),
    ]),
    ("App", [
        ("escape, ctrl+c", "cancel the running query (outside the editor; in the editor ctrl+c copies); "
                           "on the embedded engine it finishes in the background and the next one waits for it; "
                           "one still waiting for another process to let go of the database stops at once, "
                           "having run nothing"),
        ("F1, ?", "this help"),
        ("ctrl+q", "quit (the editor text is kept for next time)"),
    ]),
]


def help_table() -> Table:
    """The key bindings as a Rich table, by section (the text of the help screen)."""
    t = Table(show_header=False, box=None, padding=(0, 2))
    t.add_column(style="bold cyan", no_wrap=True)
    t.add_column()
    for section, rows in KEYS:
        t.add_row(f"[b u]{section}[/b u]", "")
        for k, what in rows:
            t.add_row(k, what)
        t.add_row("", "")
    return t


class HelpScreen(ModalScreen[None]):
    """The modal key bindings screen (F1 or ?); escape, q, F1 or ? closes it."""

    BINDINGS = [Binding("escape,q,f1,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="dialog"):
            yield Static("[b]embedsql: key bindings[/b]  (escape closes)\n")
            yield Static(help_table())

    def action_dismiss(self) -> None:
        self.dismiss(None)
