"""The one SQL lexer of embedsql: ClickHouse's lexical rules, on sqlglot's tokenizer.

    t = tokenize("SELECT x$y, 'a;b' FROM t // note")    # Tokens
    t.text, len(t), t[0].type, t[0].text, t[0].start, t[0].end, t[0].depth
    t.statements()                                       # one Tokens per `;`-separated statement
    t.splice([(start, end, "new text")])                 # edited text; only the new text is lexed

Everything that reads SQL text in embedsql (statement splitting, EMBED finding, the dialect
bridge, the lints, statement kinds, migrations rendering, DDL parsing) reads these tokens; a
statement is lexed once and its tokens handed on.

Tokens come from sqlglot's ClickHouse tokenizer (token types are `sqlglot.tokens.TokenType`),
with EXPLAIN, SHOW and the other "commands" tokenized like any statement (sqlglot would swallow
what follows them as one string). Where ClickHouse lexes differently (its `src/Parsers/Lexer.cpp`,
checked on chdb), a first pass over the text covers it, here and nowhere else:
- `--`, `//`, `# ` and `#!` comments run to the end of the line; `#` followed by anything else is
  not a comment (ClickHouse rejects it: it becomes a one-character token);
- `/* ... */` comments nest;
- `$` inside or at the start of a word is part of the word (`x$y`, `$x`); `$tag$ ... $tag$`
  (tag: letters, digits, `_`, possibly empty) is a heredoc string;
- a byte order mark at the start is whitespace.
Strings (`'...'`) and quoted identifiers (`"..."`, `` `...` ``) take backslash escapes and a
doubled quote. An unterminated string, quoted identifier or block comment raises
`SQLSyntaxError` with the line and column of its opening character.

Each `Token` has
- `type`: a `TokenType` (keywords have their own: SELECT, FROM, ORDER_BY for `ORDER BY`, ...);
- `text`: the value for strings (escapes decoded) and quoted identifiers (quotes removed), else
  the text as written (`x$y` included);
- `start` / `end`: character offsets in the text (end exclusive): `text[start:end]` is the token
  as written, quotes included;
- `depth`: how many brackets `(`, `[`, `{` enclose it (an opening bracket has the outer depth, its
  closing bracket the same);
- `origin`: where the token came from in the text first lexed: its `start` there; after
  `Tokens.splice` kept tokens keep their origin and inserted ones get the origin of the place
  they replaced. Error positions and names are mapped back to what the user wrote through it.
"""
from __future__ import annotations

import re
import threading
from typing import Iterator, Sequence

from sqlglot.dialects.clickhouse import ClickHouse
from sqlglot.tokens import TokenType

from sqlext.errors import SQLSyntaxError

__all__ = ["Token", "Tokens", "TokenType", "tokenize", "scan", "Scan", "vector_tokens", "is_cast_vector", "match_close",
           "split_args", "read_name", "is_name", "position", "OPEN", "CLOSE"]

OPEN = {TokenType.L_PAREN: TokenType.R_PAREN, TokenType.L_BRACKET: TokenType.R_BRACKET,
        TokenType.L_BRACE: TokenType.R_BRACE}
CLOSE = frozenset(OPEN.values())
# TokenType is an Enum whose __hash__ runs in Python: hot loops test membership by id()
_OPEN_IDS = frozenset(map(id, OPEN))
_CLOSE_IDS = frozenset(map(id, CLOSE))
_NOT_NAMES = frozenset({TokenType.STRING, TokenType.HEREDOC_STRING, TokenType.NUMBER,
                        TokenType.NATIONAL_STRING, TokenType.HEX_STRING, TokenType.BIT_STRING,
                        TokenType.BYTE_STRING, TokenType.RAW_STRING})
_WORD = re.compile(r"[A-Za-z_$][\w$]*\Z")


class Token:
    """One token: type, value text, [start, end) offsets in its text, bracket depth, and the
    offset it came from in the text first lexed (`origin`)."""

    __slots__ = ("type", "text", "start", "end", "depth", "origin")

    def __init__(self, type: TokenType, text: str, start: int, end: int, depth: int = 0,
                 origin: int | None = None):
        self.type = type
        self.text = text
        self.start = start
        self.end = end
        self.depth = depth
        self.origin = start if origin is None else origin

    @property
    def low(self) -> str:
        """The token's text in lower case (keywords and names compare case-insensitively)."""
        return self.text.lower()

    @property
    def up(self) -> str:
        """The token's text in upper case."""
        return self.text.upper()

    def shifted(self, by: int, origin: int | None = None) -> "Token":
        """The same token `by` characters further on (its origin kept, or set to `origin`)."""
        return Token(self.type, self.text, self.start + by, self.end + by, self.depth,
                     self.origin if origin is None else origin)

    def __eq__(self, other) -> bool:
        return isinstance(other, Token) and (self.type, self.text, self.start, self.end, self.depth) == (
            other.type, other.text, other.start, other.end, other.depth)

    __hash__ = None  # mutable

    def __repr__(self) -> str:
        return f"Token({self.type.name}, {self.text!r}, {self.start}, {self.end}, depth={self.depth})"


class _Tokenizer(ClickHouse.Tokenizer):
    # EXPLAIN, SHOW, RENAME, ... are statements like any other: lex what follows them
    COMMANDS: set = set()


_local = threading.local()


def _sqlglot_tokenize(text: str):
    tokenizer = getattr(_local, "tokenizer", None)
    if tokenizer is None:  # one per thread: the TUI runs statements from worker threads
        tokenizer = _local.tokenizer = _Tokenizer(dialect="clickhouse")
    return tokenizer.tokenize(text)


# ----------------------------------------------------------------------------------------------
# ClickHouse's lexical differences: one pass that makes the text readable for sqlglot

_SPECIAL = re.compile(r"""['"`$;]|--|//|/\*|#""")
_BLOCK = re.compile(r"/\*|\*/")
_QUOTE_END = {q: re.compile(r"[%s\\]" % re.escape(q)) for q in "'\"`"}
_HEREDOC_TAG = re.compile(r"\$(\w*)\$")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
_UNTERMINATED = {
    "'": "unterminated string literal",
    '"': 'unterminated quoted identifier ("...")',
    "`": "unterminated quoted identifier (`...`)",
}


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset in text."""
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def _unterminated(text: str, offset: int, what: str) -> SQLSyntaxError:
    line, col = position(text, offset)
    return SQLSyntaxError(f"{what} starting here", line=line, col=col,
                          hint="close it, or escape the quote inside it ('' or \\')")


def _needs_prepass(text: str) -> bool:
    return "$" in text or "#" in text or "//" in text or "/*" in text or text.startswith("\ufeff")


class Scan:
    """ClickHouse's lexical boundaries in a text, found without making tokens (a fast pass:
    a large INSERT's data is split and classified with it, not lexed):
    - `semicolons`: offsets of the `;` that end statements (not in strings or comments);
    - `comments`: (start, end) spans of comments;
    - `copy`: the text made readable for sqlglot's tokenizer, same length and offsets: comments
      blanked (line breaks kept), `$` of words made `_`, a `#` that is not a comment made `?`, a
      leading byte order mark made a space."""

    __slots__ = ("text", "copy", "semicolons", "comments")

    def __init__(self, text: str, copy: str, semicolons: list[int], comments: list[tuple[int, int]]):
        self.text, self.copy, self.semicolons, self.comments = text, copy, semicolons, comments


def scan(text: str) -> Scan:
    """The fast pass (see `Scan`). Raises SQLSyntaxError, with the line and column of its opening
    character, on an unterminated string, quoted identifier or block comment."""
    n = len(text)
    chars: list[str] | None = None
    semicolons: list[int] = []
    comments: list[tuple[int, int]] = []
    pos = 0
    if text.startswith("\ufeff"):
        chars = list(text)
        chars[0] = " "
    search = _SPECIAL.search
    while True:
        m = search(text, pos)
        if m is None:
            return Scan(text, text if chars is None else "".join(chars), semicolons, comments)
        start = m.start()
        tok = m.group()
        c = tok[0]
        if c == ";":
            semicolons.append(start)
            pos = start + 1
            continue
        if c in "'\"`":
            end_re = _QUOTE_END[c]
            i = start + 1
            while True:
                q = end_re.search(text, i)
                if q is None:
                    raise _unterminated(text, start, _UNTERMINATED[c])
                j = q.start()
                if text[j] == "\\":
                    if j + 1 >= n:
                        raise _unterminated(text, start, _UNTERMINATED[c])
                    i = j + 2
                elif j + 1 < n and text[j + 1] == c:
                    i = j + 2
                else:
                    pos = j + 1
                    break
            continue
        if c == "$":
            pos = start + 1
            if not (start > 0 and text[start - 1] in _WORD_CHARS):
                h = _HEREDOC_TAG.match(text, start)
                if h is not None:
                    end = text.find(h.group(), h.end())
                    if end != -1:
                        pos = end + len(h.group())
                        continue
            if chars is None:
                chars = list(text)
            chars[start] = "_"  # part of a word: x$y, $x
            continue
        if c == "#" and not text.startswith(("# ", "#!"), start):
            if chars is None:
                chars = list(text)
            chars[start] = "?"  # not a comment in ClickHouse: a token of its own
            pos = start + 1
            continue
        if tok == "/*":
            depth, i = 1, start + 2
            while depth:
                b = _BLOCK.search(text, i)
                if b is None:
                    raise _unterminated(text, start, "unterminated /* comment")
                depth += 1 if b.group() == "/*" else -1
                i = b.end()
            end = i
        else:  # --, //, "# ", "#!": to the end of the line
            end = text.find("\n", start)
            end = n if end == -1 else end
        comments.append((start, end))
        if chars is None:
            chars = list(text)
        for k in range(start, end):
            if chars[k] not in "\r\n":
                chars[k] = " "
        pos = end


def _prepass(text: str) -> str:
    return scan(text).copy


def tokenize(text: str) -> "Tokens":
    """The tokens of `text` (one statement or a script). Raises SQLSyntaxError (with line and
    column) on an unterminated string, quoted identifier or block comment, or on text the
    tokenizer cannot read."""
    copy = _prepass(text) if _needs_prepass(text) else text
    try:
        raw = _sqlglot_tokenize(copy)
    except Exception as exc:  # sqlglot's TokenError; nothing else may escape either
        if copy is text:
            _prepass(text)  # an unterminated string or identifier: say where it starts
        offset = getattr(getattr(getattr(_local, "tokenizer", None), "_core", None), "_start", 0)
        offset = offset if isinstance(offset, int) and 0 <= offset <= len(text) else 0
        line, col = position(text, offset)
        raise SQLSyntaxError("cannot read the SQL text here", line=line, col=col,
                             hint="check the quoting near this position") from exc
    out: list[Token] = []
    append = out.append
    depth = 0
    restore = copy is not text
    for t in raw:
        tt = t.token_type
        tid = id(tt)
        if depth and tid in _CLOSE_IDS:
            depth -= 1
        value = t.text
        start, end = t.start, t.end + 1
        if restore and tt not in _NOT_NAMES and copy[start:end] != text[start:end]:
            value = text[start:end]  # x$y keeps its own spelling; `#` stays `#`
        append(Token(tt, value, start, end, depth, start))
        if tid in _OPEN_IDS:
            depth += 1
    return Tokens(text, out)


#: The wire form of a vector the session sends to ClickHouse: the literal in a string, cast to
#: the literal's own type (`sqlext.text.rewrite.cast_vector`).
CAST_HEAD = "CAST('"
CAST_TAIL = "', 'Array(Float64)')"


def vector_tokens(literal: str, start: int = 0) -> list[Token]:
    """Tokens of a vector literal `[v1, v2, ...]` spliced into a statement, without lexing its
    thousands of digits: `[`, one NUMBER token holding all the elements, `]`. Its wire form
    `CAST('[v1, ...]', 'Array(Float64)')` (`CAST_HEAD` ... `CAST_TAIL`) gives the six tokens the
    lexer would: CAST ( STRING , STRING )."""
    n = len(literal)
    if literal.startswith(CAST_HEAD) and literal.endswith(CAST_TAIL):
        q = n - len(CAST_TAIL)  # the quote that closes the vector's string
        return [Token(TokenType.VAR, "CAST", start, start + 4),
                Token(TokenType.L_PAREN, "(", start + 4, start + 5),
                Token(TokenType.STRING, literal[len(CAST_HEAD):q], start + 5, start + q + 1),
                Token(TokenType.COMMA, ",", start + q + 1, start + q + 2),
                Token(TokenType.STRING, "Array(Float64)", start + q + 3, start + n - 1),
                Token(TokenType.R_PAREN, ")", start + n - 1, start + n)]
    return [Token(TokenType.L_BRACKET, "[", start, start + 1),
            Token(TokenType.NUMBER, literal[1:-1], start + 1, start + n - 1, 1),
            Token(TokenType.R_BRACKET, "]", start + n - 1, start + n)]


_VECTOR_BODY = re.compile(r"\[[-+0-9.eE,\s]+\]")  # a vector's text inside a string (is_cast_vector)


def is_cast_vector(toks: Sequence[Token], a: int) -> bool:
    """Tokens a..a+5 are `CAST('[<numbers>]', 'Array(Float32|Float64)')`: the wire form of the
    session's query vectors (`vector_tokens`, `sqlext.text.rewrite.cast_vector`), or the same
    written by hand. A constant vector, like an array literal."""
    if a + 5 >= len(toks) or toks[a].text.upper() != "CAST":
        return False
    t = toks[a:a + 6]
    types = (TokenType.L_PAREN, TokenType.STRING, TokenType.COMMA, TokenType.STRING, TokenType.R_PAREN)
    return (all(x.type == y for x, y in zip(t[1:], types))
            and t[4].text.replace(" ", "") in ("Array(Float32)", "Array(Float64)")
            and _VECTOR_BODY.fullmatch(t[2].text.strip()) is not None)


def _with_depths(tokens: list[Token]) -> list[Token]:
    depth = 0
    for t in tokens:
        tid = id(t.type)
        if depth and tid in _CLOSE_IDS:
            depth -= 1
        t.depth = depth
        if tid in _OPEN_IDS:
            depth += 1
    return tokens


class Tokens(Sequence[Token]):
    """The tokens of one text (a statement or a script). A read-only sequence of `Token`."""

    __slots__ = ("text", "tokens")

    def __init__(self, text: str, tokens: list[Token]):
        self.text = text
        self.tokens = tokens

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, i):
        return self.tokens[i]

    def __iter__(self) -> Iterator[Token]:
        return iter(self.tokens)

    def __repr__(self) -> str:
        return f"Tokens({self.text[:60]!r}, {len(self.tokens)} tokens)"

    def src(self, a: int, b: int) -> str:
        """The text of tokens [a, b) as written (what lies between them included)."""
        return self.text[self.tokens[a].start:self.tokens[b - 1].end]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        return position(self.text, offset)

    def origin_at(self, offset: int) -> int:
        """The origin of a character offset: that of the token at or after it (the end of the
        last token's origin past the last token)."""
        for t in self.tokens:
            if t.end > offset:
                return t.origin if t.start >= offset else t.origin + (offset - t.start)
        if not self.tokens:
            return offset
        last = self.tokens[-1]
        return last.origin + (last.end - last.start) + (offset - last.end)

    def with_origin(self, origin: int) -> "Tokens":
        """These tokens with every origin set to `origin` (text written by embedsql, standing
        for what the user wrote there)."""
        for t in self.tokens:
            t.origin = origin
        return self

    def splice(self, edits: Sequence[tuple]) -> "Tokens":
        """Apply edits (start, end, replacement[, replacement tokens]) to the text and the tokens.
        Edits must not overlap and must not cut a token; tokens outside them are kept (offsets
        shifted), the replacement text is lexed on its own unless its tokens are given (offsets
        relative to the replacement). Raises ValueError on overlapping or token-cutting edits."""
        if not edits:
            return self
        toks = self.tokens
        n = len(toks)
        parts: list[str] = []
        out: list[Token] = []
        k = 0
        pos = 0
        delta = 0
        for edit in sorted(edits, key=lambda e: (e[0], e[1])):
            s, e, rep = edit[0], edit[1], edit[2]
            given = edit[3] if len(edit) > 3 else None
            if s < pos or e < s:
                raise ValueError(f"overlapping edits at offset {s}")
            while k < n and toks[k].start < s:
                if toks[k].end > s:
                    raise ValueError(f"an edit at offset {s} cuts the token {toks[k].text!r}")
                out.append(toks[k].shifted(delta))
                k += 1
            while k < n and toks[k].start < e:
                if toks[k].end > e:
                    raise ValueError(f"an edit ending at offset {e} cuts the token {toks[k].text!r}")
                k += 1
            parts.append(self.text[pos:s])
            parts.append(rep)
            new_start = s + delta
            origin = self.origin_at(s)
            rep_toks = given if given is not None else tokenize(rep).tokens
            out.extend(t.shifted(new_start, origin) for t in rep_toks)
            delta += len(rep) - (e - s)
            pos = e
        parts.append(self.text[pos:])
        out.extend(t.shifted(delta) for t in toks[k:])
        return Tokens("".join(parts), _with_depths(out))

    def statements(self, *, rebase_origins: bool = False) -> list[tuple[int, "Tokens"]]:
        """The statements of a script, split on `;` (outside strings, identifiers and comments):
        (offset in this text, Tokens of the statement text). A statement's text is stripped of
        surrounding whitespace and has no `;`; comments before it are kept, statements holding
        no token (empty, or only comments) are dropped. One statement starting at offset 0 comes
        back as these very tokens. `rebase_origins`: origins made relative to each statement's
        text (as if it had been lexed alone), else kept relative to this text."""
        toks = self.tokens
        text = self.text
        groups: list[tuple[int, int, int, int]] = []  # (first token, end token, seg start, seg end)
        a, seg = 0, 0
        for k, t in enumerate(toks):
            if t.type == TokenType.SEMICOLON:
                groups.append((a, k, seg, t.start))
                a, seg = k + 1, t.end
        groups.append((a, len(toks), seg, len(text)))
        out = []
        for a, b, s, e in groups:
            if b <= a:
                continue
            chunk = text[s:e]
            stripped = chunk.lstrip()
            start = s + len(chunk) - len(stripped)
            body = stripped.rstrip()
            if start == 0 and a == 0 and b == len(toks) and len(body) == len(text):
                out.append((0, self))
                continue
            out.append((start, Tokens(body, _with_depths(
                [t.shifted(-start, t.origin - start if rebase_origins else None) for t in toks[a:b]]))))
        return out


# ----------------------------------------------------------------------------------------------
# helpers over token lists

def match_close(toks: Sequence[Token], i: int) -> int:
    """Index of the bracket closing toks[i] (an opening one), or -1 when it is not closed, or
    closed by another kind of bracket."""
    if id(toks[i].type) not in _OPEN_IDS:
        return -1
    want = OPEN[toks[i].type]
    d = toks[i].depth
    for j in range(i + 1, len(toks)):
        t = toks[j]
        if t.depth == d and id(t.type) in _CLOSE_IDS:
            return j if t.type is want else -1
    return -1


def split_args(toks: Sequence[Token], open_i: int, close_i: int) -> list[tuple[int, int]]:
    """Top-level comma-separated token ranges [a, b) between an opening bracket and its close."""
    d = toks[open_i].depth + 1
    out, a = [], open_i + 1
    for j in range(open_i + 1, close_i):
        if toks[j].type == TokenType.COMMA and toks[j].depth == d:
            out.append((a, j))
            a = j + 1
    if a < close_i or out:
        out.append((a, close_i))
    return out


def is_name(t: Token) -> bool:
    """An identifier: quoted, or a bare word (keywords included: ClickHouse reserves few)."""
    if t.type == TokenType.IDENTIFIER:
        return True
    if t.type in _NOT_NAMES:
        return False
    return bool(_WORD.match(t.text))


def read_name(toks: Sequence[Token], i: int) -> tuple[list[str], int]:
    """A dotted name starting at i -> (unquoted parts, index after it); ([], i) when none."""
    parts: list[str] = []
    j = i
    n = len(toks)
    while j < n and is_name(toks[j]):
        parts.append(toks[j].text)
        if j + 2 < n and toks[j + 1].type == TokenType.DOT and is_name(toks[j + 2]):
            j += 2
        else:
            j += 1
            break
    return parts, j
