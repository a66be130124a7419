"""What `embedsql query --format F` writes for a statement that returns rows.

Every format but `table` is ClickHouse's own: the statement is sent with `FORMAT <name>` and the
bytes the server writes are passed through as they come (`Session.raw_stream`):

    csv -> CSVWithNames    tsv -> TSVWithNames    json -> JSON    jsoneachrow (jsonl) -> JSONEachRow
    vertical -> Vertical   markdown -> Markdown

Vector columns (Array(Float32), Array(Float64), Array(BFloat16)) are shown as `[N x Float32]`
unless `--full-vectors`, and a column the server would name after a vector embedsql spliced in
(`cosineDistance(v, [0.02, ...])`) is named after the EMBED call written instead: the server does
both, by sending `SELECT concat('[', toString(length(`v`)), ' x Float32]') AS `v`, `d…` AS
`cosineDistance(v, EMBED('a cat'))` FROM (<statement>)` when `DESCRIBE TABLE (<statement>)` names
such a column (one extra round trip, no extra execution). A statement with its own FORMAT clause
is printed in that format, as the server writes it.

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


def projected(statement: str, columns: list[tuple[str, str]], names: list[str] | None = None, *,
              elide: bool = True) -> str:
    """The statement wrapped so that the server writes its result in the user's terms:

    - a vector column (Array(Float32|Float64|BFloat16)) becomes `[N x Float32]` (when `elide`);
    - a column the server named after a vector embedsql spliced in is renamed to the EMBED call
      the user wrote (`names`: the user's name of each column, `SentText.column_names`).

    `columns`: (server name, ClickHouse type) of each result column (`describe`). Returns the
    statement itself when nothing changes. Columns that share a server name (the same EMBED
    twice: `SELECT length(EMBED('a')), length(EMBED('a'))`) are one expression, so each is
    referred to by that name, as ClickHouse allows; the statement itself comes back when two
    different columns would get one name (ClickHouse refuses an alias for two expressions)."""
    from sqlext.text.ddl import quote_identifier

    server = [n for n, _ in columns]
    names = list(names) if names is not None and len(names) == len(server) else server
    if len({(n, u) for n, u in zip(server, names)}) != len(set(names)):
        return statement
    items, changed = [], False
    for (name, type_name), user in zip(columns, names):
        q = quote_identifier(name, always=True)
        alias = quote_identifier(user, always=True)
        if elide and chtext.is_vector_type(type_name):
            elem = chtext.parse_type(type_name).arg(0).name
            items.append(f"concat('[', toString(length({q})), ' x {elem}]') AS {alias}")
            changed = True
        elif user != name:
            items.append(f"{q} AS {alias}")
            changed = True
        else:
            items.append(q)
    if not changed:
        return statement
    return f"SELECT {', '.join(items)} FROM (\n{statement}\n)"


def user_names(session, statement: str, server: list[str]) -> list[str]:
    """The result columns' names in the user's terms: a name that holds a vector embedsql spliced
    in shows the EMBED call written instead (`SentText.column_names`; EMBED is resolved from the
    session's cache)."""
    if not any("[" in n for n in server):
        return list(server)
    sent = session.prepare(statement).sent
    return sent.column_names(server) if sent is not None else list(server)


class ReaderGone(Exception):
    """stdout was closed by its reader (`embedsql query ... | head`): stop writing, quietly.
    Not an OSError, so that no layer on the way up takes it for a database failure."""


def write_statement(session, statement: str, fmt: str, *, full_vectors: bool = False,
                    out=None, console=None, warn=None) -> None:
    """Run one statement that returns rows and write its result in `fmt` (a key of FORMATS) to
    `out` (a binary stream; default stdout) or, for `table`, to the Rich `console`. `warn` gets
    each lint of the statement. Raises what `Session.raw_stream` raises."""
    out = out if out is not None else sys.stdout.buffer
    text = getattr(statement, "text", statement)  # a script's Statement (kept: positions in errors), or text
    own = own_format(text)
    columns: list[tuple[str, str]] = []
    sql = statement
    if own is None:
        # EMBED and translation errors with positions in the statement as written (describe wraps it)
        session.prepare(statement)
        columns = describe(session, text)
        server = [n for n, _ in columns]
        wrapped = projected(text, columns, user_names(session, text, server), elide=not full_vectors)
        if wrapped != text:
            sql = wrapped
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
            if columns and len(columns) == len(names):
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
