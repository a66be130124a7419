"""What was sent, in the user's terms: server errors and result column names mapped back through
the EMBED splice (and the dialect bridge) to the text the user wrote.

The session sends each EMBED call as a literal vector of thousands of digits. The server's
answers speak of that text: a syntax error is "at position 7487" of the sent statement, a
column without an alias is named `cosineDistance(photo_embed, [-0.0224233381, …])` (ClickHouse
names such a column after the expression, formatted in its own way), and error messages quote
expressions with the vector in them. `SentText` puts them back in the user's terms:
- `user_position(i, offset)`: a character offset in sent statement i -> (line, column) in the
  user's text (the script's, for a statement of a script), through the tokens' `origin`
  (`sqlext.text.tokens`): kept tokens map exactly, text embedsql wrote maps to the start of
  what it replaced (a vector to its EMBED call);
- `readable(text)`: every vector literal embedsql spliced, as sent or as ClickHouse formats it
  (`1.23456789e-05` comes back as `0.0000123456789`; the numbers are compared as float32), shown
  as the EMBED call the user wrote (`EMBED('a cat')`); any other long numeric array elided
  (`[512 x Float32]`), a cut one too (`[…`);
- `column_names(names)`: result column names with the vectors embedsql spliced shown as their
  EMBED calls (other names, arrays written in the SQL included, are the server's);
- `map_error(err, i)`: a ServerError from statement i made readable, with "failed at position N"
  replaced by the line and column in the user's text (also set as `err.line` / `err.col`).

Why rename columns after the result comes back rather than inject aliases: an alias changes the
statement text (the rest of the SQL must reach the server as written), becomes visible to the
whole query (it can shadow a column or clash with another alias), and cannot be added to
`SELECT *` or to a subquery's columns. Renaming changes only what is displayed, and keeps the
server's own naming for everything else.
"""
from __future__ import annotations

import bisect
import re
from typing import Sequence

import numpy as np

from ..text.split import Statement
from ..text.tokens import Tokens

__all__ = ["SentText", "elide_vectors"]

_NUM = r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_ARRAY_RE = re.compile(r"\[\s*(" + _NUM + r"(?:\s*,\s*" + _NUM + r"){7,})\s*\]")
_CUT_ARRAY_RE = re.compile(r"\[\s*(?:" + _NUM + r"\s*,\s*){7,}(?:" + _NUM + r")?\s*(?=$|…|\.\.\.)")
_OTHER_POSITION_RE = re.compile(r"(?<!failed )\bat position (\d+)(?: \(line \d+, col \d+\))?")
_POSITION_RE = re.compile(r"failed at position (\d+)((?: \([^()]*\))?)(?: \(line \d+, col \d+\))?")


def elide_vectors(sql: str) -> str:
    """Long numeric array literals (8 values or more) shown as `[N x Float32]` (display only)."""
    out = _ARRAY_RE.sub(lambda m: f"[{m.group(1).count(',') + 1} x Float32]", sql)
    return _CUT_ARRAY_RE.sub("[…", out)


def _renamed_functions(user: str, sent: Sequence[Tokens]) -> dict[str, str]:
    """Function names the dialect bridge wrote in place of the user's, as {sent: written}:
    MyScale's `distance(v, q)` goes to ClickHouse as `cosineDistance(v, q)`, so an unaliased
    column comes back named `cosineDistance(...)`. Only one-for-one renames: a call the bridge
    rewrote into several (`pow(L2Distance(...), 2)` for `distance`) keeps the server's names,
    and so does a sent name the user also wrote somewhere."""
    from ..text.tokens import TokenType

    at: dict[int, set[tuple[str, str]]] = {}
    for toks in sent:
        tl = toks.tokens
        for j in range(len(tl) - 1):
            t = tl[j]
            if tl[j + 1].type is not TokenType.L_PAREN or not t.text.isidentifier():
                continue
            if user.startswith(t.text, t.origin):
                continue  # the user's own name
            m = re.match(r"[A-Za-z_]\w*", user[t.origin:])
            # (an EMBED call's splice, `CAST('[…]', …)`, is named by its call: `column_names`)
            if m is not None and m.group(0).lower() not in (t.text.lower(), "embed"):
                at.setdefault(t.origin, set()).add((t.text, m.group(0)))
    out: dict[str, str] = {}
    clash: set[str] = set()
    for pairs in at.values():
        if len(pairs) != 1:
            continue
        (written, name), = pairs
        if out.get(written, name) != name:
            clash.add(written)
        out[written] = name
    return {w: u for w, u in out.items() if w not in clash
            and not re.search(rf"\b{re.escape(w)}\s*\(", user, re.I)}


class SentText:
    """The statements sent for one user statement, and how to read the server's answers about
    them in the user's terms (see the module doc).

    `source`: the user's statement (tokens' origins are offsets in its text);
    `calls` / `literals` / `vectors`: the EMBED calls, the literal sent for each, its vector
    (1-d float32); `sent`: the tokens of each statement sent."""

    def __init__(self, source: Statement, calls: Sequence, literals: Sequence[str],
                 vectors: Sequence[np.ndarray], sent: Sequence[Tokens]):
        self.source = source
        self.sent = list(sent)
        self._by_literal: dict[str, str] = {}
        self._by_dim: dict[int, list[tuple[np.ndarray, str]]] = {}
        # the name a vector is shown by (its first call's text) -> the text of every call that
        # gave it, in order (`EMBED('cat')` and `EMBED(text('cat'))` give one vector)
        self._calls_of: dict[str, list[str]] = {}
        for call, lit, vec in zip(calls, literals, vectors):
            self._by_literal.setdefault(lit, call.text)
            v = np.asarray(vec, dtype=np.float32)
            group = self._by_dim.setdefault(v.size, [])
            first = next((t for w, t in group if np.array_equal(v, w)), None)
            if first is None:
                group.append((v, call.text))
                first = call.text
            self._calls_of.setdefault(first, []).append(call.text)
        self._renamed: dict[str, str] | None = None  # `_named` reads the bridge's renames on first use

    # -- names ---------------------------------------------------------------------------------
    def readable(self, text: str) -> str:
        """`text` with embedsql's vectors shown as EMBED calls and other long arrays elided."""
        return elide_vectors(self._named(text))

    def _named(self, text: str) -> str:
        """`text` with embedsql's vectors shown as EMBED calls and the functions the bridge
        renamed by the user's names (nothing else changed)."""
        if "[" in text:
            for lit, call_text in self._by_literal.items():
                if lit in text:
                    text = text.replace(lit, call_text)
            if self._by_dim:
                text = _ARRAY_RE.sub(self._name_array, text)
        if self._renamed is None:  # (not in prepare: most statements never need a name mapped)
            self._renamed = _renamed_functions(self.source.text, self.sent)
        for written, user in self._renamed.items():
            text = re.sub(rf"\b{re.escape(written)}\(", f"{user}(", text)
        return text

    def _name_array(self, m: re.Match) -> str:
        body = m.group(1)
        n = body.count(",") + 1
        group = self._by_dim.get(n)
        if group:
            try:
                values = np.array(body.split(","), dtype=np.float64).astype(np.float32)
            except ValueError:
                return m.group(0)
            for vec, call_text in group:
                if np.array_equal(values, vec):
                    return call_text
        return m.group(0)

    def column_names(self, names: Sequence[str]) -> list[str]:
        """Result column names with embedsql's vectors shown as the EMBED calls written (any other
        name is the server's, unchanged). Calls written differently that give one vector
        (`length(EMBED('cat')), length(EMBED(text('cat')))`: one server name) are told apart
        when the names hold that vector once per call: the k-th occurrence is named after the
        k-th call in the text; otherwise each shows the first call's text."""
        out = [self._named(n) for n in names]
        for first, texts in self._calls_of.items():
            if len(set(texts)) < 2 or sum(o.count(first) for o in out) != len(texts):
                continue
            rest = iter(texts)
            for i, o in enumerate(out):
                if first in o:
                    parts = o.split(first)
                    out[i] = parts[0] + "".join(next(rest) + p for p in parts[1:])
        return out

    # -- positions -----------------------------------------------------------------------------
    def user_offset(self, index: int, offset: int) -> int:
        """A character offset in sent statement `index` -> offset in the user's statement text."""
        toks = self.sent[index].tokens if 0 <= index < len(self.sent) else []
        user = self.source.text
        if not toks:  # not lexed: sent as written
            return max(0, min(offset, len(user)))
        starts = [t.start for t in toks]
        k = bisect.bisect_right(starts, offset) - 1
        if k < 0:
            return max(0, min(toks[0].origin - (toks[0].start - offset), len(user)))
        t = toks[k]
        o = t.origin
        written = self.sent[index].text[t.start:t.end]
        if user[o:o + len(written)] == written:  # a token the user wrote: exact
            return max(0, min(o + (offset - t.start), len(user)))
        return max(0, min(o, len(user)))  # text embedsql wrote (a vector): where it stands

    def user_position(self, index: int, offset: int) -> tuple[int, int]:
        """A character offset in sent statement `index` -> 1-based (line, column) in the user's
        text (the script's, for a statement of a script)."""
        user = self.source.text
        o = self.user_offset(index, offset)
        line = user.count("\n", 0, o) + 1
        col = o - user.rfind("\n", 0, o)
        return self.source.position(line, col)

    def map_message(self, message: str, index: int) -> tuple[str, int | None, int | None]:
        """A server's error text about sent statement `index` -> (text in the user's terms, line,
        column). "failed at position N" (ClickHouse counts UTF-8 bytes from 1) becomes the line
        and column in the user's text, and the text ClickHouse quotes from there (up to 160
        characters of what it received, the driver's own `FORMAT Native` included) becomes the
        user's text from there; vectors become the EMBED calls written."""
        line = col = None
        m = _POSITION_RE.search(message)
        if m is not None and 0 <= index < len(self.sent):
            sent = self.sent[index].text
            byte_pos = int(m.group(1)) - 1
            char_pos = len(sent.encode("utf-8")[:max(byte_pos, 0)].decode("utf-8", errors="ignore"))
            line, col = self.user_position(index, char_pos)
            rest = message[m.end():]
            if rest.startswith(": "):
                quoted_end = _match_loosely(rest, 2, sent[char_pos:char_pos + _QUOTED_CHARS])
                if quoted_end >= 0:
                    tail = rest[quoted_end:]
                    extra = _DRIVER_SUFFIX.match(tail)   # what the driver appended
                    tail = tail[extra.end():] if extra else tail
                    uo = self.user_offset(index, char_pos)
                    rest = ": " + self.source.text[uo:uo + _QUOTED_CHARS].rstrip() + tail
            message = message[:m.start()] + f"failed at line {line}, column {col}{m.group(2)}" + rest
            # other positions in the sent text the parser names ("')' at position 7491 has no
            # matching opening bracket")
            message = _OTHER_POSITION_RE.sub(lambda p: self._at(index, int(p.group(1))), message)
        return self.readable(message), line, col

    def _at(self, index: int, position: int) -> str:
        sent = self.sent[index].text
        char_pos = len(sent.encode("utf-8")[:max(position - 1, 0)].decode("utf-8", errors="ignore"))
        line, col = self.user_position(index, char_pos)
        return f"at line {line}, column {col}"

    def map_error(self, err, index: int) -> None:
        """`map_message` applied to a ServerError in place (`err.line` / `err.col` set too)."""
        err.message, line, col = self.map_message(err.message, index)
        if line is not None:
            err.line, err.col = line, col


# ClickHouse quotes this much of the query from the place of a syntax error
_QUOTED_CHARS = 160
_DRIVER_SUFFIX = re.compile(r"\s*(?:SETTINGS\s+[\w\s=',.]*?)?\s*FORMAT\s+\w+")


def _match_loosely(text: str, at: int, expected: str) -> int:
    """Where `expected` ends when text[at:] starts with it, whitespace runs matching any
    whitespace; -1 when it does not."""
    i, n = at, len(text)
    for ch in expected.strip():
        if ch.isspace():
            while i < n and text[i].isspace():
                i += 1
            continue
        while i < n and text[i].isspace() and ch != text[i]:
            i += 1
        if i >= n or text[i] != ch:
            return -1
        i += 1
    return i
