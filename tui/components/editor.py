"""The SQL editor: Textual's TextArea with SQL highlighting (when tree-sitter-sql is installed), the
statement under the cursor, and name completion from the catalog.

Keys as a terminal sends them: ctrl+space arrives as NUL, which Textual reports as `ctrl+@` (both
complete); `tab` after a word completes it, elsewhere it moves the focus. `ctrl+a` selects all
(TextArea's own select_all, as in Harlequin's editor); `home` keeps line start. These keys are
handled in the editor's own key handler, in order with the typing around them: a binding runs
only after the key has bubbled to the app, and the characters typed right after it (a fast typist,
a paste, tmux send-keys) would be inserted first."""
from __future__ import annotations

import re

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList, TextArea
from textual.widgets.option_list import Option

EMBED_SNIPPETS = ["EMBED('')", "cosineDistance(", "L2Distance(", "distance("]
_WORD_BEFORE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*$")


def sql_highlighting_available() -> bool:
    """True when Textual's tree-sitter support and its SQL grammar are installed (the editor then
    highlights SQL)."""
    try:
        from textual._tree_sitter import TREE_SITTER, get_language
    except ImportError:
        return False
    return bool(TREE_SITTER) and get_language("sql") is not None


def name_insertion(before: str, after: str, name: str) -> str:
    """`name` with the separators it needs between `before` (the line up to the cursor) and
    `after` (the line after it): a space after a word, a number, a closing bracket or quote, or a
    comma (`LIMIT 5` + `photo_id` gives `LIMIT 5 photo_id`); none after `(`, `.` or a space; a
    space before a word that follows. No separator is a comma: which one the SQL needs is the
    writer's choice."""
    prev = before[-1:] if before else ""
    nxt = after[:1]
    head = " " if prev and not prev.isspace() and prev not in "(.[" else ""
    tail = " " if nxt and (nxt.isalnum() or nxt in "_`\"'") else ""
    return head + name + tail


class CompletionList(OptionList):
    """The dropdown shown under the cursor; the editor keeps the focus and drives it."""

    can_focus = False


class SqlEditor(TextArea):
    """The SQL editor: a TextArea with line numbers, optional SQL highlighting (`syntax`), the
    statement under the cursor, and completion of `completions` (catalog names, set by the app)
    plus EMBED snippets."""

    # TextArea binds "home,ctrl+a" to line start; ctrl+a selects all here (home keeps line start).
    # _on_key runs these before any binding could (see the module doc); listed for the key panel.
    BINDINGS = [
        Binding("home", "cursor_line_start", "Cursor line start", show=False),
        Binding("ctrl+a", "select_all", "Select all", show=False),
        Binding("ctrl+space,ctrl+@", "complete", "Complete", show=False),
    ]
    _NOW = {"ctrl+a": "select_all", "ctrl+space": "complete", "ctrl+@": "complete"}

    class RunRequested(Message):
        def __init__(self, sql: str, whole: bool) -> None:
            super().__init__()
            self.sql = sql
            self.whole = whole

    def __init__(self, text: str = "", *, syntax: bool = True, **kw) -> None:
        language = "sql" if syntax and sql_highlighting_available() else None
        super().__init__(text, language=language, soft_wrap=True, show_line_numbers=True,
                         tab_behavior="focus", **kw)
        self.completions: list[str] = ["EMBED"]
        self._popup: CompletionList | None = None
        self._prefix = ""

    def on_mount(self) -> None:
        # Headless (tests, screenshots, benchmarks): no blinking cursor. A blink phase is timing,
        # and TextArea's line cache keys the cursor on the blink phase, so a blink switched off
        # later can leave a stale cursor-less line on screen (a flaky snapshot).
        if self.app.is_headless:
            self.cursor_blink = False

    # -- statements ---------------------------------------------------------------------------
    def cursor_offset(self) -> int:
        """The cursor's position as a character offset into `text`."""
        row, col = self.cursor_location
        lines = self.text.split("\n")
        return sum(len(ln) + 1 for ln in lines[:row]) + col

    def statement_at_cursor(self) -> str:
        """The statement the cursor is in (or the nearest one before it); the whole text when the
        splitter rejects it (the server will then report the error with its position)."""
        span = self.statement_span_at_cursor()
        if span is None:
            return self.text.strip()
        return self.text[span[0]:span[1]]

    def statement_span_at_cursor(self) -> tuple[int, int] | None:
        """(start, end) offsets in `text` of the statement the cursor is in (or the nearest one
        before it; the first when the cursor is before all): (0, 0) for a text with no statement,
        None when the splitter rejects the text."""
        text = self.text
        try:
            from sqlext.text.split import split_statements

            stmts = split_statements(text)
        except Exception:
            return None
        if not stmts:
            return (0, 0)
        off = self.cursor_offset()
        chosen = stmts[0]
        for st in stmts:
            if st.start <= off:
                chosen = st
            if st.start <= off <= st.start + len(st.text):
                break
        return (chosen.start, chosen.start + len(chosen.text))

    def insert_name(self, name: str) -> None:
        """Insert `name` (from the catalog) at the cursor, replacing a selection, with the
        separators the text around it needs (see `name_insertion`)."""
        start, end = sorted(self.selection)
        before = self.document.get_line(start[0])[:start[1]]
        after = self.document.get_line(end[0])[end[1]:]
        self.replace(name_insertion(before, after, name), start, end)

    # -- completion -----------------------------------------------------------------------------
    @property
    def completing(self) -> bool:
        """True while the completion list is shown."""
        return self._popup is not None and self._popup.display

    def word_before_cursor(self) -> str:
        """The name (letters, digits, '_', '.') just before the cursor on its line; '' when none."""
        row, col = self.cursor_location
        line = self.document.get_line(row)[:col]
        m = _WORD_BEFORE.search(line)
        return m.group(0) if m else ""

    def candidates(self, prefix: str) -> list[str]:
        """Completions for `prefix`, at most 50: names starting with it (case-insensitive; for
        'db.t' also names starting with the part after the dot) ranked prefix matches first, then
        shorter, then alphabetical."""
        low = prefix.lower()
        bare = low.rpartition(".")[2]
        seen, out = set(), []
        pool = list(self.completions) + EMBED_SNIPPETS
        for name in pool:
            n = name.lower()
            if (not low or n.startswith(low) or n.startswith(bare) and "." in low) and name not in seen:
                seen.add(name)
                out.append(name)
        out.sort(key=lambda s: (not s.lower().startswith(low), len(s), s.lower()))
        return out[:50]

    def open_completion(self, popup: CompletionList) -> bool:
        """Fill `popup` with the candidates for the word before the cursor. Returns False when
        there is nothing to offer; inserts the only candidate directly."""
        self._popup = popup
        self._prefix = self.word_before_cursor()
        cands = self.candidates(self._prefix)
        if not cands:
            self.close_completion()
            self.app.bell()
            return False
        if len(cands) == 1 and self._prefix:
            self.accept_completion(cands[0])
            return False
        popup.clear_options()
        popup.add_options([Option(c, id=c) for c in cands])
        popup.highlighted = 0
        x, y = self.cursor_screen_offset
        popup.styles.offset = (max(0, x - len(self._prefix)), y + 1)
        popup.display = True
        return True

    def close_completion(self) -> None:
        """Hide the completion list (nothing when none is shown)."""
        if self._popup is not None:
            self._popup.display = False

    def accept_completion(self, name: str) -> None:
        """Replace the word before the cursor with `name`; for a snippet ending in ('') the cursor
        goes between the quotes."""
        prefix = self._prefix
        bare = prefix.rpartition(".")[2]
        replace_len = len(prefix) if name.lower().startswith(prefix.lower()) else len(bare)
        row, col = self.cursor_location
        self.replace(name, (row, col - replace_len), (row, col))
        if name.endswith("('')"):
            r, c = self.cursor_location
            self.cursor_location = (r, c - 2)
        self.close_completion()

    async def _on_key(self, event: events.Key) -> None:
        if self.completing:
            popup = self._popup
            if event.key in ("up", "down"):
                event.stop()
                event.prevent_default()
                if event.key == "up":
                    popup.action_cursor_up()
                else:
                    popup.action_cursor_down()
                return
            if event.key in ("enter", "tab"):
                event.stop()
                event.prevent_default()
                idx = popup.highlighted
                if idx is not None:
                    self.accept_completion(popup.get_option_at_index(idx).prompt)
                return
            if event.key == "escape":
                event.stop()
                event.prevent_default()
                self.close_completion()
                return
            self.close_completion()
        action = self._NOW.get(event.key)
        if action is None and event.key == "tab" and self.tab_completes():
            action = "complete"
        if action is not None:
            event.stop()
            event.prevent_default()
            self.select_all() if action == "select_all" else self.action_complete()
            return
        await super()._on_key(event)

    def action_complete(self) -> None:
        """Open the completion list for the word before the cursor (the list is the app's)."""
        found = self.app.query(CompletionList)
        if found:
            self.open_completion(found.first())

    def tab_completes(self) -> bool:
        """Whether `tab` completes here: right after a name, with nothing selected (elsewhere tab
        moves the focus, as the editor does not indent)."""
        return self.selection.is_empty and bool(self.word_before_cursor())
