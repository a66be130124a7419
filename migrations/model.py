"""The model the built-in migrations are for: which one, and whether an existing table agrees.

`migrate up` fills the built-in files in for the configured model (migrations.files.load_builtin).
Before it runs anything, `check_table` refuses when the built-in table already exists for another
model: the vectors in it could not be compared with the new model's, and the file checksums would
change under it. The error names both models, says whether the table holds rows, and gives ways
out that work offline (sqlext.db.model_check).
"""
from __future__ import annotations

from sqlext.db.model_check import check_column_model

BUILTIN_TABLE = "photos"
BUILTIN_COLUMN = "photo_embed"


def check_table(session, identity, *, model_ref: str | None = None, table: str = BUILTIN_TABLE,
                column: str = BUILTIN_COLUMN) -> None:
    """Raise sqlext.db.model_check.ModelMismatch when `table`.`column` exists and records a model
    other than `identity` (an embed.identity.ModelIdentity). Nothing recorded, or no table: no check."""
    recorded = session.catalog.column_model_record(table, column)
    check_column_model(table, column, recorded, identity, lambda: session.count_rows(table),
                       model_ref=model_ref, using="the migrations are for")
