"""The IPython / Jupyter magic: EMBED SQL in a notebook cell, the result as a pandas DataFrame.

    %load_ext sqlext
    %%embedsql chdb:///home/me/photos-db --model openai/clip-vit-base-patch32
    SELECT photo_id, photo_image_url, cosineDistance(photo_embed, EMBED('a cat on a sofa')) AS d
    FROM photos ORDER BY d LIMIT 10

The first line takes an optional DSN and options (`--model`, `--dialect`, `--connection`,
`--out NAME` to also store the DataFrame in a variable, `--no-thumbs`); a cell without a DSN or
--connection uses the last cell's connection, with its model and dialect unless the cell names
others, else what `embedsql` would use (EMBEDSQL_DSN, the config file, the embedded
database). A cell may hold several statements: all run in order and the last one's result is the
cell's value (a command's answer is printed). Errors are shown as one message, no traceback.

The value is a `pandas.DataFrame`. When the result has vector columns or a column of image
references (URLs or paths, as `embed.imagerefs.image_column` judges them), it is an
`EmbedFrame`: a DataFrame whose notebook display elides vectors to `[512 x float32]` and shows
a thumbnail of each image (fetched with EMBED's limits, inlined as a data: URI).
"""
from __future__ import annotations

import argparse
import base64
import html
import io
import shlex
import threading
from collections import OrderedDict

THUMB_PX = 96
_MAX_THUMBS = 100  # thumbnails fetched per display at most (the rest show their reference)


def load_ipython_extension(ipython) -> None:
    """`%load_ext sqlext`: register the `%%embedsql` cell magic."""
    ipython.register_magics(_magics_class()(ipython))


def unload_ipython_extension(ipython) -> None:
    """`%unload_ext sqlext`: close the sessions the magic opened."""
    magics = ipython.magics_manager.registry.get("EmbedSQLMagics")
    if magics is not None:
        magics.close()


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print usage and exit the kernel's cell
        raise ValueError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="%%embedsql", add_help=False)
    p.add_argument("dsn", nargs="?", default=None)
    p.add_argument("--model", default=None)
    p.add_argument("--dialect", choices=["myscale", "clickhouse"], default=None)
    p.add_argument("--connection", default=None)
    p.add_argument("--out", default=None)
    p.add_argument("--no-thumbs", action="store_true")
    return p


def _magics_class():
    from IPython.core.error import UsageError as IPythonUsageError
    from IPython.core.magic import Magics, cell_magic, magics_class

    @magics_class
    class EmbedSQLMagics(Magics):
        """Holds one session per (DSN, model, dialect, connection) for the kernel's life."""

        def __init__(self, shell):
            super().__init__(shell)
            self._sessions: dict[tuple, object] = {}
            self._current: tuple | None = None

        def close(self) -> None:
            for s in self._sessions.values():
                s.close()
            self._sessions.clear()

        @cell_magic
        def embedsql(self, line: str, cell: str):
            """%%embedsql [DSN] [--model M] [--dialect D] [--connection NAME] [--out VAR] [--no-thumbs]"""
            from embed.errors import UserFacingError

            try:
                args = _parser().parse_args(shlex.split(line))
            except ValueError as exc:
                raise IPythonUsageError(f"%%embedsql: {exc}; usage: %%embedsql [DSN] [--model M] "
                                        "[--dialect D] [--connection NAME] [--out VAR] [--no-thumbs]") from None
            try:
                df = self._run(args, cell)
            except UserFacingError as exc:
                raise IPythonUsageError(str(exc)) from None
            if df is not None and args.out:
                self.shell.user_ns[args.out] = df
            return df

        def _session(self, args):
            import sqlext

            key = (args.dsn, args.model, args.dialect, args.connection)
            if args.dsn is None and args.connection is None and self._current is not None:
                prev = self._current
                key = (prev[0], args.model or prev[1], args.dialect or prev[2], prev[3])
            if key not in self._sessions:
                self._sessions[key] = sqlext.connect(key[0], model=key[1], dialect=key[2], connection=key[3])
            self._current = key
            return self._sessions[key]

        def _run(self, args, cell: str):
            from sqlext.text.kinds import kind_of
            from sqlext.text.split import split_statements

            statements = split_statements(cell)
            if not statements:
                raise IPythonUsageError("%%embedsql: the cell holds no SQL statement")
            session = self._session(args)
            with session.unit_of_work():
                for n, st in enumerate(statements, 1):
                    last = n == len(statements)
                    try:
                        kind = kind_of(st.text) if last else None
                        if kind is not None and kind.returns_rows and kind.format is None:
                            # prepared from the Statement: error positions are the cell's
                            return to_frame(session.query_df(session.prepare(st)), thumbs=not args.no_thumbs)
                        r = session.execute(st)  # a Statement: error positions are the cell's
                    except Exception as exc:
                        if len(statements) > 1 and hasattr(exc, "message"):
                            exc.message = f"statement {n} of {len(statements)} (line {st.head_line}): {exc.message}"
                        raise
                    if last:
                        if r.raw is not None:  # its own FORMAT clause: the server's text, as sent
                            print(r.raw.decode("utf-8", errors="replace"), end="")
                        elif r.message:
                            print(r.message)
                        return None
            return None

    return EmbedSQLMagics


# ----------------------------------------------------------------------------- the frame
def _frame_class():
    import pandas as pd

    global _EmbedFrame
    if _EmbedFrame is None:
        class EmbedFrame(pd.DataFrame):
            """A DataFrame that displays in a notebook with vectors elided and image thumbnails.
            `image_column`: the column holding image references (None: no thumbnails). Frames
            derived from it (head(), filters) are plain DataFrames."""

            _metadata = ["image_column"]
            image_column = None

            @property
            def _constructor(self):
                return pd.DataFrame

            def _repr_html_(self):
                return frame_html(self, self.image_column)

            def __repr__(self):
                # a terminal IPython (no HTML): pandas' own text, with vectors elided as in HTML
                vectors = {c: _cell_text for c in self.columns
                           if len(self) and _is_vector(self[c].iloc[0])}
                if not vectors:
                    return super().__repr__()
                get = pd.get_option
                return self.to_string(formatters=vectors, max_rows=get("display.max_rows"),
                                      min_rows=get("display.min_rows"), max_cols=get("display.max_columns"),
                                      max_colwidth=get("display.max_colwidth"),
                                      show_dimensions=get("display.show_dimensions"))

        _EmbedFrame = EmbedFrame
    return _EmbedFrame


_EmbedFrame = None


def to_frame(df, *, thumbs: bool = True):
    """`df` as an `EmbedFrame` when it has vector or image columns, else unchanged."""
    from embed.imagerefs import image_column

    sample = [tuple(r) for r in df.head(5).itertuples(index=False)]
    image = image_column([str(c) for c in df.columns], sample) if thumbs else None
    if image is None and not any(_is_vector(v) for v in (sample[0] if sample else ())):
        return df
    frame = _frame_class()(df)
    frame.image_column = df.columns[image] if image is not None else None
    return frame


def _is_vector(value) -> bool:
    import numpy as np

    return isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind == "f"


def frame_html(df, image_column=None, max_rows: int | None = None) -> str:
    """An HTML table of `df` (every value escaped) with vectors elided and, in `image_column`, an
    <img> thumbnail per row (a data: URI; the reference itself when it cannot be loaded). At most
    `max_rows` rows (default: pandas' display.max_rows), then a row count."""
    import pandas as pd

    limit = max_rows if max_rows is not None else (pd.get_option("display.max_rows") or len(df))
    shown = df.head(limit)
    thumbs: dict[int, str] = {}
    if image_column is not None and image_column in shown.columns:
        refs = [v for v in shown[image_column].tolist()[:_MAX_THUMBS]]
        thumbs = dict(enumerate(_thumbnails(refs)))
    parts = ['<table class="dataframe embedsql">', "<thead><tr><th></th>"]
    parts += [f"<th>{html.escape(str(c))}</th>" for c in shown.columns]
    parts.append("</tr></thead><tbody>")
    for r, (index, row) in enumerate(shown.iterrows()):
        parts.append(f"<tr><th>{html.escape(str(index))}</th>")
        for col, value in row.items():
            if col == image_column and thumbs.get(r):
                cell = thumbs[r]
            else:
                cell = html.escape(_cell_text(value))
            parts.append(f"<td>{cell}</td>")
        parts.append("</tr>")
    parts.append("</tbody></table>")
    parts.append(f"<p>{len(df)} rows × {len(df.columns)} columns"
                 + (f" (first {len(shown)} shown)" if len(shown) < len(df) else "") + "</p>")
    return "".join(parts)


def _cell_text(value) -> str:
    if _is_vector(value):
        return f"[{len(value)} x {value.dtype}]"
    if value is None:
        return "NULL"
    return str(value)


_CACHE: OrderedDict[str, str] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_ITEMS = 512


def _thumbnails(refs: list) -> list[str | None]:
    """An <img> tag (data: URI) per reference, None where it cannot be loaded; fetched in
    parallel, remembered for the kernel's life (512 most recent)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(_thumbnail, refs))


def _thumbnail(ref) -> str | None:
    from embed.imagerefs import looks_like_image_ref

    if not looks_like_image_ref(ref):
        return None
    with _CACHE_LOCK:
        if ref in _CACHE:
            _CACHE.move_to_end(ref)
            return _CACHE[ref]
    import os

    from embed import FetchOptions, fetch_image
    from embed.errors import UserFacingError

    local = ref if ref[:8].lower().startswith(("http://", "https://", "file://")) else os.path.expanduser(ref)
    try:
        image, _ = fetch_image(local, FetchOptions(timeout=10.0))
    except UserFacingError:
        return None
    img = image.convert("RGB")
    img.thumbnail((THUMB_PX, THUMB_PX))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    tag = (f'<img src="data:image/jpeg;base64,{base64.b64encode(buf.getvalue()).decode()}" '
           f'title="{html.escape(ref, quote=True)}" alt="{html.escape(ref, quote=True)}">')
    with _CACHE_LOCK:
        _CACHE[ref] = tag
        while len(_CACHE) > _CACHE_ITEMS:
            _CACHE.popitem(last=False)
    return tag
