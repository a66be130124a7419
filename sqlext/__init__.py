"""embedsql's SQL layer: EMBED() rewrite, MyScale <-> ClickHouse bridge, connections.

    import sqlext
    s = sqlext.connect()            # embedded ClickHouse (chdb) in the user data dir
    s.query("SELECT 1").rows

Also: `sqlext.dbapi` (a DB-API 2.0 driver) and, in IPython/Jupyter, `%load_ext sqlext` for the
`%%embedsql` cell magic (`sqlext.magic`).
"""

def _check_not_shadowed() -> None:
    """The `embed` package installed beside this one, not a file or folder of the same name
    earlier on sys.path (`embed.py` beside a user's script): raise ImportError saying which
    file hides it (without this check: a circular import error naming neither)."""
    import importlib.util
    import os
    import sys

    ours = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.find_spec("embed") if "embed" not in sys.modules else None
    origin = getattr(spec, "origin", None) or ""
    if spec is not None and origin and not os.path.abspath(origin).startswith(ours + os.sep):
        raise ImportError(f"embedsql's package 'embed' is hidden by {origin}, which comes first on sys.path; "
                          f"rename that file or folder, or run Python from another directory")


_check_not_shadowed()

from .errors import (  # noqa: F401, E402
    ConfigError, ConnectionFailed, EmbedSQLError, EngineBusy, RewriteError, ServerError,
    SQLSyntaxError, TranslationError, UsageError,
)
from .db.session import Prepared, Result, Session, Stats, connect, elide_vectors  # noqa: F401, E402


def load_ipython_extension(ipython):
    """`%load_ext sqlext` in IPython/Jupyter: the `%%embedsql` cell magic (see `sqlext.magic`)."""
    from .magic import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython):
    """`%unload_ext sqlext`: close the magic's sessions."""
    from .magic import unload_ipython_extension as unload

    unload(ipython)
