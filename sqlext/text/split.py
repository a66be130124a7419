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

import re
from dataclasses import dataclass, field

from sqlext.text.tokens import Tokens, scan, tokenize

__all__ = ["Statement", "split_statements", "statement"]

_WS = " \t\n\r\f\v\ufeff"


@dataclass(frozen=True)
class Statement:
    """One statement of a script: its text (stripped, no `;`), offset, 1-based line and column,
    and its tokens (`tokens`: lexed on first use, then kept; origins relative to `text`)."""

    text: str
    start: int
    line: int
    col: int = field(default=1, compare=False)
    lexed: Tokens | None = field(default=None, compare=False, repr=False)

    @property
    def end(self) -> int:
        """Offset just past the statement text in the input."""
        return self.start + len(self.text)

    @property
    def tokens(self) -> Tokens:
        """The statement's tokens (lexed once, on first use)."""
        if self.lexed is None:
            object.__setattr__(self, "lexed", tokenize(self.text))
        return self.lexed

    @property
    def kind(self):
        """The statement's kind (`sqlext.text.kinds.Kind`): from its tokens, or from its head for
        a large statement without rows (then it is not lexed here)."""
        from sqlext.text.kinds import LARGE, kind_of

        return kind_of(self.text, self.tokens if len(self.text) <= LARGE else None)

    @property
    def head_line(self) -> int:
        """The 1-based script line of the statement's first word, after the comments before it
        (`SELECT 1; -- note` then `SELECT 2` on the next line: the second statement's text starts
        with the comment, on the first line; its head is on the second). For messages that name a
        statement's line; `position` maps places inside it."""
        lead = LEADING.match(self.text)
        return self.line + self.text.count("\n", 0, lead.end() if lead else 0)

    def position(self, line: int, col: int) -> tuple[int, int]:
        """A (line, column) in this statement's text -> the same place in the script."""
        return (self.line + line - 1, col + self.col - 1 if line == 1 else col)


#: whitespace and comments (`--`, `#`, `/* */`) before a statement's first word
LEADING = re.compile(r"(?:\s+|--[^\n]*+\n?|#[^\n]*+\n?|/\*.*?\*/)*+", re.S)


def _has_code(text: str, start: int, end: int, comments: list[tuple[int, int]], ci: int) -> bool:
    """Whether text[start:end] holds anything but whitespace and comments (comments from ci on)."""
    pos = start
    for cs, ce in comments[ci:]:
        if cs >= end:
            break
        if text[pos:cs].strip(_WS):
            return True
        pos = max(pos, ce)
    return bool(text[pos:end].strip(_WS))


def split_statements(text: str, tokens: Tokens | None = None) -> list[Statement]:
    """Split a script on `;` outside strings, quoted identifiers and comments (see module doc).
    The script is not lexed into tokens here (each statement is, on first use); `tokens`: the
    script's tokens when the caller has them already (each statement then gets its share)."""
    out: list[Statement] = []
    if tokens is not None:
        line, line_at = 1, 0
        for start, st in tokens.statements(rebase_origins=True):
            line += text.count("\n", line_at, start)
            line_at = start
            out.append(Statement(st.text, start, line, start - text.rfind("\n", 0, start), st))
        return out
    sc = scan(text)
    comments = sc.comments
    seg_start, ci = 0, 0
    line, line_at = 1, 0
    for seg_end in sc.semicolons + [len(text)]:
        while ci < len(comments) and comments[ci][1] <= seg_start:
            ci += 1
        if _has_code(text, seg_start, seg_end, comments, ci):
            chunk = text[seg_start:seg_end]
            stripped = chunk.lstrip(_WS)
            start = seg_start + len(chunk) - len(stripped)
            body = stripped.rstrip(_WS)
            line += text.count("\n", line_at, start)
            line_at = start
            out.append(Statement(body, start, line, start - text.rfind("\n", 0, start)))
        seg_start = seg_end + 1
    return out


def statement(sql: str | Statement) -> Statement:
    """`sql` as a Statement (its tokens lexed on first use); a Statement is returned as is."""
    if isinstance(sql, Statement):
        return sql
    return Statement(sql, 0, 1, 1)
