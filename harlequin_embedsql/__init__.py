"""A Harlequin adapter for embedsql: `harlequin -a embedsql [DSN]` runs SQL with EMBED() on the
embedded ClickHouse or a ClickHouse/MyScale server, in Harlequin's terminal IDE.

Installed with `pip install 'embedsql[harlequin]'`; Harlequin finds it through the
`harlequin.adapter` entry point `embedsql`. Options are the `embedsql` command's: a DSN (positional
or `--dsn`), `--connection NAME`, `--dialect`, `--model`; the password of a server comes from
EMBEDSQL_PASSWORD. Built on `sqlext.Session`'s public API only.
"""
from harlequin_embedsql.adapter import EmbedSQLAdapter, EmbedSQLConnection, EmbedSQLCursor

__all__ = ["EmbedSQLAdapter", "EmbedSQLConnection", "EmbedSQLCursor"]
