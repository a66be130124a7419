"""The embedsql terminal app (Textual).

Layout (Harlequin's model: one widget per module under components/, styles in app.tcss, widgets
talk to the app by messages): catalog sidebar | SQL editor over results / gallery / details tabs,
with the image preview beside the result grid; a status bar and the footer below.

Everything slow runs in thread workers: warming the CLIP model, reading the catalog, running
statements (EMBED included), fetching thumbnails, exporting. This module imports only Textual and
the app's own widgets, so the first screen paints before torch, transformers, sqlglot or
clickhouse-connect are loaded.
"""
from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from pathlib import Path

from rich.markup import escape
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.containers import Horizontal, Vertical
from textual.lazy import Lazy
from textual.message import Message
from textual.widgets import Footer, Static

from embed.errors import UserFacingError

from .components.editor import CompletionList, SqlEditor
from .components.status import StatusBar
from .errors import error_text

# The other widgets are imported when they are mounted, just after the first paint (see Sidebar,
# WorkTabs): the first screen needs only the editor, the status bar and the footer.

DEFAULT_BUFFER = """-- EMBED('a text' | 'image URL' | 'path') turns its input into a CLIP vector.
-- F5 runs the statement under the cursor, F1 lists every key. For example:
-- SELECT photo_id, photo_image_url,
--        cosineDistance(photo_embed, EMBED('a red bicycle')) AS distance
-- FROM photos ORDER BY distance LIMIT 5;
SELECT 1;
"""
GALLERY_SIZE = 10


def embed_call(ref: str, text: str | None = None) -> str:
    """`EMBED('<ref>'[, '<text>'])` as SQL text for the editor."""
    from sqlext.text.ddl import string_literal

    args = [string_literal(ref)]
    if text and text.strip():
        args.append(string_literal(text.strip()))
    return f"EMBED({', '.join(args)})"


def more_like_this_sql(sql: str, ref: str, text: str | None = None, *, result=None,
                       catalog=None, limit: int = 10) -> str:
    """The query for "more like this image": the last query with each EMBED(...) replaced by
    EMBED('<ref>'[, '<text>']); without EMBED in it, a fresh nearest-neighbour query over the same
    table and its vector column. Raises ValueError when neither is possible."""
    new = embed_call(ref, text)
    from sqlext.text.rewrite import find_embeds

    calls = find_embeds(sql) if sql else []
    if calls:
        out = sql
        for c in sorted(calls, key=lambda c: c.start, reverse=True):
            out = out[:c.start] + new + out[c.end:]
        return out
    table = _first_table(sql)
    if not table:
        raise ValueError("more like this: the last query names no table to search")
    vec = None
    if catalog is not None:
        cols = catalog.vector_columns(table)
        vec = cols[0].name if cols else None
    if vec is None and result is not None:
        for c, t in zip(result.columns, result.types or []):
            if t.replace(" ", "") == "Array(Float32)":
                vec = c
                break
    if vec is None:
        raise ValueError(f"more like this: no vector column (Array(Float32)) found in {table}")
    keep = []
    if result is not None:
        for c, t in zip(result.columns, result.types or [""] * len(result.columns)):
            if c != vec and not t.startswith("Array(Float") and c.lower() != "distance" and re.fullmatch(r"\w+", c):
                keep.append(c)
    select = ", ".join(keep + [f"cosineDistance({vec}, {new}) AS distance"])
    return f"SELECT {select}\nFROM {table}\nORDER BY distance ASC\nLIMIT {limit}"


def _first_table(sql: str) -> str | None:
    """The first table the statement names after FROM / JOIN (read from its tokens)."""
    try:
        from sqlext.errors import EmbedSQLError
        from sqlext.text.kinds import table_refs
        from sqlext.text.tokens import tokenize

        refs = table_refs(tokenize(sql or ""))
    except EmbedSQLError:
        return None
    return refs[0].name if refs else None


class _WaitCut(Exception):
    """Raised in a query worker whose wait for the app's own cancelled statements escape ended
    (nothing was run)."""


class FormatClauseRefused(UserFacingError):
    """A statement with its own FORMAT clause, which the grid cannot show."""

    def __init__(self, message: str, line: int | None = None, col: int | None = None):
        super().__init__(message)
        self.line, self.col = line, col


def read_statements(sql: str, at: tuple[int, int] | None = None):
    """(the statements of `sql`, each lexed once: they are run as they are; the refusal for a
    statement with its own FORMAT clause, or None). The grid shows rows: the server's bytes in
    another format are for `embedsql query`. Text that cannot be read gives (None, None): running
    it reports why. `at`: the 1-based (line, column) where `sql` starts in the editor's text (F5's
    statement): the statements' positions, and so those of their errors, are then the editor's."""
    try:
        from dataclasses import replace

        from sqlext.errors import EmbedSQLError
        from sqlext.text.split import split_statements

        statements = split_statements(sql)
        if at is not None and at != (1, 1):
            base = _position_from(at)
            statements = [replace(st, line=base(st.line, st.col)[0], col=base(st.line, st.col)[1])
                          for st in statements]
        kinds = [st.kind for st in statements]
    except EmbedSQLError:
        return None, None
    for n, (st, kind) in enumerate(zip(statements, kinds), 1):
        if kind.format is not None:
            start = st.start + kind.format_at[0]
            line = sql.count("\n", 0, start) + 1
            col = start - sql.rfind("\n", 0, start)
            if at is not None:
                line, col = _position_from(at)(line, col)
            which = f"statement {n}" if len(statements) > 1 else "this statement"
            return statements, FormatClauseRefused(
                f"{which} has its own FORMAT {kind.format} clause (line {line}, column {col}): the "
                f"results grid shows rows, not the server's {kind.format} output. Remove the FORMAT "
                f"clause to see the rows here, or run the statement with `embedsql query` to get "
                f"its {kind.format} output as the server sends it.", line, col)
    return statements, None


def end_statement(text: str) -> str:
    """`text` without trailing whitespace, its last statement ended with a `;` so that more text
    can follow it: none added when it ends with one already or holds nothing after its last
    `;` but comments; on a line of its own when the text ends in a line comment (`--`, `#`),
    where a `;` would be part of the comment. Read with the project's lexer (`sqlext.text`)."""
    head = text.rstrip()
    if not head:
        return head
    try:
        from sqlext.errors import EmbedSQLError
        from sqlext.text.split import split_statements
        from sqlext.text.tokens import scan

        sc = scan(head)
        statements = split_statements(head)
    except EmbedSQLError:  # an unterminated string or comment: a `;` cannot end it anyway
        return head if head.endswith(";") else head + ";"
    if not statements or (sc.semicolons and sc.semicolons[-1] >= statements[-1].end):
        return head
    last = sc.comments[-1] if sc.comments else None
    in_line_comment = last is not None and last[1] >= len(head) and not head.startswith("/*", last[0])
    return head + ("\n;" if in_line_comment else ";")


def _position_from(at: tuple[int, int]):
    """(line, column) in a text that starts at `at` (1-based line, column) of the editor's text ->
    the same place in the editor's text (`sqlext.text.split.Statement.position`)."""
    from sqlext.text.split import Statement

    return Statement("", 0, at[0], at[1]).position


# the catalog sidebar's width set from the keyboard (alt+left / alt+right anywhere, `[` / `]` in
# the catalog), in columns
SIDEBAR_STEP = 4  # columns per key press
SIDEBAR_MIN = 16  # a table name and its type still read
SIDEBAR_DEFAULT = 30  # the width in app.tcss
WORK_MIN = 40  # columns always left to the editor and the grid


def sidebar_bounds(screen_width: int) -> tuple[int, int]:
    """The (narrowest, widest) sidebar, in columns, on a terminal `screen_width` columns wide:
    never under SIDEBAR_MIN, never leaving the editor and grid under WORK_MIN columns nor over 60 %
    of the screen (80 columns: 16..40; 120: 16..72; 300: 16..180)."""
    widest = min(screen_width - WORK_MIN, screen_width * 6 // 10)
    return SIDEBAR_MIN, max(SIDEBAR_MIN, widest)


class Sidebar(Vertical):
    """Holds the catalog tree (imported when mounted). It widens while the catalog has the focus
    (app.tcss); on narrow screens it shows only then (class -open, set by F2). ctrl+t hides it
    (class -hidden) or shows it on any screen (class -pinned); a width set with alt+left / alt+right
    (anywhere) or `[` / `]` (`-` / `+`) while the catalog has the focus is an inline style that wins
    over the stylesheet's widths until the app exits.

    `[` `]` `-` `+` `=` are single plain bytes that every terminal sends alike, unlike alt+arrows
    (macOS Terminal and some tmux set-ups send other bytes); they act only while the focus is in
    the sidebar, so typing them in the SQL editor still types them."""

    _WIDTH = Binding.Group("Width")  # the footer shows "[ ] Width" while the catalog has the focus
    BINDINGS = [
        Binding("left_square_bracket,minus", "app.resize_sidebar(-1)", "Narrower", key_display="[",
                group=_WIDTH),
        Binding("right_square_bracket,plus,equals_sign", "app.resize_sidebar(1)", "Wider",
                key_display="]", group=_WIDTH),
    ]

    def compose(self) -> ComposeResult:
        from .components.catalog import CatalogTree

        yield CatalogTree(id="catalog")

    def on_descendant_blur(self, _event) -> None:
        self.remove_class("-open")


class WorkTabs(Vertical):
    """Results (grid + image preview), gallery and query details tabs (imported when mounted)."""

    def compose(self) -> ComposeResult:
        from textual.widgets import TabbedContent, TabPane

        from .components.details import QueryDetails
        from .components.gallery import Gallery
        from .components.preview import ImagePreview
        from .components.results import ResultsTable

        with TabbedContent(id="tabs", initial="results-tab"):
            with TabPane("Results", id="results-tab"):
                with Horizontal(id="results-pane"):
                    yield ResultsTable(id="results")
                    yield ImagePreview(id="preview")
            with TabPane("Gallery", id="gallery-tab"):
                yield Gallery(id="gallery")
            with TabPane("Details", id="details-tab"):
                yield QueryDetails(id="details")

    def on_mount(self) -> None:
        from textual.widgets import Tabs

        # the tab bar takes no focus (F6/F7/F8 switch views): shift+tab from the editor lands on
        # a widget that has keys, not on a bar that swallows typing
        for tabs in self.query(Tabs):
            tabs.can_focus = False


class LockWait(Message):
    """Posted (from the waiting thread: `post_message` is thread-safe and does not block it) when
    a unit of work of this app has waited `LOCK_WAIT_NOTICE_S` for the embedded database held by
    another process. `text`: `lock_wait_message` (who holds it, how long the wait lasts);
    `thread`: the ident of the waiting thread (the query worker's, or background work's)."""

    def __init__(self, text: str, thread: int):
        super().__init__()
        self.text, self.thread = text, thread


class LockWaitOver(Message):
    """Posted (from the waiting thread) when a wait that `LockWait` announced ends: the engine is
    this app's now, or the wait failed. `thread`: the ident of the thread that waited."""

    def __init__(self, thread: int):
        super().__init__()
        self.thread = thread


class EmbedSQLApp(App[int]):
    """The terminal UI: a SQL editor, the catalog sidebar, result tabs (table, image preview,
    gallery, details) and a status bar. `session` (or `session_factory`, called on first use) is
    the sqlext Session it runs on; `initial_sql` fills the editor (default: the text saved in
    `buffer_path` when the app last ran); `syntax` turns on SQL highlighting; `warm_model` loads
    the model in the background at start; `label` is the connection shown in the status bar;
    `history` and `thumbs` replace the History and ThumbCache it would make. Queries run in
    worker threads; an error is shown, never raised. Exits with an int code."""

    CSS_PATH = Path(__file__).parent / "app.tcss"  # absolute: subclasses elsewhere keep it
    TITLE = "embedsql"
    BINDINGS = [
        Binding("f5,ctrl+r", "run_statement", "Run", priority=True),
        Binding("f9,ctrl+b", "run_all", "Run all", priority=True),
        Binding("escape,ctrl+c", "cancel", "Cancel", show=False),
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("f2", "catalog", "Catalog"),
        Binding("ctrl+t", "toggle_sidebar", "Sidebar"),
        Binding("alt+left", "resize_sidebar(-1)", "Sidebar narrower", show=False),
        Binding("alt+right", "resize_sidebar(1)", "Sidebar wider", show=False),
        Binding("f3", "history", "History"),
        Binding("f4", "migrations", "Migrations"),
        Binding("f6", "tab('results-tab')", "Results", show=False, priority=True),
        Binding("f7", "tab('gallery-tab')", "Gallery", show=False, priority=True),
        Binding("f8", "tab('details-tab')", "Details", show=False, priority=True),
        Binding("ctrl+s", "export", "Export", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    # narrow terminals (80 columns) give the grid the width: the sidebar shows on F2, the image
    # preview on the gallery (F7); short ones (24 lines) give it the height
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]

    def __init__(self, session=None, *, session_factory=None, initial_sql: str | None = None,
                 syntax: bool = True, warm_model: bool = True, label: str | None = None,
                 buffer_path: Path | None = None, history=None, thumbs=None, initial_result=None):
        """`initial_result`: a result of `initial_sql` already run (the demo's), shown in the grid
        at start."""
        super().__init__()
        self._session = session
        self._session_factory = session_factory
        self._syntax = syntax
        self._warm = warm_model
        self._label = label
        if buffer_path is None:
            from sqlext.db.paths import data_dir

            buffer_path = data_dir() / "buffer.sql"
        self.buffer_path = Path(buffer_path)
        # where the saved editor text went when `initial_sql` took its place (None: nowhere)
        self.previous_buffer: Path | None = None
        self.previous_buffer_error: str | None = None
        if initial_sql is not None:
            self._keep_previous_buffer(initial_sql)
        self._initial = initial_sql if initial_sql is not None else self._load_buffer()
        self._history = history
        self._thumbs = thumbs
        self.result = None
        self.last_sql = ""
        self.catalog_data = None  # components.catalog.CatalogData once read
        self.sidebar_width: int | None = None  # columns, once set with alt+left / alt+right or [ / ]
        self.image_col: int | None = None
        self._seq = 0
        self._active: tuple[int, str] | None = None
        self._cancelled: set[int] = set()
        # queries whose wait for another process's lock escape cut: they raise without running
        # anything, and their outcome is not shown (the status line said so at once)
        self._cut_waits: set[int] = set()
        self._query_worker = None
        self.model_state = "not loaded"
        self.last_error: str | None = None
        self.first_paint: float | None = None
        self._initial_result = initial_result
        # the embedded engine's lock-wait hook: whether the app has put its own in place, and the
        # one it replaced while it runs (restored on unmount; None when there was none), and the
        # query worker's thread (ident, seq) whose wait the status line shows
        self._lock_hook_installed = False
        self._saved_lock_hook = None
        self._query_thread: tuple[int, int] | None = None
        self.lock_notice: str | None = None  # the running query's lock wait, shown in the status line
        self._editor_widget: SqlEditor | None = None  # set at mount (see save_buffer)
        self._save_timer = None  # the pending save after typing (on_text_area_changed)
        self._saved_text: str | None = None  # what buffer_path holds, as this app last wrote it
        self.buffer_save_error: str | None = None  # why the editor text could not be saved, if so
        # each query's end (set by its worker once the session call returns): a statement run
        # after a cancel waits for the cancelled ones' (the embedded engine runs one at a time);
        # the seq whose worker waits so (escape ends that wait), guarded by _wait_lock
        self._ended: dict[int, threading.Event] = {}
        self._waiting_seq: int | None = None
        self._wait_lock = threading.Lock()

    # -- parts --------------------------------------------------------------------------------
    @property
    def session(self):
        """The sqlext Session, made by `session_factory` on first use (its errors propagate to the
        caller, a worker that shows them)."""
        if self._session is None:
            self._session = self._session_factory()
        return self._session

    @property
    def history(self):
        """The query History (made on first use, scrubbing the session's secrets)."""
        if self._history is None:
            from .history import History

            self._history = History(secrets=tuple(getattr(self.session, "secrets", ())))
        return self._history

    @property
    def thumbs(self):
        """The ThumbCache for previews and the gallery (made on first use)."""
        if self._thumbs is None:
            from .thumbs import ThumbCache

            self._thumbs = ThumbCache()
        return self._thumbs

    def _keep_previous_buffer(self, initial_sql: str) -> None:
        """The app opens with `initial_sql` (the demo's query, `embedsql tui --sql`) and will save
        the editor over `buffer_path`: first copy the text saved there, unless it is empty, the
        default text or `initial_sql` itself, to `buffer-<YYYYmmdd-HHMMSS>.sql` beside it
        (`previous_buffer`; the start says where). A copy that fails is said too
        (`previous_buffer_error`), and the buffer is then not saved over."""
        try:
            if not self.buffer_path.is_file():
                return  # nothing saved (or no place to save: save_buffer says so)
            text = self.buffer_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.previous_buffer_error = f"cannot read the saved editor text {self.buffer_path}: {exc}"
            return
        if not text.strip() or text.strip() in (DEFAULT_BUFFER.strip(), initial_sql.strip()):
            return
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for n in range(100):
            path = self.buffer_path.with_name(f"buffer-{stamp}{f'-{n}' if n else ''}.sql")
            try:
                with open(path, "x", encoding="utf-8") as f:
                    f.write(text)
                self.previous_buffer = path
                return
            except FileExistsError:
                continue
            except OSError as exc:
                self.previous_buffer_error = (f"cannot keep the saved editor text in {path}: "
                                              f"{exc.strerror or exc}")
                return
        self.previous_buffer_error = (f"cannot keep the saved editor text: buffer-{stamp}.sql and "
                                      f"99 more names beside {self.buffer_path} already exist")

    def _load_buffer(self) -> str:
        try:
            text = self.buffer_path.read_text(encoding="utf-8")
            return text if text.strip() else DEFAULT_BUFFER
        except (OSError, UnicodeDecodeError):
            return DEFAULT_BUFFER

    def save_buffer(self, *, at_exit: bool = False) -> bool:
        """Write the editor's text to `buffer_path` (the next start opens with it); False when it
        could not be written. A failure is a warning notification, or, `at_exit` (the screen is
        going away), a message printed once the terminal is restored; `buffer_save_error` keeps it.
        Reads the editor through the reference kept at mount: at unmount the widgets are no longer
        in the DOM (query_one would fail)."""
        editor = self._editor_widget
        if self.previous_buffer_error is not None:  # the text there was not copied: keep it
            return False
        try:
            if editor is None:
                editor = self.editor
            text = editor.text
            self.buffer_path.parent.mkdir(parents=True, exist_ok=True)
            if self._saved_text == text and self.buffer_path.exists():
                return True
            self.buffer_path.write_text(text, encoding="utf-8")
            self._saved_text = text
            return True
        except Exception as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else error_text(exc)
            self.buffer_save_error = f"cannot save the editor text to {self.buffer_path}: {why}"
            if at_exit:
                self._exit_renderables.append(f"embedsql: {self.buffer_save_error}")
            else:
                self.notify(self.buffer_save_error, severity="warning")
            return False

    def on_text_area_changed(self, event) -> None:
        """The editor's text changed: save it a moment after typing stops (a crash or a killed
        terminal keeps it too; quitting saves it at once)."""
        if event.text_area is not self._editor_widget:
            return
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(2.0, self._save_quietly)

    def _save_quietly(self) -> None:
        self._save_timer = None
        self.save_buffer()

    async def action_quit(self) -> None:
        """ctrl+q: save the editor's text while the widgets exist, then exit."""
        self.save_buffer()
        self.exit()

    # -- layout ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield Lazy(Sidebar(id="sidebar"))
            with Vertical(id="work"):
                yield SqlEditor(self._initial, syntax=False, id="editor")
                yield Static("", id="error")
                # Mounted just after the first paint (textual.lazy): the editor shows at once.
                yield Lazy(WorkTabs(id="work-tabs"))
        yield CompletionList(id="completion")
        yield StatusBar(id="status")
        yield Footer()

    @property
    def editor(self) -> SqlEditor:
        """The SQL editor widget."""
        return self.query_one("#editor", SqlEditor)

    @property
    def table(self):
        """The results table widget (mounted just after the first paint; NoMatches before)."""
        return self.query_one("#results")

    @property
    def status(self) -> StatusBar:
        """The status bar widget."""
        return self.query_one("#status", StatusBar)

    def on_mount(self) -> None:
        self.query_one("#completion").display = False
        self.query_one("#error").display = False
        self.status.connection = self._label or self._describe()
        self._editor_widget = self.editor  # kept: save_buffer reads it at unmount
        self.editor.focus()
        self.editor.move_cursor(self.editor.document.end)
        if self.previous_buffer is not None:
            self.notify(f"your editor text from the last run is kept in {self.previous_buffer}",
                        title="editor", timeout=10)
        elif self.previous_buffer_error is not None:
            self.notify(f"{self.previous_buffer_error}: the editor text will not be saved this time",
                        title="editor", severity="warning", timeout=10)
        self.call_after_refresh(self._painted)

    def _painted(self) -> None:
        """After the first paint: start the background work (threads would compete for the GIL
        with the first paint) and switch on SQL highlighting (tree-sitter's query takes ~0.1 s)."""
        self._hook_lock_waits()  # before any background work can wait for the engine
        if self._warm:
            self.warm_model()
        self.refresh_catalog()
        if self._syntax:
            self.call_after_refresh(self._enable_highlighting)
        if self._initial_result is not None:
            result, self._initial_result = self._initial_result, None
            self._when_mounted(self._show_initial, result)

    def _show_initial(self, result) -> None:
        self.last_sql = self.editor.statement_at_cursor() or self._initial
        self.show_result(result, (result.stats.total_ms or 0.0) / 1000)
        self.status.message += " (already run; F5 runs it again)"

    def post_display_hook(self) -> None:
        """Called by Textual after each frame is flushed to the terminal: the first one is the
        first screen the user sees (benchmarks/bench_tui.py reads it)."""
        if self.first_paint is not None:
            return
        self.first_paint = time.time()
        mark = os.environ.get("EMBEDSQL_BENCH_FIRST_PAINT")
        if mark:
            with open(mark, "w") as f:
                f.write(repr(self.first_paint))
            if os.environ.get("EMBEDSQL_BENCH_EXIT"):
                self.call_later(self.exit, 0)

    def _enable_highlighting(self) -> None:
        from .components.editor import sql_highlighting_available

        if sql_highlighting_available():
            selection = self.editor.selection  # setting the language may reset the cursor
            self.editor.language = "sql"
            self.editor.selection = selection

    def _describe(self) -> str:
        try:
            return self.session.describe()
        except Exception as exc:
            return f"(connection: {error_text(exc)})"

    def on_unmount(self) -> None:
        self._unhook_lock_waits()
        if self._save_timer is not None:
            self._save_timer.stop()
        self.save_buffer(at_exit=True)  # (a failure is printed after the app's screen is gone)

    # -- waiting for the embedded database held by another process ---------------------------------
    def _hook_lock_waits(self) -> None:
        """Take over the embedded engine's lock-wait notice while the app runs (the CLI's prints on
        stderr, which belongs to the app's screen here); `_unhook_lock_waits` puts the previous
        hook back. (Imported after the first paint: the engine module loads sqlglot.)"""
        from sqlext.db.engine import EMBEDDED

        if not self._lock_hook_installed:
            self._saved_lock_hook = EMBEDDED.on_lock_wait
            EMBEDDED.on_lock_wait = self._lock_wait_hook
            self._lock_hook_installed = True

    def _unhook_lock_waits(self) -> None:
        if not self._lock_hook_installed:
            return
        from sqlext.db.engine import EMBEDDED

        if EMBEDDED.on_lock_wait == self._lock_wait_hook:  # (not if someone replaced ours since)
            EMBEDDED.on_lock_wait = self._saved_lock_hook
        self._lock_hook_installed = False
        self._saved_lock_hook = None

    def _lock_wait_hook(self, message: str, info):
        """`EMBEDDED.on_lock_wait` while the app runs: called in the waiting worker thread; what
        it returns the engine calls when that wait ends."""
        thread = threading.get_ident()
        self.post_message(LockWait(message, thread))
        return lambda: self.post_message(LockWaitOver(thread))

    @on(LockWait)
    def _show_lock_wait(self, msg: LockWait) -> None:
        """The running query waits for another process: say who holds the database in the status
        line (until the wait ends). Background work waiting (the catalog read, the migrations
        screen) gets a notification."""
        query = self._query_thread
        if self._active is not None and query == (msg.thread, self._active[0]):
            self.lock_notice = msg.text
            self.status.message = f"{msg.text}; the statement runs when it is free (escape cancels)"
        elif query is None or query[0] != msg.thread:  # (a cancelled query's wait says nothing)
            self.notify(msg.text, title="waiting", severity="warning")

    @on(LockWaitOver)
    def _end_lock_wait(self, msg: LockWaitOver) -> None:
        """The running query's wait is over: the status line says it runs (its outcome follows)."""
        query = self._query_thread
        if (self.lock_notice is not None and self._active is not None
                and query == (msg.thread, self._active[0])):
            self.lock_notice = None
            self.status.message = "running… (escape cancels)"

    # -- background: model and catalog -------------------------------------------------------------
    @work(thread=True, group="model", exclusive=True)
    def warm_model(self) -> None:
        """Load the embedding model in a worker thread, showing loading / ready / failed in the
        status bar; a failure is a notification, and EMBED queries say why later."""
        self._set_model("loading…")
        try:
            emb = self.session.embedder
            emb.load()
            label = f"model: {Path(str(emb.model_id)).name or emb.model_id}"
            self.model_state = "ready"
            self._later(self._model_ready, label)
        except Exception as exc:  # ModelLoadError or anything else: say it, keep going
            self.model_state = "failed"
            msg = error_text(exc)
            self._later(self._model_failed, msg)

    def _set_model(self, text: str) -> None:
        self.model_state = text
        self._later(lambda: setattr(self.status, "model", f"model: {text}"))

    def _model_ready(self, label: str) -> None:
        self.status.model = label

    def _model_failed(self, msg: str) -> None:
        self.status.model = "model: failed"
        self.notify(f"the CLIP model did not load: {msg}", title="model", severity="warning", timeout=10)

    @work(thread=True, group="catalog", exclusive=True)
    def refresh_catalog(self) -> None:
        """Read the catalog (databases, tables, columns, vector facts, functions) in a worker thread
        and load it into the sidebar and the editor's completions; a failure shows in the
        sidebar."""
        try:
            from .components.catalog import load_catalog

            data = load_catalog(self.session)
        except Exception as exc:
            msg = error_text(exc)
            self._later(self._catalog_failed, msg)
            return
        self._later(self._catalog_loaded, data)

    def _later(self, fn, *args, **kw) -> None:
        """Run fn on the UI thread, once the widgets mounted lazily just after the first paint
        (sidebar, result tabs) are all there; a no-op once the app is gone. (Retrying fn when it
        met a missing widget re-ran work it had half done: a preview marked 'loading' before the
        retry was never fetched.)"""

        try:
            self.call_from_thread(self._when_mounted, fn, *args, **kw)
        except RuntimeError:
            pass  # the app has exited

    def _when_mounted(self, fn, *args, **kw) -> None:
        """On the UI thread: run fn once the lazily mounted widgets are there (now if they are)."""
        if not self.is_running:
            return
        if self.query(Lazy):  # a lazy widget is still mounting (slow on a busy machine)
            self.set_timer(0.02, lambda: self._when_mounted(fn, *args, **kw))
            return
        fn(*args, **kw)

    def _catalog_loaded(self, data) -> None:
        tree = self.query_one("#catalog")  # mounted lazily: _later waits for it
        self.catalog_data = data
        tree.load(data)
        self.editor.completions = data.names() + ["EMBED"]

    def _catalog_failed(self, msg: str) -> None:
        self.query_one("#catalog").show_error(f"catalog unavailable: {msg}")

    def on_catalog_tree_insert_name(self, msg) -> None:
        self.editor.insert_name(msg.name)

    # -- running ------------------------------------------------------------------------------
    # Run keys are priority bindings: the app sees them before the editor has processed the keys
    # typed just before (they wait in the editor's queue). Queue the run behind them.
    def action_run_statement(self) -> None:
        self.editor.call_later(self._run_statement_now)

    def action_run_all(self) -> None:
        self.editor.call_later(self._run_all_now)

    def _run_statement_now(self) -> None:
        # (as editor.statement_at_cursor, and where the statement starts: errors name the
        # editor's lines, README "A position is given as line and column in the editor's text")
        text = self.editor.text
        span = self.editor.statement_span_at_cursor()
        at = None
        if span is None:
            sql = text.strip()
            if sql:
                start = text.find(sql)
                at = (text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start))
        else:
            sql = text[span[0]:span[1]]
            at = (text.count("\n", 0, span[0]) + 1, span[0] - text.rfind("\n", 0, span[0]))
        if not sql.strip():
            self.notify("nothing to run: the editor is empty", severity="warning")
            return
        self.start_query(sql, script=False, at=at)

    def _run_all_now(self) -> None:
        text = self.editor.text
        if not text.strip():
            self.notify("nothing to run: the editor is empty", severity="warning")
            return
        self.start_query(text, script=True)

    def start_query(self, sql: str, *, script: bool = False, at: tuple[int, int] | None = None) -> bool:
        """Run `sql` (one statement, or a whole script when `script`) in a worker thread; the editor
        text is saved first. `at`: the 1-based (line, column) where `sql` starts in the editor's
        text (errors then name the editor's lines). Returns False (with a notification) when a
        query is already running."""
        if self._active is not None:
            self.notify("a query is running; escape cancels it", severity="warning")
            return False
        self.editor.close_completion()
        self.save_buffer()
        self._seq += 1
        self._active = (self._seq, sql)
        self.status.busy = True
        self.status.lint = ""
        self._ended[self._seq] = threading.Event()
        after: list[threading.Event] = []
        if self._cancelled and getattr(self.session, "embedded", False):
            # the embedded engine runs one statement at a time: this one starts when the
            # cancelled ones end (they cannot be interrupted); the worker waits for them, as long
            # as they take (the engine's own wait would give up after EMBEDSQL_LOCK_TIMEOUT)
            after = [self._ended[s] for s in sorted(self._cancelled) if s in self._ended]
            self.status.message = ("waiting for the cancelled statement to finish on the embedded "
                                   "engine, then running yours… (escape cancels)")
        else:
            self.status.message = "running… (escape cancels)"
        self._query_worker = self._run_query(self._seq, sql, script, at, after)
        return True

    def statements_running(self) -> list[threading.Event]:
        """The end events of the statements whose worker threads are still running (the running
        one and cancelled ones still finishing: the embedded engine cannot interrupt them)."""
        return [e for e in list(self._ended.values()) if not e.is_set()]

    @property
    def queries_started(self) -> int:
        """How many queries this app has started (a sequence number; tests wait on it)."""
        return self._seq

    @property
    def running(self) -> bool:
        """True while a query is running."""
        return self._active is not None

    @property
    def cancelled_running(self) -> int:
        """How many cancelled statements are still running (on the embedded engine they finish in
        the background, and the next statement waits for them)."""
        return len(self._cancelled)

    @work(thread=True, group="query")
    def _run_query(self, seq: int, sql: str, script: bool, at: tuple[int, int] | None = None,
                   after: list[threading.Event] | None = None) -> None:
        """The query worker: runs `sql` once the cancelled statements `after` (their end events)
        have ended; escape while it waits for them ends the wait, nothing run."""
        self._query_thread = (threading.get_ident(), seq)
        t0 = time.perf_counter()
        result = error = None
        count = 1
        try:
            if after:
                self._wait_for_cancelled(seq, after)
                t0 = time.perf_counter()  # its duration is its own run's
            s = self.session
            # read here, off the UI thread (the lexer imports sqlglot): each statement is lexed
            # once and run as read; a FORMAT clause is refused before anything is sent
            statements, refusal = read_statements(sql, at)
            if refusal is not None:
                raise refusal
            if script:
                results = s.run_script(statements if statements is not None else sql)
                count = len(results)
                with_rows = [r for r in results if r.columns]
                result = with_rows[-1] if with_rows else (results[-1] if results else None)
            else:
                # the statement as read (lexed once); its positions are those of `sql`
                one = statements[0] if statements is not None and len(statements) == 1 else sql
                result = s.execute(one)
        except BaseException as exc:  # everything is shown, nothing crashes the app
            error = exc
        duration = time.perf_counter() - t0
        self._ended[seq].set()  # a statement waiting for this one (cancelled) may start
        cancelled = seq in self._cancelled or seq in self._cut_waits
        try:
            rows = len(result.rows) if result is not None and result.columns and not cancelled else None
            self.history.add(sql, duration=duration, rows=rows, ok=error is None and not cancelled,
                             cancelled=cancelled)
        except Exception:
            pass
        self._later(self._query_finished, seq, sql, result, error, duration, count, script, at)

    def _wait_for_cancelled(self, seq: int, after: list[threading.Event]) -> None:
        """In query `seq`'s worker: return when every event of `after` is set (the cancelled
        statements have ended); raise `_WaitCut` when escape cancelled `seq` meanwhile."""
        with self._wait_lock:
            self._waiting_seq = seq
        try:
            for ended in after:
                while not ended.wait(0.05):
                    if seq in self._cut_waits:
                        raise _WaitCut()
        finally:
            with self._wait_lock:
                self._waiting_seq = None
                if seq in self._cut_waits:  # (escape came as the wait ended: still nothing run)
                    raise _WaitCut()

    def _query_finished(self, seq, sql, result, error, duration, count, script, at=None) -> None:
        self._ended.pop(seq, None)
        if self._query_thread is not None and self._query_thread[1] == seq:
            self._query_thread = None
        if seq in self._cut_waits:
            self._cut_waits.discard(seq)
            from sqlext.errors import LockWaitInterrupted

            if not isinstance(error, (LockWaitInterrupted, _WaitCut)) and self._active is None:  # (cannot happen:
                # interrupt_wait said the wait would raise) never claim "nothing was run" then
                self.status.message = f"the cancelled statement finished after {duration:.2f}s; its result was discarded"
            return
        if seq in self._cancelled:
            self._cancelled.discard(seq)
            if self._active is None:
                self.status.message = f"the cancelled statement finished after {duration:.2f}s; its result was discarded"
            elif not self._cancelled:
                self.status.message = "the cancelled statement finished; running yours… (escape cancels)"
            return
        self._active = None
        self.status.busy = False
        self.lock_notice = None  # the status line now says how the statement ended
        self.last_sql = sql
        if error is not None:
            self.show_error(sql, error, at=at)
            return
        self.hide_error()
        self.show_result(result, duration, count=count, script=script)
        if result is not None and not result.columns or script:
            self.refresh_catalog()  # DDL may have changed the tables

    def action_cancel(self) -> None:
        if self.editor.completing:
            self.editor.close_completion()
            return
        if self._active is None:
            return
        seq, _sql = self._active
        self._active = None
        self.status.busy = False
        self.lock_notice = None
        if self._query_worker is not None:
            self._query_worker.cancel()
        cancel = getattr(self.session, "cancel", None)
        embedded = getattr(self.session, "embedded", False)
        cut = None  # the data directory, when the statement's wait for another process was cut
        query = self._query_thread
        waiting_here = False  # waiting for this app's own cancelled statements: end the wait
        with self._wait_lock:
            if self._waiting_seq == seq:
                self._cut_waits.add(seq)  # the worker raises _WaitCut within 0.05 s
                waiting_here = True
        if not waiting_here and embedded and query is not None and query[1] == seq:
            from sqlext.db.engine import EMBEDDED

            # still waiting for the engine another process holds: end the wait now (the worker
            # raises LockWaitInterrupted within 0.05 s, having run nothing)
            if EMBEDDED.interrupt_wait(query[0]):
                cut = self.session.spec.path
        if cut is not None:
            self._cut_waits.add(seq)
        elif not waiting_here:
            self._cancelled.add(seq)
        if waiting_here:
            note = ("cancelled while waiting for the cancelled statement to finish on the embedded "
                    "engine: nothing was run")
        elif callable(cancel) and not embedded:
            # this statement's own (the catalog may be loading on another thread at the same time)
            self._cancel_on_server(cancel, query[0] if query is not None and query[1] == seq else None)
            note = "cancelled: asked the server to stop the query (KILL QUERY)"
        elif cut is not None:
            from sqlext.db.engine import EMBEDDED, held_by

            note = (f"cancelled while waiting for the embedded database at {cut}, "
                    f"{held_by(EMBEDDED.holder(cut))}: nothing was run")
        elif embedded:
            note = ("cancelled: the embedded engine cannot interrupt a statement; it finishes in the "
                    "background and its result is discarded (the next statement waits for it)")
        else:
            note = "cancelled: the result will be discarded (the server may still finish the query)"
        self.status.message = note
        self.notify(note, title="cancel", severity="warning")

    @work(thread=True, group="cancel")
    def _cancel_on_server(self, cancel, thread: int | None) -> None:
        try:
            cancel(thread)
        except Exception as exc:
            self._later(self.notify, f"cancel failed: {error_text(exc)}", severity="error")

    # -- showing outcomes ---------------------------------------------------------------------------
    def show_error(self, sql: str, exc: BaseException, *, at: tuple[int, int] | None = None) -> None:
        """Show the error `exc` of statement `sql`: under the editor, in the Details tab and as a
        notification; when the error has a line and column the editor cursor moves there. `at`:
        where `sql` starts in the editor (as for `start_query`): the error's line and column are
        then the editor's already."""
        msg = error_text(exc)
        self.last_error = msg
        err = self.query_one("#error", Static)
        err.update(f"[b red]error:[/b red] {escape(msg)}")
        err.display = True
        from textual.css.query import NoMatches

        try:
            self.query_one("#details").show_error(sql, msg)
        except NoMatches:  # the tabs mount just after the first paint
            pass
        self.status.message = "error (details above)"
        self.notify(msg.splitlines()[0][:300], title="error", severity="error", timeout=8)
        line, col = getattr(exc, "line", None), getattr(exc, "col", None)
        if line and at is not None:
            try:
                self.editor.cursor_location = (line - 1, max(0, (col or 1) - 1))
            except Exception:
                pass
        elif line:
            start = self.editor.text.find(sql)
            if start >= 0:
                base_row = self.editor.text.count("\n", 0, start)
                try:
                    self.editor.cursor_location = (base_row + line - 1, max(0, (col or 1) - 1))
                except Exception:
                    pass

    def hide_error(self) -> None:
        """Clear the error shown under the editor."""
        self.last_error = None
        self.query_one("#error").display = False

    def show_result(self, result, duration: float = 0.0, *, count: int = 1, script: bool = False) -> None:
        """Show `result` (an sqlext Result, or None when nothing returned one) of `count` statements
        that took `duration` seconds: rows in the table (at most MAX_ROWS), the first image in
        the preview, the gallery, the details and any lint warnings as notifications; a statement
        without rows shows the server's message."""
        from .thumbs import image_column

        self.result = result
        table = self.table
        preview = self.query_one("#preview")
        if result is None:
            table.show(None)
            self.status.message = f"{count} statement(s) ran in {duration:.2f}s"
            return
        details = self.query_one("#details")
        if result.columns:
            table.show(result)
            n = len(result.rows)
            from .components.results import MAX_ROWS

            shown = min(n, MAX_ROWS)
            self.image_col = image_column(result.columns, result.rows, result.types)
            more = f" (showing the first {shown})" if n > shown else ""
            prefix = f"{count} statements; last: " if script and count > 1 else ""
            self.status.message = f"{prefix}{n} row{'s' if n != 1 else ''} in {duration:.2f}s{more}"
            details.show(result.stats, rows=n, shown=shown)
            if self.image_col is None:
                preview.show_none("No image URL or path column in this result.")
            elif n:
                self._preview_row(0)
            self._fill_gallery()
        else:
            table.show(None)
            self.image_col = None
            msg = result.message or ("done: the statement's INTO OUTFILE clause wrote the result"
                                      if getattr(result, "raw", None) is not None else "done")
            self.status.message = f"{msg} ({duration:.2f}s)"
            details.show(result.stats, note=f"server: {msg}")
        # lints: in the details pane (F8) and on the status line, not over the work
        warnings = list(result.stats.warnings)
        if warnings:
            more = f" (+{len(warnings) - 1} more)" if len(warnings) > 1 else ""
            self.status.lint = warnings[0] + more
        else:
            self.status.lint = ""

    # -- images ---------------------------------------------------------------------------------
    def on_results_table_row_chosen(self, msg) -> None:
        self._preview_row(msg.index)

    def _preview_row(self, index: int) -> None:
        if self.result is None or self.image_col is None or index >= len(self.result.rows):
            return
        ref = self.result.rows[index][self.image_col]
        found = self.query("#preview")
        if not found:
            return  # a row highlighted while the app closes: the result tabs are already gone
        preview = found.first()
        if not isinstance(ref, str) or not ref:
            preview.show_none("This row has no image reference.")
            return
        if preview.ref == ref and preview.state in ("image", "loading"):
            return
        preview.show_loading(ref)
        cached = self.thumbs.cached(ref)
        if cached is not None:
            preview.show_image(ref, cached)
        else:
            self._fetch_thumb(ref, preview.show_image, preview.show_error)

    @work(thread=True, group="thumbs")
    def _fetch_thumb(self, ref: str, ok, fail) -> None:
        try:
            img = self.thumbs.get(ref)
        except Exception as exc:
            from embed.errors import InputError

            # a picture that cannot be shown says why; EMBED's hint (write text('...')) is no
            # advice for a preview
            msg = f"cannot show {ref!r}: {exc.reason}" if isinstance(exc, InputError) else error_text(exc)
            self._later(fail, ref, msg)
            return
        self._later(ok, ref, img)

    def _fill_gallery(self) -> None:
        gallery = self.query_one("#gallery")
        if self.result is None or self.image_col is None or not self.result.rows:
            gallery.set_items([], "No image URL or path column in this result.")
            return
        cols = self.result.columns
        dist = next((i for i, c in enumerate(cols) if re.search(r"dist|score", c, re.I)), None)
        idcol = next((i for i, c in enumerate(cols) if i != self.image_col and re.search(r"(^|_)id$", c, re.I)), None)
        items = []
        for r in self.result.rows[:GALLERY_SIZE]:
            ref = r[self.image_col]
            if not isinstance(ref, str):
                continue
            bits = []
            if idcol is not None:
                bits.append(str(r[idcol]))
            if dist is not None and isinstance(r[dist], float):
                bits.append(f"{cols[dist]} {r[dist]:.4f}")
            items.append((ref, " ".join(bits) or Path(ref).name))
        tiles = gallery.set_items(items, f"Top {len(items)} of {len(self.result.rows)} result(s)")
        for tile in tiles:
            cached = self.thumbs.cached(tile.ref)
            if cached is not None:
                self.call_after_refresh(tile.set_image, cached)
            else:
                self._fetch_thumb(tile.ref, self._tile_ok(tile), self._tile_fail(tile))

    @staticmethod
    def _tile_ok(tile):
        return lambda ref, img: tile.is_attached and tile.set_image(img)

    @staticmethod
    def _tile_fail(tile):
        return lambda ref, msg: tile.is_attached and tile.set_error(msg)

    def on_results_table_gallery_requested(self, _msg) -> None:
        self.action_tab("gallery-tab")

    # -- more like this -----------------------------------------------------------------------------
    def on_results_table_more_like_this(self, msg) -> None:
        if self.result is None or self.image_col is None:
            self.notify("more like this needs a result with an image URL or path column", severity="warning")
            return
        ref = self.result.rows[msg.index][self.image_col]
        from embed.imagerefs import resolves

        if not resolves(ref):  # (a bare file name, as folder ingestion's photo_id): nothing to embed
            col = self.result.columns[self.image_col]
            self.notify(f"more like this needs an image it can open: {ref!r} in column {col} is neither a URL "
                        f"nor a file here; select the image URL or path column too (photo_image_url in "
                        f"embedsql's tables)", severity="warning")
            return
        if msg.with_text:
            def done(text: str | None) -> None:
                if text is not None:
                    self.more_like_this(ref, text)
            from .components.prompt_screen import PromptScreen

            self.push_screen(PromptScreen("More like this image, combined with the text:",
                                          placeholder="e.g. at night", id="mlt-prompt"), done)
        else:
            self.more_like_this(ref, None)

    def more_like_this(self, ref: str, text: str | None) -> None:
        """Search again by `ref`'s image: the editor's statement under the cursor (what the grid
        shows came from it, or from an edit of it) with its EMBED(...) calls replaced, put back in
        its place in the editor and run, so the editor and the SQL sent never diverge. An editor
        with no statement builds on the last query run and appends it."""
        ed = self.editor
        buf = ed.text
        span = ed.statement_span_at_cursor()
        base = buf[span[0]:span[1]] if span is not None and span[1] > span[0] else ""
        try:
            sql = more_like_this_sql(base or self.last_sql, ref, text, result=self.result,
                                     catalog=self.catalog_data)
        except ValueError as exc:
            self.notify(f"{exc} (it builds on the editor's statement under the cursor)", severity="warning")
            return
        if base:
            pos = span[0]
            new = buf[:pos] + sql + buf[span[1]:]
        else:
            head = end_statement(buf)  # keep the earlier text a statement of its own
            new = head + ("\n\n" if head else "") + end_statement(sql) + "\n"
            pos = len(head) + (2 if head else 0)
        ed.load_text(new)
        row = new.count("\n", 0, pos)
        ed.cursor_location = (row, pos - (new.rfind("\n", 0, pos) + 1))
        self.start_query(sql)

    # -- export ------------------------------------------------------------------------------------
    def on_results_table_export_requested(self, _msg) -> None:
        self.action_export()

    def action_export(self) -> None:
        if self.result is None or not self.result.columns:
            self.notify("nothing to export: run a query first", severity="warning")
            return
        from .export import default_dir

        default = default_dir() / time.strftime("result-%Y%m%d-%H%M%S.csv")

        result = self.result

        def done(text: str | None) -> None:
            if not (text and text.strip()):
                return
            from .export import export_path

            path = export_path(text.strip())
            if not path.is_file():
                self._export(result, str(path))
                return

            def answered(yes: bool | None) -> None:
                if yes:
                    self._export(result, str(path))
                else:
                    self.status.message = f"export cancelled: {path} is unchanged"

            self.push_screen(ConfirmScreen(f"[b]{escape(str(path))} exists.[/b] Replace it with this result?",
                                           id="confirm-overwrite"), answered)

        from .components.prompt_screen import ConfirmScreen, PromptScreen

        self.push_screen(PromptScreen("Export the result to (.csv, .json, .jsonl or .parquet; no extension: .csv):", str(default),
                                      id="export-prompt"), done)

    @work(thread=True, group="export")
    def _export(self, result, path: str) -> None:
        from .export import export_result

        try:
            out = export_result(result, path)
        except Exception as exc:
            msg = str(exc) if isinstance(exc, (ValueError, OSError)) else error_text(exc)
            self._later(self.notify, f"export failed: {msg}", severity="error")
            return
        self._later(self._exported, out, len(result.rows))

    def _exported(self, path: Path, n: int) -> None:
        self.status.message = f"exported {n} rows to {path}"
        self.notify(f"exported {n} rows to {path}", title="export")

    # -- screens --------------------------------------------------------------------------------
    def action_help(self) -> None:
        from .components.help_screen import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_history(self) -> None:
        def done(sql: str | None) -> None:
            if sql:
                ed = self.editor
                buf = end_statement(ed.text)  # keep the earlier text a statement of its own
                new = (buf + "\n\n" if buf else "") + end_statement(sql) + "\n"
                ed.load_text(new)
                ed.cursor_location = (new.count("\n", 0, len(buf) + 2 if buf else 0), 0)
                ed.focus()

        from .components.history_screen import HistoryScreen

        self.push_screen(HistoryScreen(self.history), done)

    def action_migrations(self) -> None:
        from .components.migrations_screen import MigrationsScreen

        self.push_screen(MigrationsScreen(self.session), lambda changed: changed and self.refresh_catalog())

    def action_catalog(self) -> None:
        sidebar = self.query_one("#sidebar")
        sidebar.remove_class("-hidden")  # hidden with ctrl+t: F2 brings it back
        sidebar.add_class("-open")  # narrow screens: shown while it has the focus
        self.screen.set_focus(self.query_one("#catalog"))  # at once: see action_tab
        self.refresh_catalog()

    def _sidebar_shown(self, sidebar) -> bool:
        """Whether the sidebar shows, from its classes (app.tcss) rather than its styles: keys typed
        fast come before the styles are updated."""
        if sidebar.has_class("-hidden"):
            return False
        return (not sidebar.screen.has_class("-narrow") or sidebar.has_class("-open")
                or sidebar.has_class("-pinned"))

    def action_toggle_sidebar(self) -> None:
        """ctrl+t: hide the catalog sidebar, or show it (on narrow screens too, until hidden
        again). Hiding it moves the focus from the catalog to the editor."""
        try:
            sidebar = self.query_one("#sidebar", Sidebar)
        except NoMatches:
            return  # mounted just after the first paint: a key before that does nothing
        if self._sidebar_shown(sidebar):
            if sidebar.has_focus_within:
                self.screen.set_focus(self.editor)
            sidebar.remove_class("-open", "-pinned").add_class("-hidden")
            self.status.message = "sidebar hidden (ctrl+t or F2 shows it)"
        else:
            sidebar.remove_class("-hidden").add_class("-pinned")
            self.status.message = ("sidebar shown (ctrl+t hides it; narrower / wider: alt+left / alt+right, "
                                   "or [ / ] in the catalog)")

    def action_resize_sidebar(self, direction: int) -> None:
        """alt+left / `[` / `-` (direction -1), alt+right / `]` / `+` (+1): the sidebar SIDEBAR_STEP
        columns narrower or wider, within sidebar_bounds; a hidden sidebar shows first (alt+arrows
        act anywhere, the bracket keys in the sidebar only: see Sidebar). The width holds, focused or
        not, for the rest of the session (and is kept within bounds when the terminal resizes)."""
        try:
            sidebar = self.query_one("#sidebar", Sidebar)
        except NoMatches:
            return
        if not self._sidebar_shown(sidebar):
            sidebar.remove_class("-hidden").add_class("-pinned")
            current = self.sidebar_width or SIDEBAR_DEFAULT
        else:  # the width set before, not the one on screen: keys typed fast come before the layout
            current = self.sidebar_width or sidebar.outer_size.width
        self.sidebar_width = current + direction * SIDEBAR_STEP
        self._apply_sidebar_width()
        low, high = sidebar_bounds(self.size.width)
        edge = " (narrowest)" if self.sidebar_width == low else " (widest)" if self.sidebar_width == high else ""
        self.status.message = f"sidebar {self.sidebar_width} columns{edge}"

    def _apply_sidebar_width(self, screen_width: int | None = None) -> None:
        if self.sidebar_width is None:
            return
        low, high = sidebar_bounds(screen_width or self.size.width)
        self.sidebar_width = max(low, min(high, self.sidebar_width))
        try:
            styles = self.query_one("#sidebar", Sidebar).styles
        except NoMatches:
            return
        styles.width = styles.min_width = self.sidebar_width  # min: over :focus-within's min-width

    def on_resize(self, event) -> None:
        self._apply_sidebar_width(event.size.width)  # a width set on a wide terminal still leaves room on a small one

    # each view's main widget, focused when the view is switched to (its keys then work at once)
    TAB_FOCUS = {"results-tab": "#results", "gallery-tab": "#gallery", "details-tab": "#details"}

    def action_tab(self, tab: str) -> None:
        self.query_one("#tabs").active = tab
        # focused at once, not after the queued keys (widget.focus() waits for them): F6 then
        # Enter typed together opens the row, it does not add a line to the editor
        self.screen.set_focus(self.query_one(self.TAB_FOCUS[tab]))

    def on_results_table_row_opened(self, msg) -> None:
        if self.result is None or msg.index >= len(self.result.rows):
            return
        from .components.row_screen import RowScreen

        self.push_screen(RowScreen(self.result.columns, self.result.types, self.result.rows[msg.index],
                                   msg.index, len(self.result.rows)))



def _save_on_hangup(loop, app: "EmbedSQLApp") -> None:
    """SIGTERM (`kill`) and SIGHUP (the terminal window closed, `tmux kill-session`) end the app
    with its editor text saved: the text is otherwise written 2 s after typing stops, and these
    signals ended the process at once, losing what was typed last. Exit status 128 + the signal,
    as the shell reports a process the signal ended. On SIGHUP the terminal is gone: nothing is
    left to restore on it (Textual's exit hung trying), so the process ends at once once the
    text is saved, as the signal itself would have ended it."""
    import signal

    def end(signum: int) -> None:
        app.save_buffer(at_exit=True)
        if signum == signal.SIGHUP:
            os._exit(128 + signum)
        app.exit(return_code=128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # no such signal here
            loop.add_signal_handler(sig, end, sig)


def run_app(ctx, initial_sql: str | None = None, initial_result=None) -> int:
    """Open the app on the session the command line built (embedded database by default);
    `initial_result`: the result of `initial_sql`, already run (the demo's), shown in the grid."""
    import asyncio

    from .interrupts import wait_after_quit

    session = ctx.session()
    app = EmbedSQLApp(session=session, initial_sql=initial_sql, initial_result=initial_result)
    # An event loop of our own: asyncio.run would wait, with the screen already restored and
    # saying nothing, for the worker threads of statements still running (the embedded engine
    # cannot interrupt one); after the app, `wait_after_quit` says what it waits for, and Ctrl-C
    # exits at once.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    _save_on_hangup(loop, app)
    try:
        app.run(loop=loop)
    finally:
        try:
            pending = app.statements_running()
            if pending and not getattr(session, "embedded", False):
                cancel = getattr(session, "cancel", None)
                if callable(cancel):  # a server stops the query (KILL QUERY)
                    with contextlib.suppress(Exception):
                        cancel()
                wait_after_quit(pending, "embedsql: waiting for the server to stop the running query "
                                         "(asked with KILL QUERY). Press Ctrl-C to exit now.")
            else:
                wait_after_quit(pending)
        finally:
            try:
                tasks = asyncio.all_tasks(loop)
                for t in tasks:
                    t.cancel()
                if tasks:
                    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                asyncio.set_event_loop(None)
                loop.close()  # (its thread pool is not waited for: every statement has ended)
    return app.return_code or 0
