"""`embedsql model stamp`: record the model in use on a vector column (its comment), so EMBED() and
ingestion accept it.

- An empty table is re-stamped for any model: the comment is rewritten, and when the dimension
  changes, the `CHECK length(col) = N` constraint and the column's vector index are rebuilt for the
  new dimension (nothing to lose: the table has no rows).
- A table with rows is re-stamped only with `force=True`, only for a model of the same dimension
  (a user asserting that a folder holds a copy of the recorded model, for a column that records a
  name but no digest). Mixing two models' vectors in one column is never done silently.
- The built-in migrations' state rows are rewritten with the checksums of the built-in files filled
  in for the new model, so `migrate status` shows them applied and unchanged. The built-in table is
  changed, and its state rewritten, under the migration lock, as `migrate` changes it.
"""
from __future__ import annotations

import contextlib
import re

from sqlext.errors import UsageError
from sqlext.text.ddl import length_constraint_names, qualified_name, quote_identifier, split_table_name, string_literal

from .model import BUILTIN_COLUMN, BUILTIN_TABLE


def stamp(session, identity, *, table: str = BUILTIN_TABLE, column: str = BUILTIN_COLUMN, force: bool = False,
          on_event=None, lock_timeout: float = 30.0) -> list[str]:
    """Record `identity` (embed.identity.ModelIdentity) on `table`.`column`; returns the
    statements run ([] when the column already records this model). UsageError when the table or
    column does not exist, or the table has rows and the change is not allowed (see above). The
    built-in table's migration state is rewritten under the migration lock (waiting up to
    `lock_timeout` seconds: migrations.state.LockTimeout, naming the holder)."""
    from sqlext.db.model_check import mismatch

    say = on_event or (lambda kind, text: None)
    db, name = split_table_name(table)
    where = qualified_name(table)
    catalog = session.catalog
    catalog.invalidate()
    info = catalog.table_info(table)
    if not info.exists:
        raise UsageError(f"table {table} does not exist", hint="run `embedsql migrate up` first")
    if column not in info.columns:
        raise UsageError(f"table {table} has no column {column!r}")
    ctype = re.sub(r"^(?:Nullable|LowCardinality)\((.*)\)$", r"\1", info.columns[column])
    if not re.match(r"Array\((?:Float32|Float64|BFloat16)\)$", ctype):
        vectors = [c for c, t in info.columns.items() if re.match(r"Array\((?:Float32|Float64|BFloat16)\)$", t)]
        raise UsageError(f"{table}.{column} is {info.columns[column]}, not a vector column: a model is recorded "
                         f"on the Array(Float32) column its vectors are stored in",
                         hint=f"name the vector column: {', '.join(f'{table}.{c}' for c in vectors)}" if vectors
                         else f"{table} has no Array(Float32) column")
    comment = (info.comments.get(column) or "").strip()
    recorded = catalog.column_model_record(table, column)
    if comment and not recorded and not force:
        raise UsageError(f"{table}.{column} has a comment of its own ({comment!r}); stamping would replace it",
                         hint="pass --force to replace it with the model's record")
    old_dim = catalog.column_dim(table, column)
    if recorded.get("model") and identity.matches(recorded) and (old_dim in (None, identity.dim)):
        say("info", f"{table}.{column} already records {identity.describe()}")
        return []
    rows = session.count_rows(table)
    if rows:
        if not force or (old_dim is not None and old_dim != identity.dim):
            err = mismatch(table, column, recorded or {"model": "(none)", "dim": str(old_dim or "")}, identity, rows)
            raise UsageError(f"not re-stamping {table}.{column}: {err.message}",
                             hint="re-stamping a table with rows would mix two models' vectors in one column"
                                  + (": pass --force only if the model in use is a copy of the recorded one"
                                     if old_dim in (None, identity.dim) else ""))
    statements = []
    if old_dim is not None and old_dim != identity.dim:
        statements += _resize(session, table, where, info.create_query, column, identity.dim)
    statements.append(f"ALTER TABLE {where} COMMENT COLUMN {quote_identifier(column)} {string_literal(identity.tag())}")
    builtin = (db in (None, "") or db == catalog.database) and name == BUILTIN_TABLE and column == BUILTIN_COLUMN
    # the built-in table belongs to the migrations: change it and their state under their lock
    with _builtin_runner(session, identity, say, lock_timeout) if builtin else contextlib.nullcontext() as runner:
        for sql in statements:
            say("step", sql)
            session.command(sql)
        catalog.invalidate()
        if runner is not None:
            _rewrite_builtin_state(runner, identity, say)
    say("done", f"{table}.{column} now records {identity.describe()}")
    return statements


def _resize(session, table, where, create_query, column, dim) -> list[str]:
    """The statements that move `column`'s length constraints and vector index to `dim`."""
    out = []
    q = quote_identifier
    for cname in length_constraint_names(create_query, column):
        out.append(f"ALTER TABLE {where} DROP CONSTRAINT {q(cname)}")
        out.append(f"ALTER TABLE {where} ADD CONSTRAINT {q(cname)} CHECK length({q(column)}) = {dim}")
    idx = session.catalog.vector_index(table, column)
    if idx is not None:
        if session.dialect == "myscale":
            params = [string_literal(f"metric_type={idx.metric}")] + [string_literal(f"{k}={v}") for k, v in idx.params.items()]
            out.append(f"ALTER TABLE {where} DROP VECTOR INDEX {q(idx.name)}")
            out.append(f"ALTER TABLE {where} ADD VECTOR INDEX {q(idx.name)} {q(column)} TYPE "
                       f"{idx.type}({', '.join(params)})")
        else:
            fn = {"Cosine": "cosineDistance", "L2": "L2Distance"}.get(idx.metric, "cosineDistance")
            extra = [string_literal(idx.params["quantization"])] if idx.params.get("quantization") else []
            extra += [idx.params[k] for k in ("m", "ef_c") if idx.params.get(k) and extra]
            args = ", ".join([string_literal(idx.params.get("method", "hnsw")), string_literal(fn), str(dim)] + extra)
            out.append(f"ALTER TABLE {where} DROP INDEX {q(idx.name)}")
            out.append(f"ALTER TABLE {where} ADD INDEX {q(idx.name)} {q(column)} TYPE vector_similarity({args})")
    return out


@contextlib.contextmanager
def _builtin_runner(session, identity, say, lock_timeout: float):
    """A Runner of the built-in migrations filled in for `identity`, holding the migration lock
    (waiting up to `lock_timeout` s) for the block, so no `migrate` runs meanwhile."""
    from .files import load_builtin
    from .runner import Runner

    runner = Runner(session, load_builtin(identity), lock_timeout=lock_timeout,
                    on_event=lambda kind, text: say("info", text) if kind == "wait" else None)
    with runner._locked():
        yield runner


def _rewrite_builtin_state(runner, identity, say) -> None:
    """Record the built-in migrations of `runner` (filled in for `identity`) as applied: their
    checksums change with the model. Called holding the migration lock (`_builtin_runner`)."""
    for st in runner.statuses(lock_live=False):
        if st.state == "applied" and st.changed and st.migration is not None:
            mig = st.migration
            runner.state.write(mig, "applied", done=len(mig.up), total=len(mig.up),
                               error="re-stamped for " + identity.tag())
            say("info", f"{mig.label}: recorded as applied for {identity.describe()}")
