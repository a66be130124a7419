"""embedsql's SQL layer: EMBED() rewrite, MyScale <-> ClickHouse bridge, connections.

    import sqlext
    s = sqlext.connect()            # embedded ClickHouse (chdb) in the user data dir
    s.query("SELECT 1").rows
"""
from .errors import (  # noqa: F401
    ConfigError, ConnectionFailed, EmbedSQLError, EngineBusy, RewriteError, ServerError,
    SQLSyntaxError, TranslationError, UsageError,
)
from .db.session import Prepared, Result, Session, Stats, connect, elide_vectors  # noqa: F401
