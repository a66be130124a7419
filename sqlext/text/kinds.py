"""What a statement is, read from its tokens the way ClickHouse's grammar reads it.

    k = statement_kind(tokenize("EXPLAIN indexes = 1 SELECT 1 FORMAT JSON"))
    k.name == "explain"; k.explained == "select"; k.format == "JSON"; k.returns_rows is False

- `statement_kind(tokens) -> Kind`: the kind (`select`, `explain`, `insert`, `create`, ...), whether
  the server sends a result set back (`returns_rows`), the statement's own output `FORMAT` clause
  and `INTO OUTFILE` clause. Which kinds return rows was checked statement by statement on chdb
  (tests/sqlext/test_kinds.py): SELECT (FROM-first, WITH, parenthesised, UNION / EXCEPT /
  INTERSECT), EXPLAIN in every form, DESCRIBE, SHOW, EXISTS, CHECK, KILL, WATCH, BACKUP and RESTORE
  return rows; INSERT (… SELECT, … VALUES, … FORMAT), CREATE (… AS SELECT, VIEW, MATERIALIZED VIEW),
  ALTER, DROP, SET, USE, SYSTEM, OPTIMIZE and the other DDL do not. A statement with its own
  FORMAT clause returns the server's bytes in that format (`returns_rows` is False: there is no
  result set to read), `FORMAT Null` returns nothing, and `INTO OUTFILE` writes a file instead.
- `kind_of(text, tokens=None) -> Kind`: the same, except that a large statement whose first word
  says it returns no rows (a data dump's INSERT) is classified from that word, not lexed
  (`head_kind`).
- `query_scopes(tokens) -> Scopes`: for each token, the query level (SELECT, subquery, UNION
  branch) it belongs to and the clause (WHERE, ORDER BY, ...) it is in.
- `table_refs(tokens)`: the tables named after FROM / JOIN, with their aliases.
- `settings_of(tokens, scope)`: the SETTINGS given for a query level (its own clause, and the
  statement's last one, which applies to the whole query).
"""
from __future__ import annotations

from dataclasses import dataclass

import re

from sqlext.text.tokens import Token, Tokens, TokenType, is_name, read_name, scan

__all__ = ["Kind", "statement_kind", "head_kind", "kind_of", "Scopes", "query_scopes", "TableRef", "table_refs",
           "settings_of", "ROW_KINDS", "LARGE"]

#: Statement heads (first word) that return a result set, and their kind names.
ROW_KINDS = {
    "SELECT": "select", "WITH": "select", "FROM": "select", "EXPLAIN": "explain",
    "DESCRIBE": "describe", "DESC": "describe", "SHOW": "show", "EXISTS": "exists",
    "CHECK": "check", "KILL": "kill", "WATCH": "watch", "BACKUP": "backup", "RESTORE": "restore",
}
#: Heads of statements that return no result set (a known list; anything else is "other").
NO_ROW_KINDS = {
    "INSERT", "CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE", "OPTIMIZE", "SYSTEM", "SET", "USE",
    "GRANT", "REVOKE", "ATTACH", "DETACH", "EXCHANGE", "UNDROP", "DELETE", "UPDATE", "BEGIN",
    "COMMIT", "ROLLBACK", "MOVE",
}
_EXPLAIN_WORDS = {"AST", "SYNTAX", "PLAN", "PIPELINE", "ESTIMATE", "QUERY", "TREE", "TABLE",
                  "OVERRIDE", "CURRENT", "TRANSACTION"}
_QUERY_START = {"SELECT", "WITH", "FROM", "EXPLAIN", "SHOW", "DESCRIBE", "DESC"}


@dataclass(frozen=True)
class Kind:
    """What a statement is.

    - `name`: "select", "explain", "describe", "show", "exists", "check", "kill", "watch",
      "backup", "restore", "insert", "create", "alter", "drop", ..., or "other" (an unknown head);
      "empty" for a statement without tokens.
    - `returns_rows`: the server sends back a result set for the client to read as rows.
    - `format`: the statement's own output FORMAT clause (`"JSONEachRow"`), None without one
      (INSERT's FORMAT names its input data and is not counted).
    - `format_at`: (start, end) offsets of the FORMAT clause (keyword and name), or None.
    - `into_outfile`: the statement writes its result to a file (`INTO OUTFILE '...'`).
    - `explained`: for EXPLAIN, the kind name of the statement it explains; `explain_form`: its
      form ("AST", "SYNTAX", "PLAN" (also when none is written), "PIPELINE", "ESTIMATE",
      "QUERY TREE", ...). After EXPLAIN AST a FORMAT clause belongs to the explained query (it
      shows in the AST, the output stays TabSeparated: checked on chdb), so it is not counted
      and nothing may be appended to such a statement (`format_appendable`).
    """

    name: str
    returns_rows: bool
    format: str | None = None
    format_at: tuple[int, int] | None = None
    into_outfile: bool = False
    explained: str | None = None
    explain_form: str | None = None

    @property
    def format_appendable(self) -> bool:
        """Whether a FORMAT clause appended to the statement sets its output format (a driver
        appends `FORMAT Native`): not after EXPLAIN AST, where it would change the AST shown."""
        return not (self.name == "explain" and self.explain_form == "AST")

    @property
    def raw_output(self) -> bool:
        """The statement decides its own output (a FORMAT or INTO OUTFILE clause): its bytes are
        passed on as the server sends them."""
        return self.format is not None or self.into_outfile

    @property
    def is_query(self) -> bool:
        """A statement of a kind that returns rows (whatever its FORMAT): it changes nothing."""
        return self.name in ROW_KINDS.values() and self.name not in ("kill", "backup", "restore")


def _head(toks: list[Token]) -> int:
    """Index of the first token that is not an opening parenthesis."""
    i = 0
    while i < len(toks) and toks[i].type == TokenType.L_PAREN:
        i += 1
    return i


def _word(t: Token) -> str:
    return t.up if t.type != TokenType.IDENTIFIER else ""


def _with_target(toks: list[Token], i: int) -> str:
    """After a leading WITH: the statement it prefixes ("select" or "insert")."""
    for t in toks[i + 1:]:
        if t.depth == 0:
            w = _word(t)
            if w == "SELECT":
                return "select"
            if w == "INSERT":
                return "insert"
    return "select"


def statement_kind(tokens: Tokens | list[Token]) -> Kind:
    """The kind of one statement (its tokens; see the module doc)."""
    toks = tokens.tokens if isinstance(tokens, Tokens) else tokens
    i = _head(toks)
    if i >= len(toks):
        return Kind("empty", False) if not toks else Kind("other", False)
    head = _word(toks[i])
    if head == "WITH" and _with_target(toks, i) == "insert":
        head = "INSERT"
    if head in ROW_KINDS:
        name = ROW_KINDS[head]
        explained = form = None
        if name == "explain":
            form, explained = _explained(toks, i)
        fmt, fmt_at = _format_clause(toks) if form != "AST" else (None, None)
        outfile = _into_outfile(toks)
        rows = fmt is None and not outfile
        return Kind(name, rows, fmt, fmt_at, outfile, explained, form)
    if head in NO_ROW_KINDS:
        return Kind(head.lower(), False)
    return Kind("other", False)


#: Statements longer than this (characters) are classified from their head when it makes them a
#: statement without rows (a large INSERT's data is not lexed into tokens for that).
LARGE = 64 * 1024
_HEAD = re.compile(r"[\s(]*([A-Za-z_]+)")


def head_kind(text: str) -> Kind | None:
    """The kind of a statement that returns no rows, read from its first word only (comments
    skipped, with the fast pass of `sqlext.text.tokens.scan`, which also checks the quoting);
    None when the statement's tokens are needed (a kind with rows, WITH, or an unknown head).
    Raises SQLSyntaxError like `scan`."""
    m = _HEAD.match(scan(text).copy.lstrip("\ufeff"))
    head = m.group(1).upper() if m else ""
    if head in NO_ROW_KINDS:
        return Kind(head.lower(), False)
    return None


def kind_of(text: str, tokens: Tokens | None = None) -> Kind:
    """The kind of a statement: from its head when it is large and its head says it returns no
    rows (`head_kind`), else from its tokens (given, or lexed here)."""
    if tokens is None and len(text) > LARGE:
        k = head_kind(text)
        if k is not None:
            return k
    from sqlext.text.tokens import tokenize

    return statement_kind(tokens if tokens is not None else tokenize(text))


def _explained(toks: list[Token], i: int) -> tuple[str, str | None]:
    """(form, kind of the explained statement) after EXPLAIN [AST | SYNTAX | PLAN | ...]
    [setting = value, ...]."""
    j = i + 1
    n = len(toks)
    words = []
    while j < n and _word(toks[j]) in _EXPLAIN_WORDS:
        words.append(_word(toks[j]))
        j += 1
    form = " ".join(words) or "PLAN"
    while j + 2 < n and is_name(toks[j]) and toks[j + 1].type == TokenType.EQ:
        j += 3
        if j < n and toks[j].type == TokenType.COMMA:
            j += 1
    if j >= n:
        return form, None
    return form, statement_kind(toks[j:]).name


def _format_clause(toks: list[Token]) -> tuple[str | None, tuple[int, int] | None]:
    """The statement's FORMAT clause: FORMAT <name> at the top level, followed by nothing but a
    SETTINGS clause (ClickHouse accepts SETTINGS on either side of FORMAT)."""
    n = len(toks)
    for k in range(n - 2, -1, -1):
        t = toks[k]
        if t.depth != 0 or t.type != TokenType.FORMAT:
            continue
        name = toks[k + 1]
        if name.depth != 0 or not is_name(name):
            continue
        after = toks[k + 2] if k + 2 < n else None
        if after is None or after.type in (TokenType.SETTINGS, TokenType.SEMICOLON):
            return name.text, (t.start, name.end)
    return None, None


def _into_outfile(toks: list[Token]) -> bool:
    for k in range(len(toks) - 1):
        t = toks[k]
        if t.depth == 0 and t.type == TokenType.INTO and toks[k + 1].up == "OUTFILE":
            return True
    return False


# ----------------------------------------------------------------------------------------------
# query levels and clauses

_CLAUSES = {
    TokenType.SELECT: "SELECT", TokenType.FROM: "FROM", TokenType.WHERE: "WHERE",
    TokenType.PREWHERE: "PREWHERE", TokenType.GROUP_BY: "GROUP BY", TokenType.HAVING: "HAVING",
    TokenType.ORDER_BY: "ORDER BY", TokenType.LIMIT: "LIMIT", TokenType.SETTINGS: "SETTINGS",
    TokenType.FORMAT: "FORMAT", TokenType.WINDOW: "WINDOW", TokenType.QUALIFY: "QUALIFY",
    TokenType.JOIN: "JOIN", TokenType.ON: "ON", TokenType.USING: "USING", TokenType.OFFSET: "OFFSET",
}
_BRANCH = {TokenType.UNION, TokenType.EXCEPT, TokenType.INTERSECT}
# TokenType is an Enum whose __hash__ runs in Python: the scan below looks types up by id()
_CLAUSE_BY_ID = {id(k): v for k, v in _CLAUSES.items()}
_BRANCH_IDS = frozenset(map(id, _BRANCH))
_CLOSERS = frozenset(map(id, (TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE)))


@dataclass
class Scopes:
    """Per token of a statement: `scope[k]`, an id of its query level (the top-level SELECT, a
    subquery, a UNION branch: each its own), and `clause[k]`, the clause it is in at that level
    ("WHERE", "ORDER BY", "LIMIT", "SETTINGS", ...; "" before the first). `keyword[k]` is True
    for the clause keywords themselves."""

    scope: list[int]
    clause: list[str]
    keyword: list[bool]


def _opens_query(toks: list[Token], k: int) -> bool:
    j = k + 1
    while j < len(toks) and toks[j].type == TokenType.L_PAREN:
        j += 1
    return j < len(toks) and _word(toks[j]) in _QUERY_START


def query_scopes(tokens: Tokens | list[Token]) -> Scopes:
    """The query level and clause of every token (see `Scopes`)."""
    toks = tokens.tokens if isinstance(tokens, Tokens) else tokens
    n = len(toks)
    scope = [0] * n
    clause = [""] * n
    keyword = [False] * n
    next_id = 1
    # frames: [scope id, base depth, current clause, is a subquery frame]
    stack: list[list] = [[0, 0, "", True]]
    for k, t in enumerate(toks):
        frame = stack[-1]
        tid = id(t.type)
        if tid in _CLOSERS:
            if len(stack) > 1 and t.depth < frame[1]:
                stack.pop()
                frame = stack[-1]
        scope[k] = frame[0]
        if t.depth == frame[1]:
            name = _CLAUSE_BY_ID.get(tid)
            if tid in _BRANCH_IDS:
                frame[0] = next_id
                next_id += 1
                frame[2] = ""
                scope[k] = frame[0]
                keyword[k] = True
            elif name is not None and not (t.type is TokenType.FORMAT and k + 1 < n
                                           and toks[k + 1].type is TokenType.L_PAREN):
                frame[2] = name
                keyword[k] = True
            elif t.type is TokenType.INTO and k + 1 < n and toks[k + 1].up == "OUTFILE":
                frame[2] = "INTO OUTFILE"
                keyword[k] = True
        clause[k] = frame[2]
        if t.type is TokenType.L_PAREN and _opens_query(toks, k):
            stack.append([next_id, t.depth + 1, "", True])
            next_id += 1
    return Scopes(scope, clause, keyword)


# ----------------------------------------------------------------------------------------------
# tables and settings

@dataclass
class TableRef:
    """A table named after FROM / JOIN: its name as written (unquoted parts joined with '.')
    and its alias."""

    name: str
    alias: str | None


_NOT_ALIAS = {"WHERE", "PREWHERE", "GROUP", "ORDER", "LIMIT", "JOIN", "INNER", "LEFT", "RIGHT",
              "FULL", "CROSS", "ARRAY", "ON", "USING", "FINAL", "SAMPLE", "SETTINGS", "FORMAT",
              "UNION", "HAVING", "WINDOW", "QUALIFY", "GLOBAL", "ANY", "ALL", "ASOF", "SEMI",
              "ANTI", "OUTER", "INTO", "WITH", "EXCEPT", "INTERSECT", "PASTE", "SELECT"}


def table_refs(tokens: Tokens | list[Token]) -> list[TableRef]:
    """Tables named after FROM / JOIN (at any depth), with their aliases; table functions and
    subqueries are not tables."""
    toks = tokens.tokens if isinstance(tokens, Tokens) else tokens
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


def settings_of(tokens: Tokens | list[Token], scopes: Scopes | None = None,
                scope: int | None = None) -> dict[str, str]:
    """SETTINGS name = value pairs (names lower-cased, values as written, string quotes removed)
    of one query level (`scope`, from `query_scopes`) and of the statement's top level; with
    `scope` None, of every SETTINGS clause in the statement."""
    toks = tokens.tokens if isinstance(tokens, Tokens) else tokens
    if scope is not None and scopes is None:
        scopes = query_scopes(toks)
    out: dict[str, str] = {}
    n = len(toks)
    for k, t in enumerate(toks):
        if t.type != TokenType.SETTINGS:
            continue
        if scope is not None and not scopes.keyword[k]:
            continue
        if scope is not None and t.depth != 0 and scopes.scope[k] != scope:
            continue
        d = t.depth
        j = k + 1
        while j + 2 < n and is_name(toks[j]) and toks[j + 1].type == TokenType.EQ:
            v = toks[j + 2]
            out.setdefault(toks[j].low, v.text)
            j += 3
            while j < n and toks[j].depth > d:
                j += 1
            if j < n and toks[j].type == TokenType.COMMA and toks[j].depth == d:
                j += 1
            else:
                break
    return out
