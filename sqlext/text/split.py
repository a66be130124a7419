"""Split a SQL script into statements on `;`, the way ClickHouse's own lexer sees the text.

`split_statements(text) -> list[Statement]`; each `Statement` has
- `text`: the statement exactly as written, surrounding whitespace removed, no trailing `;`
  (comments inside or before the statement are kept byte for byte),
- `start`: offset of `text` in the input (`input[start:start + len(text)] == text`),
- `line`: 1-based line of its first character.

Empty statements (`;;`) and statements that hold only comments are dropped.

A small hand scanner rather than sqlglot's tokenizer: it only has to know where strings, quoted
identifiers and comments begin and end, it is several times faster, and it accepts MyScale and
ClickHouse syntax that sqlglot's tokenizer rejects (`x$y` identifiers, for one). Its rules mirror
ClickHouse's `src/Parsers/Lexer.cpp`:
- `'...'` strings, `"..."` and `` `...` `` identifiers: a backslash escapes the next character and
  a doubled quote stands for itself;
- `$tag$ ... $tag$` heredoc strings (`$$ ... $$` included);
- `--`, `//`, `# ` and `#!` comments run to the end of the line (`#x` is not a comment);
- `/* ... */` comments nest.
An unterminated string, identifier or block comment raises `SQLSyntaxError` with the line and
column of its opening character.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlext.errors import SQLSyntaxError

__all__ = ["Statement", "split_statements", "scan", "lexing_copy"]

_WS = " \t\n\r\f\v"
# Characters after which a `$` continues a word (`x$y`) instead of opening a heredoc.
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
_SPECIAL = re.compile(r"""['"`;$]|--|//|/\*|#[ !]""")
_BLOCK = re.compile(r"/\*|\*/")
_QUOTE_END = {q: re.compile(r"[%s\\]" % re.escape(q)) for q in "'\"`"}
_UNTERMINATED = {
    "'": "unterminated string literal",
    '"': 'unterminated quoted identifier ("...")',
    "`": "unterminated quoted identifier (`...`)",
}


@dataclass(frozen=True)
class Statement:
    """One statement of a script: its text (stripped, no `;`), offset and 1-based line."""

    text: str
    start: int
    line: int

    @property
    def end(self) -> int:
        """Offset just past the statement text in the input."""
        return self.start + len(self.text)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    col = offset - text.rfind("\n", 0, offset)
    return line, col


def _error(text: str, offset: int, what: str) -> SQLSyntaxError:
    line, col = _position(text, offset)
    return SQLSyntaxError(f"{what} starting here", line=line, col=col,
                          hint="close it, or escape the quote inside it ('' or \\')")


def scan(text: str, word_dollars: list[int] | None = None) -> tuple[list[int], list[tuple[int, int]]]:
    """Lex `text` just enough to split it: return (offsets of statement-ending `;`, comment spans
    as (start, end) with end exclusive). Raises SQLSyntaxError on an unterminated literal.
    `word_dollars`, when given, receives the offsets of `$` signs that continue a word (`x$y`)."""
    semicolons: list[int] = []
    comments: list[tuple[int, int]] = []
    n = len(text)
    pos = 0
    search = _SPECIAL.search
    while True:
        m = search(text, pos)
        if m is None:
            return semicolons, comments
        start = m.start()
        tok = m.group()
        c = tok[0]
        if c == ";":
            semicolons.append(start)
            pos = start + 1
        elif c in "'\"`":
            end_re = _QUOTE_END[c]
            i = start + 1
            while True:
                q = end_re.search(text, i)
                if q is None:
                    raise _error(text, start, _UNTERMINATED[c])
                j = q.start()
                if text[j] == "\\":
                    if j + 1 >= n:
                        raise _error(text, start, _UNTERMINATED[c])
                    i = j + 2
                elif j + 1 < n and text[j + 1] == c:
                    i = j + 2
                else:
                    pos = j + 1
                    break
        elif c == "$":
            pos = start + 1
            if start > 0 and text[start - 1] in _WORD_CHARS:
                if word_dollars is not None:
                    word_dollars.append(start)
                continue  # part of a word such as x$y
            close = text.find("$", start + 1)
            if close != -1:
                tag = text[start:close + 1]
                end = text.find(tag, close + 1)
                if end != -1:
                    pos = end + len(tag)
        elif tok == "/*":
            depth = 1
            i = start + 2
            while depth:
                b = _BLOCK.search(text, i)
                if b is None:
                    raise _error(text, start, "unterminated /* comment")
                depth += 1 if b.group() == "/*" else -1
                i = b.end()
            comments.append((start, i))
            pos = i
        else:  # --, //, "# ", "#!": to the end of the line
            end = text.find("\n", start)
            end = n if end == -1 else end
            comments.append((start, end))
            pos = end


def lexing_copy(text: str) -> str:
    """`text` made readable for sqlglot's tokenizer, same length and offsets: comments (all of
    ClickHouse's kinds, `//` and nested `/* */` included, which sqlglot does not all know) become
    spaces (line breaks kept), a leading byte order mark a space, and a `$` inside a word (`x$y`, which sqlglot rejects) becomes `_`.
    Strings and quoted identifiers are untouched. Raises SQLSyntaxError like `scan`."""
    dollars: list[int] = []
    _, comments = scan(text, dollars)
    bom = text.startswith("\ufeff")  # a byte order mark (files saved by some editors): whitespace
    if not comments and not dollars and not bom:
        return text
    chars = list(text)
    if bom:
        chars[0] = " "
    for s, e in comments:
        for i in range(s, e):
            if chars[i] not in "\r\n":
                chars[i] = " "
    for i in dollars:
        chars[i] = "_"
    return "".join(chars)


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


def split_statements(text: str) -> list[Statement]:
    """Split a script on `;` outside strings, quoted identifiers and comments (see module doc)."""
    semicolons, comments = scan(text)
    out: list[Statement] = []
    bounds = semicolons + [len(text)]
    seg_start = 0
    ci = 0
    line, line_at = 1, 0
    for seg_end in bounds:
        while ci < len(comments) and comments[ci][1] <= seg_start:
            ci += 1
        if _has_code(text, seg_start, seg_end, comments, ci):
            chunk = text[seg_start:seg_end]
            stripped = chunk.lstrip(_WS)
            start = seg_start + len(chunk) - len(stripped)
            stmt = stripped.rstrip(_WS)
            line += text.count("\n", line_at, start)
            line_at = start
            out.append(Statement(stmt, start, line))
        seg_start = seg_end + 1
    return out
