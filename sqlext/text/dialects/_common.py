"""Helpers shared by the two translation directions and the lints, over the tokens of
`sqlext.text.tokens` (the one lexer).

We never regenerate SQL: each token has its character span, we decide what to replace, and
`apply_edits` writes the replacements into the original text (and its tokens: only the new text
is lexed). Everything else stays byte for byte.
"""
from __future__ import annotations

from sqlext.errors import TranslationError
from sqlext.text.kinds import TableRef, table_refs  # noqa: F401  (re-exported)
from sqlext.text.tokens import (  # noqa: F401  (re-exported for the translators)
    Token, Tokens, TokenType, is_cast_vector, is_name, match_close, position, read_name, split_args, tokenize,
)

Tok = Token


def line_col(sql: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of character `offset` in `sql`."""
    return position(sql, offset)


def error(sql: str, tok: Tok | None, message: str, hint: str | None = None) -> TranslationError:
    """A TranslationError with `message` and `hint`, placed at token `tok`'s line and column in
    `sql` (no position when `tok` is None). Returned, not raised."""
    if tok is None:
        return TranslationError(message, hint=hint)
    line, col = line_col(sql, tok.start)
    return TranslationError(message, line=line, col=col, hint=hint)


def apply_edits(tokens: Tokens, edits: list[tuple[int, int, str]]) -> Tokens:
    """The statement with (start, end, replacement) edits applied, as tokens. Edits that do not
    fall on token boundaries make the new text lexed whole."""
    try:
        return tokens.splice(edits)
    except ValueError:
        text = edit_text(tokens.text, edits)
        return tokenize(text)


def edit_text(text: str, edits: list[tuple[int, int, str]]) -> str:
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


def statement_pieces(tokens: Tokens) -> list[Tokens]:
    """The statements of a text. One statement: the tokens as given (a trailing `;` and comments
    included, so an untouched statement comes back byte for byte); several: each one's tokens."""
    if ";" not in tokens.text or not any(t.type is TokenType.SEMICOLON for t in tokens):
        return [tokens]
    pieces = tokens.statements()
    if len(pieces) <= 1:
        return [tokens]
    return [p for _, p in pieces]


# ---------------------------------------------------------------- table references

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


def parametric_call(toks, i: int) -> tuple[list[str], int, int] | None:
    """A call at token `i` written `name(args)` or MyScale's parametric `name('p1', 'p2')(args)`
    (parameters are string literals only): (parameters' values, index of the arguments' `(`,
    index of their `)`). None when a parenthesis is not closed."""
    close = match_close(toks, i + 1)
    if close < 0:
        return None
    params: list[str] = []
    args_open = i + 1
    inner = toks[i + 2:close]
    if close + 1 < len(toks) and toks[close + 1].type == TokenType.L_PAREN and \
            all(t.type in (TokenType.STRING, TokenType.COMMA) for t in inner):
        params = [t.text for t in inner if t.type == TokenType.STRING]
        args_open = close + 1
        close = match_close(toks, args_open)
        if close < 0:
            return None
    return params, args_open, close


def index_keyword_before(toks, k: int, depth: int) -> int | None:
    """Index of the INDEX keyword that starts the index definition holding token `k` (walking
    back from `k`), or None when a `,` or `;` at `depth` or shallower comes first (the token is
    not inside an `INDEX name expr TYPE ...` definition)."""
    while k >= 0:
        if toks[k].type == TokenType.INDEX:
            return k
        if toks[k].type in (TokenType.COMMA, TokenType.SEMICOLON) and toks[k].depth <= depth:
            return None
        k -= 1
    return None


_COMPARE = {TokenType.LT, TokenType.LTE, TokenType.GT, TokenType.GTE}
_ARITH = {TokenType.PLUS, TokenType.DASH, TokenType.STAR, TokenType.SLASH, TokenType.MOD, TokenType.PERCENT,
          TokenType.CARET, TokenType.DPIPE}
# what makes a number next to a comparison part of a larger expression
_BINDS = _ARITH | {TokenType.DOT, TokenType.L_PAREN}
_NAMES = (TokenType.VAR, TokenType.IDENTIFIER)


def call_alias(toks, close: int) -> "str | None":
    """The alias of the expression ending at toks[close] (`… AS d`, `… d`, `` … AS `d` ``), as
    written unquoted; None without one."""
    a = close + 1
    if a + 1 < len(toks) and toks[a].type == TokenType.ALIAS and toks[a + 1].type in _NAMES:
        return toks[a + 1].text
    if a < len(toks) and toks[a].type in _NAMES:
        return toks[a].text
    return None


def alias_uses(toks, alias: str, close: int) -> list[int]:
    """Indexes of the tokens after toks[close] that refer to `alias` (a bare or quoted name, not
    a qualified name's part nor a function's name), its definition left out."""
    n = len(toks)
    out = []
    for k in range(close + 1, n):
        t = toks[k]
        if t.type in _NAMES and t.text == alias and not (k > 0 and toks[k - 1].type in (TokenType.DOT,
                                                                                       TokenType.ALIAS)) \
                and not (k + 1 < n and toks[k + 1].type in (TokenType.DOT, TokenType.L_PAREN)) and k != close + 1:
            out.append(k)
    return out


def distance_use(toks, i: int, close: int, convert) -> "tuple[str, int | None, str | None]":
    """How the distance call toks[i..close] is used, for carrying a bound across MyScale's squared
    L2 distance (`convert`: square or square root):
    ('number', k, `convert(value)` as SQL text): compared (`<`, `<=`, `>`, `>=`, either side) with
    the number at toks[k], both standing alone; ('other', None, None): compared in another way
    (another operand, BETWEEN, through its alias) or inside arithmetic, where a converted number
    would mean another distance; ('plain', None, None): neither (SELECT, ORDER BY)."""
    import math

    n = len(toks)
    before = toks[i - 1].type if i > 0 else None
    after = toks[close + 1].type if close + 1 < n else None
    other = ("other", None, None)
    if before in _ARITH or after in _ARITH or after == TokenType.BETWEEN:
        return other
    if after in _COMPARE and close + 2 < n:
        k = close + 2
        whole = close + 3 >= n or toks[close + 3].type not in _BINDS
    elif before in _COMPARE and i >= 2:
        k = i - 2
        whole = i < 3 or toks[i - 3].type not in _BINDS
    else:
        alias = call_alias(toks, close)
        linked = _COMPARE | _ARITH | {TokenType.BETWEEN}
        for k in alias_uses(toks, alias, close) if alias else []:
            if (k > 0 and toks[k - 1].type in linked) or (k + 1 < n and toks[k + 1].type in linked):
                return other
        return ("plain", None, None)
    t = toks[k]
    if t.type != TokenType.NUMBER or not whole:
        return other
    try:
        v = float(t.text)
    except ValueError:
        return other
    if v < 0 or not math.isfinite(v):
        return other
    out = float(convert(v))
    exact = out.is_integer() and out < 2 ** 53 and "." not in t.text and "e" not in t.text.lower()
    return "number", k, str(int(out)) if exact else repr(out)

def settings_clause(toks, text: str) -> "tuple[int | None, list[tuple[int, int, str, str]]]":
    """The statement's top-level SETTINGS clause: (index of its SETTINGS token, its items as
    (first token, last token, lower-case name, value text)); (None, []) without one."""
    s_i = None
    for k, t in enumerate(toks):
        if t.depth == 0 and t.type == TokenType.SETTINGS:
            s_i = k
    if s_i is None:
        return None, []
    items = []
    k = s_i + 1
    while k + 2 < len(toks) and is_name(toks[k]) and toks[k + 1].type == TokenType.EQ:
        v_end = k + 2
        while v_end < len(toks) and not (toks[v_end].depth == 0 and toks[v_end].type in (
                TokenType.COMMA, TokenType.FORMAT, TokenType.SEMICOLON)):
            v_end += 1
        items.append((k, v_end - 1, toks[k].low, text[toks[k + 2].start:toks[v_end - 1].end]))
        if v_end < len(toks) and toks[v_end].type == TokenType.COMMA:
            k = v_end + 1
        else:
            break
    return s_i, items


def drop_settings_edits(toks, text: str, s_i: int, items, drop) -> list[tuple[int, int, str]]:
    """Edits that take the items `drop` ((first, last) token pairs of `settings_clause`'s items)
    out of the SETTINGS clause at `s_i`: the whole clause (with the whitespace before it) when
    none is left."""
    if not drop:
        return []
    if len(drop) == len(items):
        start = toks[s_i - 1].end if s_i > 0 else toks[s_i].start
        return [(start, toks[items[-1][1]].end, "")]
    kept = [(f, last) for f, last, *_ in items if (f, last) not in drop]
    new = ", ".join(text[toks[f].start:toks[last].end] for f, last in kept)
    return [(toks[items[0][0]].start, toks[items[-1][1]].end, new)]
