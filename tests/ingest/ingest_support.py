"""Helpers for the ingestion tests: the built-in photo table's DDL (plain ClickHouse) and a session."""
from __future__ import annotations

def photos_ddl(table: str = "photos", dim: int = 512, model: str | None = None) -> str:
    """The built-in migration's CREATE TABLE (so these tests follow the real schema), with another
    table name, dimension or model tag (none: no COMMENT on photo_embed)."""
    import re

    from migrations.files import BUILTIN_DIR, load_file

    ddl = load_file(BUILTIN_DIR / "0001_photos_table.sql").up[0].text
    ddl = re.sub(r"CREATE TABLE IF NOT EXISTS photos\b", f"CREATE TABLE {table}", ddl)
    comment = f" COMMENT 'embedsql:model={model};dim={dim}'" if model else ""
    ddl = re.sub(r" COMMENT '\{\{embedding_model\}\}'", comment, ddl)
    ddl, n = re.subn(r"length\(photo_embed\) = \{\{embedding_dim\}\}", f"length(photo_embed) = {dim}", ddl)
    assert n == 1 and f"CREATE TABLE {table}" in ddl, "the built-in schema changed: update this helper"
    return ddl


def create_photos(session, table: str = "photos", dim: int = 512, model: str | None = None) -> None:
    session.command(photos_ddl(table, dim, model), verbatim=True)


def count(session, table: str = "photos", where: str = "") -> int:
    return int(session.query(f"SELECT count() FROM {table} {where}", verbatim=True).rows[0][0])


def ids(session, table: str = "photos") -> list[int]:
    return sorted(int(r[0]) for r in session.query(f"SELECT id FROM {table}", verbatim=True).rows)
