"""The adapter's options: the `embedsql` command's connection options, by the same names
(`-c` is Harlequin's own `--command`, so `--connection` has no short form here)."""
from __future__ import annotations

from harlequin.options import SelectOption, TextOption

dsn = TextOption(
    name="dsn",
    description=("chdb:///path (an embedded database) or http(s)://user@host:port/db (a ClickHouse or "
                 "MyScale server); may also be given as the argument. Default: EMBEDSQL_DSN, the "
                 "config file, then the embedded database. The password comes from EMBEDSQL_PASSWORD."),
)

connection = TextOption(
    name="connection",
    description="A named connection from embedsql's config file (~/.config/embedsql/config.toml).",
)

dialect = SelectOption(
    name="dialect",
    description="Override the detected dialect of the server.",
    choices=["myscale", "clickhouse"],
)

model = TextOption(
    name="model",
    description=("The CLIP model for EMBED: a hub id or a local directory "
                 "(default: EMBEDSQL_MODEL or openai/clip-vit-base-patch32)."),
)

EMBEDSQL_OPTIONS = [dsn, connection, dialect, model]
