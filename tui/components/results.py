"""The result grid: a DataTable filled in chunks (the first MAX_ROWS rows are shown, with a note).
Every cell is a `rich.text.Text` made by `tui.chtext` (ClickHouse's own text of the value, never
read as markup): NULL as ᴺᵁᴸᴸ, vectors as `[512 x Float32]`, control characters visible, long
values cut with …; distances with 4 decimals.

Columns wider than the grid can hold together collapse to a common cap (ending in …), so a narrow
terminal shows every column; Enter opens the full row (components/row_screen.py)."""
from __future__ import annotations

import re

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from .. import chtext

MAX_ROWS = 10_000
FIRST_CHUNK = 200
CHUNK = 2_000
MIN_COLLAPSED = 20  # a collapsed column keeps at least this many characters (or its header's)
_DISTANCE = re.compile(r"(dist|score|similarity|sim$|^d$)", re.I)


def format_cell(value, type_name: str = "", column: str = "") -> Text:
    """The grid's cell for `value` of ClickHouse type `type_name` in column `column`."""
    if isinstance(value, float) and value == value and _DISTANCE.search(column or "") \
            and chtext.parse_type(type_name).name in ("Float32", "Float64", ""):
        return Text(f"{value:.4f}", justify="right")
    cell = chtext.value_display(value, type_name)
    cell.no_wrap, cell.overflow = True, "ellipsis"  # a collapsed column ends its values with …
    return cell


def collapsed_widths(natural: list[int], labels: list[int], available: int, padding: int = 1) -> list[int | None]:
    """Widths that fit columns of `natural` content widths (cells) into `available` cells, each
    column taking 2*padding more: None for a column that keeps its natural width, else the cap it
    collapses to. The cap is the largest that fits, but no column goes below its header's width
    (`labels`) or MIN_COLLAPSED; when whole headers cannot all fit (an unaliased
    `cosineDistance(photo_embed, EMBED('…'))` is 50 characters), a column goes down to
    MIN_COLLAPSED and its header ends with "…", so its values stay on screen. On a very narrow grid
    the columns still scroll sideways."""
    total = sum(natural) + 2 * padding * len(natural)
    if total <= available or not natural:
        return [None] * len(natural)
    budget = available - 2 * padding * len(natural)
    floors = [min(n, max(lab, MIN_COLLAPSED)) for n, lab in zip(natural, labels)]
    if sum(floors) > budget:  # whole headers do not fit: keep the values on screen instead
        floors = [min(n, MIN_COLLAPSED) for n in natural]
    cap = max(natural)
    while cap > 1 and sum(max(f, min(n, cap)) for n, f in zip(natural, floors)) > budget:
        cap -= 1
    return [None if n <= max(cap, f) else max(f, cap) for n, f in zip(natural, floors)]


class ResultsTable(DataTable):
    """The results table: a row cursor over a Result's rows (the first MAX_ROWS, added in chunks so
    the first rows show at once; vectors elided). Posts RowChosen on a highlighted row,
    MoreLikeThis (m, M with text), ExportRequested (e) and GalleryRequested (g)."""

    BINDINGS = [
        Binding("m", "more_like_this", "More like this"),
        Binding("M", "more_like_this_text", "More like this + text", show=False),
        Binding("e", "export", "Export"),
        Binding("g", "gallery", "Gallery", show=False),
    ]

    class RowOpened(Message):
        """Enter on a row: show it in full."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    class RowChosen(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    class MoreLikeThis(Message):
        def __init__(self, index: int, with_text: bool) -> None:
            super().__init__()
            self.index = index
            self.with_text = with_text

    class ExportRequested(Message):
        pass

    class GalleryRequested(Message):
        pass

    def __init__(self, **kw) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self.result = None
        self.shown = 0
        self._generation = 0
        self._natural: list[int] = []

    @property
    def total(self) -> int:
        """The number of rows in the result (0 when none), shown or not."""
        return len(self.result.rows) if self.result is not None else 0

    def show(self, result) -> None:
        """Show `result` (an sqlext Result; None or one without columns clears the table). Rows are
        added in chunks after refreshes; `shown` counts those added."""
        self._generation += 1
        self.clear(columns=True)
        self.result = result
        self.shown = 0
        self._natural = []
        if result is None or not result.columns:
            return
        types = result.types or [""] * len(result.columns)
        for c in result.columns:
            self.add_column(Text(c, overflow="ellipsis"), key=c if result.columns.count(c) == 1 else None)
        self._natural = [Text(c).cell_len for c in result.columns]  # content widths, headers included
        self._types = types
        self._add_chunk(self._generation, FIRST_CHUNK)

    def _add_chunk(self, generation: int, size: int) -> None:
        if generation != self._generation or self.result is None:
            return
        rows = self.result.rows
        end = min(len(rows), MAX_ROWS, self.shown + size)
        cols = self.result.columns
        chunk = [[format_cell(v, t, c) for v, t, c in zip(r, self._types, cols)] for r in rows[self.shown:end]]
        for cells in chunk:
            self._natural = [max(n, cell.cell_len) for n, cell in zip(self._natural, cells)]
        self.add_rows(chunk)
        self.shown = end
        self.fit_columns()
        if end < min(len(rows), MAX_ROWS):
            self.call_after_refresh(self._add_chunk, generation, CHUNK)

    def fill_all(self) -> None:
        """Add every displayable row now (tests, export preview)."""
        while self.result is not None and self.shown < min(self.total, MAX_ROWS):
            self._add_chunk(self._generation, CHUNK)

    def fit_columns(self) -> None:
        """Collapse the widest columns so that every column fits the grid's width (see
        `collapsed_widths`); called as rows arrive and when the grid is resized."""
        cols = list(self.columns.values())
        available = self.scrollable_content_region.width
        if not cols or available <= 0 or len(self._natural) != len(cols):
            return
        labels = [c.label.cell_len for c in cols]
        for c, w in zip(cols, collapsed_widths(self._natural, labels, available, self.cell_padding)):
            if w is None:
                c.auto_width = True
            else:
                c.auto_width, c.width = False, w
        # DataTable recomputes its virtual size from the columns' widths on this flag (no public API)
        self._require_update_dimensions = True
        self.refresh()

    def on_resize(self, _event) -> None:
        self.fit_columns()

    def _update_dimensions(self, new_rows) -> None:
        """DataTable measures new rows' cells when it goes idle, then widens auto-width columns;
        but its render caches are keyed by content and cursor, not by column width, so rows drawn
        before that (under load, the first frame of a result) kept their header-wide cells until
        the cursor moved. Clear them once the widths are known (DataTable has no public API)."""
        super()._update_dimensions(new_rows)
        if new_rows:
            self._clear_caches()
            self.refresh()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.RowOpened(event.cursor_row))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.RowChosen(event.cursor_row))

    def action_more_like_this(self) -> None:
        if self.total:
            self.post_message(self.MoreLikeThis(self.cursor_row, False))

    def action_more_like_this_text(self) -> None:
        if self.total:
            self.post_message(self.MoreLikeThis(self.cursor_row, True))

    def action_export(self) -> None:
        self.post_message(self.ExportRequested())

    def action_gallery(self) -> None:
        self.post_message(self.GalleryRequested())
