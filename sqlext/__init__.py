"""embedsql's SQL layer: EMBED() rewrite, MyScale <-> ClickHouse bridge, connections.

    import sqlext
    s = sqlext.connect()            # embedded ClickHouse (chdb) in the user data dir
    s.query("SELECT 1").rows

Also: `sqlext.dbapi` (a DB-API 2.0 driver) and, in IPython/Jupyter, `%load_ext sqlext` for the
`%%embedsql` cell magic (`sqlext.magic`).
"""
from .errors import (  # noqa: F401
    ConfigError, ConnectionFailed, EmbedSQLError, EngineBusy, RewriteError, ServerError,
    SQLSyntaxError, TranslationError, UsageError,
)
from .db.session import Prepared, Result, Session, Stats, connect, elide_vectors  # noqa: F401


def load_ipython_extension(ipython):
    """`%load_ext sqlext` in IPython/Jupyter: the `%%embedsql` cell magic (see `sqlext.magic`)."""
    from .magic import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython):
    """`%unload_ext sqlext`: close the magic's sessions."""
    from .magic import unload_ipython_extension as unload

    unload(ipython)
