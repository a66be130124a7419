"""`embedsql model stamp`: record the model in use on a vector column (its comment), so EMBED() and
ingestion accept it.

- An empty table is re-stamped for any model: the comment is rewritten, and when the dimension
  changes, the `CHECK length(col) = N` constraint and the column's vector index are rebuilt for the
  new dimension (nothing to lose: the table has no rows).
- A table with rows is re-stamped only with `force=True`, only for a model of the same dimension
  (a user asserting that a folder holds a copy of the recorded model, for a column that records a
  name but no digest). Mixing two models' vectors in one column is never done silently.
- The built-in migrations' state rows are rewritten with the checksums of the built-in files filled
  in for the new model, so `migrate status` shows them applied and unchanged.
"""
from __future__ import annotations

import re

from sqlext.errors import UsageError
from sqlext.text.ddl import split_table_name

from .model import BUILTIN_COLUMN, BUILTIN_TABLE


def _q(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else "`" + name.replace("`", "\\`") + "`"


def _lit(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def stamp(session, identity, *, table: str = BUILTIN_TABLE, column: str = BUILTIN_COLUMN, force: bool = False,
          on_event=None) -> list[str]:
    """Record `identity` (embed.identity.ModelIdentity) on `table`.`column`; returns the
    statements run ([] when the column already records this model). UsageError when the table or
    column does not exist, or the table has rows and the change is not allowed (see above)."""
    from sqlext.db.model_check import mismatch

    say = on_event or (lambda kind, text: None)
    db, name = split_table_name(table)
    where = f"{_q(db)}.{_q(name)}" if db else _q(name)
    catalog = session.catalog
    catalog.invalidate()
    if not catalog.table_exists(table):
        raise UsageError(f"table {table} does not exist", hint="run `embedsql migrate up` first")
    dbx = _lit(db) if db else "currentDatabase()"
    cols = session.query(f"SELECT name FROM system.columns WHERE database = {dbx} AND table = {_lit(name)}").rows
    if column not in {r[0] for r in cols}:
        raise UsageError(f"table {table} has no column {column!r}")
    recorded = catalog.column_model_record(table, column)
    old_dim = catalog.column_dim(table, column)
    if recorded.get("model") and identity.matches(recorded) and (old_dim in (None, identity.dim)):
        say("info", f"{table}.{column} already records {identity.describe()}")
        return []
    rows = int(session.query(f"SELECT count() FROM {where}").rows[0][0])
    if rows:
        if not force or (old_dim is not None and old_dim != identity.dim):
            err = mismatch(table, column, recorded or {"model": "(none)", "dim": str(old_dim or "")}, identity, rows)
            raise UsageError(f"not re-stamping {table}.{column}: {err.message}",
                             hint="re-stamping a table with rows would mix two models' vectors in one column"
                                  + (": pass --force only if the model in use is a copy of the recorded one"
                                     if old_dim in (None, identity.dim) else ""))
    statements = []
    if old_dim is not None and old_dim != identity.dim:
        statements += _resize(session, table, where, dbx, name, column, identity.dim)
    statements.append(f"ALTER TABLE {where} COMMENT COLUMN {_q(column)} {_lit(identity.tag())}")
    for sql in statements:
        say("step", sql)
        session.command(sql)
    catalog.invalidate()
    if (db in (None, "") or db == catalog.database) and name == BUILTIN_TABLE and column == BUILTIN_COLUMN:
        _rewrite_builtin_state(session, identity, say)
    say("done", f"{table}.{column} now records {identity.describe()}")
    return statements


def _resize(session, table, where, dbx, name, column, dim) -> list[str]:
    out = []
    ddl = session.query(f"SELECT create_table_query FROM system.tables WHERE database = {dbx} "
                        f"AND name = {_lit(name)}").rows[0][0]
    pat = re.compile(r"CONSTRAINT\s+(`[^`]+`|\w+)\s+CHECK\s+\(?\s*length\s*\(\s*`?" + re.escape(column)
                     + r"`?\s*\)\s*={1,2}\s*\d+\s*\)?", re.I)
    for m in pat.finditer(ddl):
        cname = m.group(1)
        out.append(f"ALTER TABLE {where} DROP CONSTRAINT {cname}")
        out.append(f"ALTER TABLE {where} ADD CONSTRAINT {cname} CHECK length({_q(column)}) = {dim}")
    idx = session.catalog.vector_index(table, column)
    if idx is not None:
        if session.dialect == "myscale":
            params = [f"'metric_type={idx.metric}'"] + [f"'{k}={v}'" for k, v in idx.params.items()]
            out.append(f"ALTER TABLE {where} DROP VECTOR INDEX {_q(idx.name)}")
            out.append(f"ALTER TABLE {where} ADD VECTOR INDEX {_q(idx.name)} {_q(column)} TYPE "
                       f"{idx.type}({', '.join(params)})")
        else:
            fn = {"Cosine": "cosineDistance", "L2": "L2Distance"}.get(idx.metric, "cosineDistance")
            extra = [_lit(idx.params["quantization"])] if idx.params.get("quantization") else []
            extra += [idx.params[k] for k in ("m", "ef_c") if idx.params.get(k) and extra]
            args = ", ".join([_lit(idx.params.get("method", "hnsw")), _lit(fn), str(dim)] + extra)
            out.append(f"ALTER TABLE {where} DROP INDEX {_q(idx.name)}")
            out.append(f"ALTER TABLE {where} ADD INDEX {_q(idx.name)} {_q(column)} TYPE vector_similarity({args})")
    return out


def _rewrite_builtin_state(session, identity, say) -> None:
    from .files import load_builtin
    from .runner import Runner

    migrations = load_builtin(identity)
    runner = Runner(session, migrations)
    for st in runner.status():
        if st.state == "applied" and st.changed and st.migration is not None:
            mig = st.migration
            runner.state.write(mig, "applied", done=len(mig.up), total=len(mig.up),
                               error="re-stamped for " + identity.tag())
            say("info", f"{mig.label}: recorded as applied for {identity.describe()}")
