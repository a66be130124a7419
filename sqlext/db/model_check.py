"""Is the model in use the one a vector column was filled with?

A vector column records its model in its comment (`embedsql:model=NAME;family=F;dim=N;digest=HEX`,
written by the built-in migrations and by `embedsql model stamp`; `sqlext.text.ddl.parse_model_comment`
reads it). EMBED() against the column, and ingestion into it, first check that the model in use has
that identity (`embed.identity.ModelIdentity.matches`: the content digest when both are known, the
name otherwise). A mismatch is a `ModelMismatch` that names both models, says whether the table
holds rows, and gives ways out that work offline.
"""
from __future__ import annotations

from typing import Callable

from embed.identity import describe_recorded

from ..errors import ServerError, UsageError


class ModelMismatch(UsageError):
    """The model in use is not the one a vector column records. `table`, `column`, `recorded`
    (the comment's dict), `rows` (the table's row count, None when unknown)."""

    def __init__(self, message: str, *, hint: str, table: str, column: str, recorded: dict, rows: int | None):
        super().__init__(message, hint=hint)
        self.table, self.column, self.recorded, self.rows = table, column, recorded, rows


def check_column_model(table: str, column: str, recorded: dict, identity, count_rows: Callable[[], int],
                       *, model_ref: str | None = None, using: str = "embedsql is using") -> None:
    """Raise ModelMismatch when `identity` (embed.identity.ModelIdentity of the model in use) is
    not the model `recorded` (the column comment's dict; {} = nothing recorded: no check).
    `count_rows()` is asked only on a mismatch, for the message; `model_ref` is the model as the
    user gave it (for the commands the message suggests)."""
    if not recorded.get("model") or identity.matches(recorded):
        return
    try:
        rows = int(count_rows())
    except ServerError:  # the message is still useful without the count
        rows = None
    raise mismatch(table, column, recorded, identity, rows, model_ref=model_ref, using=using)


def mismatch(table: str, column: str, recorded: dict, identity, rows: int | None, *,
             model_ref: str | None = None, using: str = "embedsql is using") -> ModelMismatch:
    """The ModelMismatch for these two models (see the module docstring for what it says)."""
    where = f"{table}.{column}"
    if rows is None:
        content = ""
    elif rows == 0:
        content = f"; {table} is empty"
    else:
        content = f"; {table} holds {rows} row{'s' * (rows != 1)} of its vectors"
    msg = (f"{where} is for model {describe_recorded(recorded)}, but {using} {identity.describe()}{content}")
    same_dim = str(identity.dim) == str(recorded.get("dim", identity.dim))
    ways = [f"point --model (or EMBEDSQL_MODEL, or model = \"...\" in the config file) at a local copy of "
            f"{recorded.get('model')!r}: any folder holding the same weights is recognised"]
    stamp = f"embedsql model stamp {where}" + (f" --model {_shell(model_ref)}" if model_ref else "")
    if rows == 0:
        ways.insert(0, f"the table is empty: re-stamp it for the model in use with `{stamp}`"
                       + ("" if same_dim else f" (it changes the column from {recorded.get('dim')}-d to "
                                              f"{identity.dim}-d and rebuilds its vector index)"))
    elif not recorded.get("digest") and same_dim:
        ways.append(f"if {identity.name!r} is a copy of {recorded.get('model')!r} (the column records no "
                    f"digest, only a name), record that with `{stamp} --force`")
    elif rows:
        ways.append("ingest into a new table made for this model")
    return ModelMismatch(msg, hint="; or ".join(ways), table=table, column=column, recorded=recorded, rows=rows)


def _shell(text: str) -> str:
    import shlex

    return shlex.quote(text)
