"""The dialect bridge: MyScale vector SQL <-> ClickHouse, and the vector-query lints.

    translate(sql, *, target="clickhouse"|"myscale", catalog=None) -> Translation
    lint(sql, catalog=None, *, dialect="clickhouse") -> list[str]

`Translation.sql` is a **list of statements** to run in order: a MyScale `ADD VECTOR INDEX`
becomes two ClickHouse statements (ADD INDEX, then MATERIALIZE INDEX), and a ClickHouse
`MATERIALIZE INDEX` of a vector index becomes none on MyScale. When nothing needed translating
it is exactly `[sql]`, byte for byte (trailing `;` and comments included). Translated
statements are the original text with only the translated spans replaced (we splice, we do
not regenerate). `notes` says what was translated (for --explain); `warnings` what could not
be carried over (e.g. a search parameter with no equivalent).

The bridge runs after the EMBED rewrite, so query vectors are literal arrays by then.
Untranslatable input raises sqlext.errors.TranslationError (with line:column and a hint).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlext.text.dialects._tokens import statements, tokenize
from sqlext.text.dialects.lint import lint

__all__ = ["translate", "lint", "Translation", "TARGETS"]

TARGETS = ("clickhouse", "myscale")

# Cheap lower-case substring checks: a statement without any of these is returned untouched
# without tokenizing (query vectors can be thousands of characters).
_KEYWORDS = {
    "clickhouse": ("distance", "vector", "textsearch", "hybridsearch", "fts", "tantivy"),
    "myscale": ("vector", "distance", "dotproduct", "hnsw", "materialize", "text", "__tokens"),
}


@dataclass
class Translation:
    sql: list[str]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changed: bool = False

    @property
    def statements(self) -> list[str]:
        """Alias of `sql`: the statements to run, in order."""
        return self.sql

    @property
    def text(self) -> str:
        """The statements as one script (for display)."""
        return ";\n".join(s.rstrip().rstrip(";") for s in self.sql) if self.changed else "".join(self.sql)


def translate(sql: str, *, target: str = "clickhouse", catalog=None) -> Translation:
    """Translate `sql` (one statement, or several separated by `;`) for `target`.

    target "clickhouse": MyScale constructs -> ClickHouse; target "myscale": ClickHouse vector
    constructs -> MyScale. `catalog` (sqlext.text.ddl.Catalog) gives index metrics and
    dimensions; None means nothing is known (MyScale's defaults apply).
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target dialect {target!r} (expected one of {TARGETS})")
    low = sql.lower()
    if not any(k in low for k in _KEYWORDS[target]):
        return Translation([sql])
    toks = tokenize(sql)
    if not toks:
        return Translation([sql])
    if target == "clickhouse":
        from sqlext.text.dialects.myscale_to_clickhouse import translate_statement
        state = None
    else:
        from sqlext.text.dialects.clickhouse_to_myscale import translate_statement
        state = {}
    out, notes, warnings, changed = [], [], [], False
    for st in statements(sql, toks):
        r = translate_statement(st.text, st.toks, catalog) if state is None else \
            translate_statement(st.text, st.toks, catalog, state)
        out.extend(r.statements)
        notes.extend(r.notes)
        warnings.extend(r.warnings)
        changed = changed or r.changed
    if not changed:
        return Translation([sql], notes, warnings, False)
    return Translation(out, notes, warnings, True)
