"""The result grid: a DataTable filled in chunks (the first MAX_ROWS rows are shown, with a note).
Every cell is a `rich.text.Text` made by `tui.chtext` (ClickHouse's own text of the value, never
read as markup): NULL as ᴺᵁᴸᴸ, vectors as `[512 x Float32]`, control characters visible, long
values cut with …; distances with 4 decimals."""
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
_DISTANCE = re.compile(r"(dist|score|similarity|sim$|^d$)", re.I)


def format_cell(value, type_name: str = "", column: str = "") -> Text:
    """The grid's cell for `value` of ClickHouse type `type_name` in column `column`."""
    if isinstance(value, float) and value == value and _DISTANCE.search(column or "") \
            and chtext.parse_type(type_name).name in ("Float32", "Float64", ""):
        return Text(f"{value:.4f}", justify="right")
    return chtext.value_display(value, type_name)


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
        if result is None or not result.columns:
            return
        types = result.types or [""] * len(result.columns)
        for c in result.columns:
            self.add_column(Text(c), key=c if result.columns.count(c) == 1 else None)
        self._types = types
        self._add_chunk(self._generation, FIRST_CHUNK)

    def _add_chunk(self, generation: int, size: int) -> None:
        if generation != self._generation or self.result is None:
            return
        rows = self.result.rows
        end = min(len(rows), MAX_ROWS, self.shown + size)
        cols = self.result.columns
        self.add_rows(
            [format_cell(v, t, c) for v, t, c in zip(r, self._types, cols)] for r in rows[self.shown:end]
        )
        self.shown = end
        if end < min(len(rows), MAX_ROWS):
            self.call_after_refresh(self._add_chunk, generation, CHUNK)

    def fill_all(self) -> None:
        """Add every displayable row now (tests, export preview)."""
        while self.result is not None and self.shown < min(self.total, MAX_ROWS):
            self._add_chunk(self._generation, CHUNK)

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
