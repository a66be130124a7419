"""Token-level helpers shared by the two translation directions and the lints.

We never regenerate SQL: sqlglot's ClickHouse tokenizer gives each token its character span
(strings and comments are single tokens or skipped), we decide what to replace, and `splice`
writes the replacements into the original text. Everything else stays byte for byte.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot.dialects.clickhouse import ClickHouse
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from sqlext.errors import TranslationError

_DIALECT = ClickHouse()


@dataclass(frozen=True)
class Tok:
    type: TokenType
    text: str        # for strings: the unquoted value; for quoted identifiers: the name
    start: int       # char offset in the statement text
    end: int         # exclusive
    line: int
    col: int
    depth: int       # paren/bracket depth at the token (an opening bracket has the outer depth)

    @property
    def low(self) -> str:
        return self.text.lower()

    @property
    def up(self) -> str:
        return self.text.upper()


_OPEN = {TokenType.L_PAREN, TokenType.L_BRACKET}
_CLOSE = {TokenType.R_PAREN, TokenType.R_BRACKET}
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def tokenize(sql: str) -> list[Tok] | None:
    """Tokens with spans, or None when the text cannot be tokenized (unclosed quote...): the
    bridge then leaves the text alone and lets the server report the error."""
    from sqlext.errors import SQLSyntaxError
    from sqlext.text.split import lexing_copy

    try:
        # ClickHouse comments sqlglot does not know (`//`, nested `/* */`) blanked and `x$y`
        # made readable, offsets unchanged: a construct in a comment is never translated
        text = lexing_copy(sql)
        raw = _DIALECT.tokenize(text)
    except (TokenError, SQLSyntaxError, Exception):  # noqa: BLE001 - any tokenizer failure: do not translate
        return None
    out = []
    depth = 0
    for t in raw:
        if text is not sql and sql[t.start:t.end + 1] != text[t.start:t.end + 1]:
            t.text = sql[t.start:t.end + 1]  # a name such as x$y keeps its own spelling
        if t.token_type in _CLOSE:
            depth -= 1
        # sqlglot's end is inclusive; line/col are 1-based with col at the token's end
        out.append(Tok(t.token_type, t.text, t.start, t.end + 1, t.line, t.col - len(t.text) + 1
                       if t.token_type not in (TokenType.STRING, TokenType.IDENTIFIER) else t.col,
                       depth))
        if t.token_type in _OPEN:
            depth += 1
    return out


def line_col(sql: str, offset: int) -> tuple[int, int]:
    line = sql.count("\n", 0, offset) + 1
    col = offset - (sql.rfind("\n", 0, offset) + 1) + 1
    return line, col


def error(sql: str, tok: Tok | None, message: str, hint: str | None = None) -> TranslationError:
    if tok is None:
        return TranslationError(message, hint=hint)
    line, col = line_col(sql, tok.start)
    return TranslationError(message, line=line, col=col, hint=hint)


def is_name(t: Tok) -> bool:
    if t.type == TokenType.IDENTIFIER:
        return True
    if t.type in (TokenType.STRING, TokenType.NUMBER):
        return False
    return bool(_WORD.match(t.text))


def match_close(toks: list[Tok], i: int) -> int:
    """Index of the bracket closing toks[i] (an opening one), or -1."""
    d = toks[i].depth
    for j in range(i + 1, len(toks)):
        if toks[j].type in _CLOSE and toks[j].depth == d:
            return j
    return -1


def split_args(toks: list[Tok], open_i: int, close_i: int) -> list[tuple[int, int]]:
    """Top-level argument token ranges [a, b) between an opening bracket and its close."""
    d = toks[open_i].depth + 1
    out, a = [], open_i + 1
    for j in range(open_i + 1, close_i):
        if toks[j].type == TokenType.COMMA and toks[j].depth == d:
            out.append((a, j))
            a = j + 1
    if a < close_i or out:
        out.append((a, close_i))
    return out


def read_name(toks: list[Tok], i: int) -> tuple[list[str], int]:
    """A dotted name starting at i -> (parts, index after it). parts is [] when none."""
    parts: list[str] = []
    j = i
    while j < len(toks) and is_name(toks[j]):
        parts.append(toks[j].text)
        if j + 1 < len(toks) and toks[j + 1].type == TokenType.DOT and j + 2 < len(toks):
            j += 2
        else:
            j += 1
            break
    return parts, j


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply (start, end, replacement) edits (non-overlapping) to text."""
    out, pos = [], 0
    for s, e, rep in sorted(edits, key=lambda x: (x[0], x[1])):
        if s < pos:
            raise ValueError(f"overlapping edits at {s}")
        out.append(text[pos:s])
        out.append(rep)
        pos = e
    out.append(text[pos:])
    return "".join(out)


@dataclass
class Statement:
    text: str
    toks: list[Tok]


def statements(sql: str, toks: list[Tok]) -> list[Statement]:
    """Split at top-level semicolons. One statement -> the whole text (trailing `;` and comments
    included), so an untouched statement comes back byte for byte."""
    cuts = [k for k, t in enumerate(toks) if t.type == TokenType.SEMICOLON and t.depth == 0]
    groups, a = [], 0
    for c in cuts:
        groups.append((a, c))
        a = c + 1
    groups.append((a, len(toks)))
    groups = [(a, b) for a, b in groups if b > a]
    if len(groups) <= 1:
        return [Statement(sql, toks)]
    out = []
    for a, b in groups:
        s, e = toks[a].start, toks[b - 1].end
        out.append(Statement(sql[s:e], [Tok(t.type, t.text, t.start - s, t.end - s, t.line, t.col, t.depth)
                                         for t in toks[a:b]]))
    return out


# ---------------------------------------------------------------- table references

@dataclass
class TableRef:
    name: str            # as written, unquoted parts joined with '.'
    alias: str | None


_NOT_ALIAS = {"WHERE", "PREWHERE", "GROUP", "ORDER", "LIMIT", "JOIN", "INNER", "LEFT", "RIGHT",
              "FULL", "CROSS", "ARRAY", "ON", "USING", "FINAL", "SAMPLE", "SETTINGS", "FORMAT",
              "UNION", "HAVING", "WINDOW", "QUALIFY", "GLOBAL", "ANY", "ALL", "ASOF", "SEMI",
              "ANTI", "OUTER", "INTO", "WITH", "EXCEPT", "INTERSECT", "PASTE", "LIMIT"}


def table_refs(toks: list[Tok]) -> list[TableRef]:
    """Tables named after FROM / JOIN (any depth), with their aliases."""
    out = []
    for k, t in enumerate(toks):
        if t.type not in (TokenType.FROM, TokenType.JOIN):
            continue
        parts, j = read_name(toks, k + 1)
        if not parts or (j < len(toks) and toks[j].type == TokenType.L_PAREN):
            continue
        alias = None
        if j < len(toks) and toks[j].type == TokenType.ALIAS and j + 1 < len(toks):
            alias = toks[j + 1].text
        elif j < len(toks) and is_name(toks[j]) and toks[j].up not in _NOT_ALIAS \
                and toks[j].type in (TokenType.VAR, TokenType.IDENTIFIER):
            alias = toks[j].text
        out.append(TableRef(".".join(parts), alias))
    return out


def resolve_column(parts: list[str], refs: list[TableRef], has_column) -> tuple[str | None, str]:
    """A column reference (['c'] or ['t', 'c'] or ['db', 't', 'c']) -> (table or None, column).
    `has_column(table, column)` tells whether the catalog knows the column on a table."""
    column = parts[-1]
    qual = parts[:-1]
    if qual:
        q = ".".join(qual)
        for r in refs:
            if r.alias == q or r.name == q or r.name.split(".")[-1] == q:
                return r.name, column
        return q, column
    names = list(dict.fromkeys(r.name for r in refs))
    if len(names) == 1:
        return names[0], column
    for n in names:
        if has_column(n, column):
            return n, column
    return (names[0] if names else None), column


# ---------------------------------------------------------------- SETTINGS clause

def settings_edits(toks: list[Tok], text: str, new: dict[str, str]) -> tuple[list[tuple[int, int, str]], list[str]]:
    """Edits adding `new` settings to the statement: merged into its top-level SETTINGS clause
    (keys already set by the user win), else a SETTINGS clause before FORMAT / INTO OUTFILE,
    else at the end (before a trailing `;`). Returns (edits, skipped keys)."""
    if not new:
        return [], []
    top = [k for k, t in enumerate(toks) if t.depth == 0]
    settings_i = None
    for k in top:
        if toks[k].type == TokenType.SETTINGS:
            settings_i = k
    skipped = []
    if settings_i is not None:
        existing = {toks[k].low for k in range(settings_i + 1, len(toks) - 1)
                    if toks[k + 1].type == TokenType.EQ and toks[k].depth == 0}
        items = []
        for key, val in new.items():
            if key.lower() in existing:
                skipped.append(key)
            else:
                items.append(f"{key} = {val}")
        if not items:
            return [], skipped
        pos = toks[settings_i].end
        return [(pos, pos, " " + ", ".join(items) + ",")], skipped
    clause = "SETTINGS " + ", ".join(f"{k} = {v}" for k, v in new.items())
    for k in top:
        t = toks[k]
        nxt = toks[k + 1] if k + 1 < len(toks) else None
        if (t.type == TokenType.FORMAT and not (nxt and nxt.type == TokenType.L_PAREN)) or \
                (t.type == TokenType.INTO and nxt is not None and nxt.up == "OUTFILE"):
            return [(t.start, t.start, clause + " ")], skipped
    last = len(toks) - 1
    while last >= 0 and toks[last].type == TokenType.SEMICOLON:
        last -= 1
    pos = toks[last].end if last >= 0 else len(text)
    return [(pos, pos, " " + clause)], skipped
