"""Split a SQL script into statements on `;`, the way ClickHouse's own lexer sees the text.

`split_statements(text) -> list[Statement]`; each `Statement` has
- `text`: the statement exactly as written, surrounding whitespace removed, no trailing `;`
  (comments inside or before the statement are kept byte for byte),
- `start`: offset of `text` in the input (`input[start:start + len(text)] == text`),
- `line`, `col`: 1-based line and column of its first character,
- `tokens`: its tokens (`sqlext.text.tokens.Tokens`, offsets in `text`), so the statement is not
  lexed again downstream (`Session.execute(statement)` takes a Statement).

Empty statements (`;;`) and statements that hold only comments are dropped. The lexing rules
are those of `sqlext.text.tokens` (ClickHouse's: `--`, `//`, `# ` comments, nested `/* */`,
heredocs, `x$y` names). An unterminated string, identifier or block comment raises
`SQLSyntaxError` with the line and column of its opening character.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlext.text.tokens import Tokens, tokenize

__all__ = ["Statement", "split_statements", "statement"]


@dataclass(frozen=True)
class Statement:
    """One statement of a script: its text (stripped, no `;`), offset, 1-based line and column,
    and its tokens."""

    text: str
    start: int
    line: int
    col: int = field(default=1, compare=False)
    tokens: Tokens | None = field(default=None, compare=False, repr=False)

    @property
    def end(self) -> int:
        """Offset just past the statement text in the input."""
        return self.start + len(self.text)

    def position(self, line: int, col: int) -> tuple[int, int]:
        """A (line, column) in this statement's text -> the same place in the script."""
        return (self.line + line - 1, col + self.col - 1 if line == 1 else col)


def split_statements(text: str, tokens: Tokens | None = None) -> list[Statement]:
    """Split a script on `;` outside strings, quoted identifiers and comments (see module doc).
    `tokens`: the script's tokens when the caller has them already."""
    toks = tokenize(text) if tokens is None else tokens
    out: list[Statement] = []
    line, line_at = 1, 0
    for start, st in toks.statements():
        line += text.count("\n", line_at, start)
        line_at = start
        col = start - text.rfind("\n", 0, start)
        out.append(Statement(st.text, start, line, col, st))
    return out


def statement(sql: str | Statement) -> Statement:
    """`sql` as a Statement (lexed once here when it is a string); a Statement is returned as is."""
    if isinstance(sql, Statement):
        if sql.tokens is None:
            return Statement(sql.text, sql.start, sql.line, sql.col, tokenize(sql.text))
        return sql
    return Statement(sql, 0, 1, 1, tokenize(sql))
