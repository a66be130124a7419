"""The dialect bridge: MyScale vector SQL <-> ClickHouse, and the vector-query lints.

    translate(sql, *, target="clickhouse"|"myscale", catalog=None) -> Translation
    lint(sql, catalog=None, *, dialect="clickhouse", settings=None) -> list[str]

`sql` is text or its tokens (`sqlext.text.tokens.tokenize`); given tokens, nothing is lexed again
except text the bridge writes.

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

from sqlext.errors import EmbedSQLError

from sqlext.text.dialects._common import statement_pieces
from sqlext.text.dialects.lint import lint
from sqlext.text.tokens import Tokens, tokenize

__all__ = ["translate", "lint", "may_change", "Translation", "TARGETS"]

TARGETS = ("clickhouse", "myscale")

# Cheap lower-case substring checks: a statement without any of these is returned untouched
# without tokenizing (query vectors can be thousands of characters).
_KEYWORDS = {
    "clickhouse": ("distance", "vector", "textsearch", "hybridsearch", "fts", "tantivy", "two_stage_search",
                   "hybrid_search_fusion"),
    "myscale": ("vector", "distance", "dotproduct", "hnsw", "materialize", "text", "__tokens"),
}


@dataclass
class Translation:
    """The statements to run (`sql`, with their tokens in `tokens`), notes on what was
    translated, warnings on what could not be carried over, and whether anything changed."""

    sql: list[str]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changed: bool = False
    tokens: list[Tokens] = field(default_factory=list, repr=False)

    @property
    def statements(self) -> list[str]:
        """Alias of `sql`: the statements to run, in order."""
        return self.sql

    @property
    def text(self) -> str:
        """The statements as one script (for display)."""
        return ";\n".join(s.rstrip().rstrip(";") for s in self.sql) if self.changed else "".join(self.sql)


def may_change(sql: str, target: str) -> bool:
    """Whether the bridge (for `target`) or the lints might change or warn about `sql`: the words
    they look for occur in it. False means translate() returns it as is and lint() finds nothing."""
    low = sql.lower()
    return any(k in low for k in _KEYWORDS.get(target, ())) or "distance" in low or "dotproduct" in low


def translate(sql: "str | Tokens", *, target: str = "clickhouse", catalog=None) -> Translation:
    """Translate `sql` (one statement, or several separated by `;`) for `target`.

    target "clickhouse": MyScale constructs -> ClickHouse; target "myscale": ClickHouse vector
    constructs -> MyScale. `catalog` (sqlext.text.ddl.Catalog) gives index metrics and
    dimensions; None means nothing is known (MyScale's defaults apply).
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target dialect {target!r} (expected one of {TARGETS})")
    toks = sql if isinstance(sql, Tokens) else None
    text = toks.text if toks is not None else sql
    low = text.lower()
    if not any(k in low for k in _KEYWORDS[target]):
        return Translation([text], tokens=[toks] if toks is not None else [])
    if toks is None:
        try:
            toks = tokenize(text)
        except EmbedSQLError:  # unreadable text: sent as written, the server reports the error
            return Translation([text])
    if not toks:
        return Translation([text], tokens=[toks])
    if target == "clickhouse":
        from sqlext.text.dialects.myscale_to_clickhouse import to_clickhouse as translate_one
        state = None
    else:
        from sqlext.text.dialects.clickhouse_to_myscale import to_myscale as translate_one
        state = {}
    out, out_toks, notes, warnings, changed = [], [], [], [], False
    for st in statement_pieces(toks):
        r = translate_one(st, catalog) if state is None else translate_one(st, catalog, state)
        out.extend(r.statements)
        out_toks.extend(r.tokens)
        notes.extend(r.notes)
        warnings.extend(r.warnings)
        changed = changed or r.changed
    if not changed:
        return Translation([text], notes, warnings, False, [toks])
    return Translation(out, notes, warnings, True, out_toks)
