"""What `embedsql query --format F` writes for a statement that returns rows.

Every format but `table` is ClickHouse's own: the statement is sent with `FORMAT <name>` and the
bytes the server writes are passed through as they come (`Session.raw_stream`):

    csv -> CSVWithNames    tsv -> TSVWithNames    json -> JSON    jsoneachrow (jsonl) -> JSONEachRow
    vertical -> Vertical   markdown -> Markdown

Vector columns (Array(Float32), Array(Float64), Array(BFloat16)) are shown as `[N x Float32]`
unless `--full-vectors`: the server does it, by sending
`SELECT * REPLACE (concat('[', toString(length(v)), ' x Float32]') AS v) FROM (<statement>)` when
`DESCRIBE TABLE (<statement>)` names such a column (one extra round trip, no extra execution). A
statement with its own FORMAT clause is printed in that format, vectors and all.

`table` is embedsql's: the result is fetched as ClickHouse's TSVWithNamesAndTypes (so every value
is ClickHouse's own text), and printed as a Rich table: the column names and types, the cells as
`tui.chtext.display` shows them (NULL as ᴺᵁᴸᴸ, control characters visible, values longer than
80 characters cut with …), then `N rows`.
"""
from __future__ import annotations

import sys

from . import chtext

FORMATS = {
    "table": None,
    "csv": "CSVWithNames",
    "tsv": "TSVWithNames",
    "json": "JSON",
    "jsoneachrow": "JSONEachRow",
    "jsonl": "JSONEachRow",
    "vertical": "Vertical",
    "markdown": "Markdown",
}

TABLE_CELL = 80  # characters of a cell in the table format; longer values end with "…"


def own_format(statement: str) -> str | None:
    """The statement's own output `FORMAT name` clause, or None (`sqlext.text.kinds`)."""
    kind = _kind(statement)
    return kind.format if kind is not None else None


def _kind(statement: str):
    from sqlext.errors import SQLSyntaxError
    from sqlext.text.kinds import kind_of

    try:
        return kind_of(statement)
    except SQLSyntaxError:
        return None


def describe(session, statement: str) -> list[tuple[str, str]]:
    """(name, ClickHouse type) of each column the statement returns, without running it:
    `DESCRIBE TABLE (statement)`. [] when the server cannot describe it (SHOW, EXPLAIN...)."""
    from sqlext.errors import ServerError

    kind = _kind(statement)
    if kind is None or kind.name != "select":
        return []
    try:
        data = session.raw_query(f"DESCRIBE TABLE (\n{statement}\n)", fmt="TabSeparated")
    except ServerError:  # the statement itself will say what is wrong with it (EMBED errors: now)
        return []
    out = []
    for line in data.split(b"\n"):
        if line:
            f = line.split(b"\t")
            out.append((chtext.tsv_field(f[0]) or "", chtext.tsv_field(f[1]) or ""))
    return out


def elided(statement: str, columns: list[tuple[str, str]]) -> str:
    """The statement with its vector columns replaced by `[N x Float32]` on the server; the
    statement itself when it has none (or when a vector column's name is not unique)."""
    from sqlext.text.ddl import quote_identifier

    names = [n for n, _ in columns]
    repl = []
    for name, type_name in columns:
        if chtext.is_vector_type(type_name) and names.count(name) == 1:
            q = quote_identifier(name, always=True)
            elem = chtext.parse_type(type_name).arg(0).name
            repl.append(f"concat('[', toString(length({q})), ' x {elem}]') AS {q}")
    if not repl:
        return statement
    return f"SELECT * REPLACE ({', '.join(repl)}) FROM (\n{statement}\n)"


class ReaderGone(Exception):
    """stdout was closed by its reader (`embedsql query ... | head`): stop writing, quietly.
    Not an OSError, so that no layer on the way up takes it for a database failure."""


def write_statement(session, statement: str, fmt: str, *, full_vectors: bool = False,
                    out=None, console=None, warn=None) -> None:
    """Run one statement that returns rows and write its result in `fmt` (a key of FORMATS) to
    `out` (a binary stream; default stdout) or, for `table`, to the Rich `console`. `warn` gets
    each lint of the statement. Raises what `Session.raw_stream` raises."""
    out = out if out is not None else sys.stdout.buffer
    statement = getattr(statement, "text", statement)  # a script's Statement, or text
    own = own_format(statement)
    columns: list[tuple[str, str]] = []
    sql = statement
    if own is None and not full_vectors:
        columns = describe(session, statement)
        sql = elided(statement, columns)
    ch_format = None if own is not None else (FORMATS[fmt] or "TSVWithNamesAndTypes")
    try:
        with session.raw_stream(sql, fmt=ch_format) as chunks:
            if fmt == "table" and own is None:
                data = b"".join(chunks)
            else:
                data = None
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
            for w in chunks.stats.warnings:
                if warn is not None:
                    warn(w)
        if data is not None:
            names, types, rows = chtext.parse_tsv(data)
            if columns and [n for n, _ in columns] == names:
                types = [t for _, t in columns]  # the vector columns' own types, not String
            print_table(names, types, rows, console)
    except BrokenPipeError:
        raise ReaderGone() from None


def print_table(names, types, rows, console) -> None:
    """Print a result as a Rich table: header `name` over its type (dim), cells from ClickHouse
    text (`chtext.display`: never markup), then `N rows`."""
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=True, header_style="bold", show_lines=False)
    for name, t in zip(names, types):
        head = Text(name)
        if t:
            head.append("\n" + t, style="dim")
        table.add_column(head, overflow="fold", justify="right" if chtext.right_aligned(t) else "left")
    for row in rows:
        table.add_row(*[chtext.display(cell, t, max_len=TABLE_CELL) for cell, t in zip(row, types)])
    console.print(table)
    n = len(rows)
    console.print(Text(f"{n} row{'s' if n != 1 else ''}", style="dim"))


def render(result, fmt: str = "table", *, full_vectors: bool = False, console=None) -> None:
    """Print a `sqlext.Result` (Python values) as the `table` format does; vectors as
    `[N x Float32]` unless `full_vectors`."""
    if fmt != "table":
        raise ValueError(f"render prints the table format; {fmt!r} is written by write_statement")
    types = list(result.types or [""] * len(result.columns))
    rows = []
    for r in result.rows:
        row = []
        for v, t in zip(r, types):
            if v is not None and not full_vectors and chtext.is_vector_type(t):
                row.append(chtext.vector_label(len(v), t))
            else:
                row.append(chtext.text(v, t))
        rows.append(row)
    print_table(list(result.columns), types, rows, console)
