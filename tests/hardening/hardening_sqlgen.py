"""A seeded, grammar-ish generator of realistic MyScale / ClickHouse SQL for fuzzing the EMBED
rewrite and the dialect bridge, with the oracle each statement needs.

`generate(seed) -> Case`. A Case is a list of segments, each tagged:
- "plain": text that must reach the output byte for byte (keywords, names, strings, comments,
  quoted identifiers, look-alikes such as 'embed(x)' in a string or `-- VECTOR INDEX` in a comment);
- "ms": a MyScale construct the bridge rewrites for ClickHouse (`distance('ef_s=64')`,
  `VECTOR ` of `ADD VECTOR INDEX`, `TYPE MSTG(...)`, `batch_distance(...)`, `system.vector_indices`);
- "ch": a ClickHouse construct the bridge rewrites for MyScale (`cosineDistance` on an indexed
  column, `vector_similarity(...)`, ` GRANULARITY 1`, and the empty point where `VECTOR ` goes);
- "junk": random tokens (unbalanced brackets, lone quotes, unicode, NUL, `EMBED(`...).
Segments hold pieces: str, or an `Embed` (a real EMBED call whose expected EmbedQuery we know).

`case.render(vec)` builds the text, `vec(i, embed) -> str` giving the text of the i-th EMBED call
(its own call text before the rewrite, a vector literal after it).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

try:
    from embed import EmbedQuery, Term
except ImportError:  # pragma: no cover
    from embed.types import EmbedQuery, Term

TABLES = ["photos", "default.photos", "db1.items", "t", "`my table`", '"Фото"']
VEC_COLS = ["v", "photo_embed", "emb"]
COLS = ["id", "photo_id", "photo_description", "ts", "`weird col`", '"quoted"', "x$y", "title", "price"]
WORDS = ["cat", "a red car", "snow", "dog on a beach", "ünïcödé", "猫", "🐱 emoji", "it's", "back\\slash",
         "line\nbreak", "tab\there", "embed('x')", "distance(v, 1)", "VECTOR INDEX", "$$", "--", "/*", "; DROP"]
IMAGE_REFS = ["https://example.com/a.jpg", "./photos/x.png", "file:///tmp/y.jpg", "cat.jpg"]
UNICODE = ["é", "ß", "漢字", "🙂", "\u200b", "\u00a0", "Ω", "\u202e", "ｆｕｌｌ"]


@dataclass(frozen=True)
class Embed:
    text: str
    query: EmbedQuery


@dataclass
class Segment:
    kind: str            # plain | ms | ch | junk
    pieces: list         # str | Embed


@dataclass
class Case:
    seed: int
    segments: list[Segment] = field(default_factory=list)
    expect_error: str | None = None     # "rewrite" | "translate": an error of ours is expected
    whole: bool = False                 # the bridge replaces the whole statement
    ef_s: str | None = None             # distance('ef_s=N') present: a SETTINGS item is added
    user_settings: bool = False

    @property
    def junk(self) -> bool:
        return any(s.kind == "junk" for s in self.segments)

    @property
    def embeds(self) -> list[Embed]:
        return [p for s in self.segments for p in s.pieces if isinstance(p, Embed)]

    def kinds(self) -> set[str]:
        return {s.kind for s in self.segments if "".join(p for p in s.pieces if isinstance(p, str))
                or s.kind in ("ms", "ch")}

    def render(self, vec=None) -> str:
        return "".join(self.segment_texts(vec))

    def segment_texts(self, vec=None) -> list[str]:
        out, k = [], 0
        for s in self.segments:
            parts = []
            for p in s.pieces:
                if isinstance(p, Embed):
                    parts.append(p.text if vec is None else vec(k, p))
                    k += 1
                else:
                    parts.append(p)
            out.append("".join(parts))
        return out


# ------------------------------------------------------------------------------ literals

def sql_string(r: random.Random, value: str) -> str:
    """A ClickHouse string literal for `value`, mixing both escape styles."""
    out = []
    for ch in value:
        if ch == "'":
            out.append(r.choice(["''", "\\'"]))
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n" and r.random() < 0.5:
            out.append("\\n")
        elif ch == "\t" and r.random() < 0.5:
            out.append("\\t")
        else:
            out.append(ch)
    return "'" + "".join(out) + "'"


def word(r: random.Random) -> str:
    w = r.choice(WORDS)
    if r.random() < 0.3:
        w += " " + "".join(r.choice(UNICODE) for _ in range(r.randint(1, 3)))
    if r.random() < 0.2:
        w = w.upper()
    return w


def embed_call(r: random.Random) -> Embed:
    terms, texts = [], []
    for _ in range(r.choice([1, 1, 1, 2, 3])):
        kind = r.choice(["auto", "auto", "text", "image"])
        value = r.choice(IMAGE_REFS) if kind == "image" else word(r)
        atom = sql_string(r, value)
        if kind != "auto":
            atom = f"{r.choice([kind, kind.upper(), kind.title()])}({r.choice(['', ' '])}{atom})"
        wt, w = r.choice([(None, 1.0), (None, 1.0), ("2", 2.0), ("0.5", 0.5), (".25", 0.25), ("1.5e1", 15.0),
                          ("3", 3.0)])
        text = atom
        if wt is not None:
            text = f"{wt} * {atom}" if r.random() < 0.5 else f"{atom}*{wt}"
        neg = r.random() < 0.2
        if neg:
            text = "-" + text
        texts.append(text)
        terms.append(Term(kind, value, -w if neg else w))
    name = r.choice(["EMBED", "embed", "Embed"])
    sep = r.choice([", ", ",", " , ", ",\n  "])
    call = f"{name}({r.choice(['', ' '])}{sep.join(texts)}{r.choice(['', ' '])})"
    return Embed(call, EmbedQuery(tuple(terms)))


def vector_literal(r: random.Random) -> str:
    return "[" + ", ".join(f"{r.uniform(-1, 1):.4f}" for _ in range(r.randint(2, 4))) + "]"


def query_vector(r: random.Random) -> list:
    """An EMBED call or a literal vector (as pieces)."""
    return [embed_call(r)] if r.random() < 0.8 else [vector_literal(r)]


def noise(r: random.Random) -> str:
    """Plain text mentioning embed / distance / VECTOR INDEX where neither ClickHouse nor the
    bridge may see a call: strings, comments, quoted identifiers, longer names."""
    body = r.choice(["embed('x')", "EMBED(col)", "Embed(", "distance(v, [1.0])", "VECTOR INDEX vi v TYPE MSTG",
                     "batch_distance(v, [[1.0]])", "system.vector_indices", "cosineDistance(v, x)", "embed",
                     "it's", "EMBED()", "embed('unterminated"]) + (r.choice(UNICODE) if r.random() < 0.3 else "")
    kind = r.choice(["string", "block", "nested", "line", "slash", "hash", "ident", "quoted_call", "name",
                     "heredoc"])
    if kind == "string":
        return sql_string(r, body)
    if kind == "block":
        return "/* " + body + " */"
    if kind == "nested":
        return "/* outer /* " + body + " */ still comment */"
    if kind == "line":
        return "-- " + body + "\n"
    if kind == "slash":
        return "// " + body + "\n"
    if kind == "hash":
        return "# " + body + "\n"
    if kind == "ident":
        q = r.choice(['"', "`"])
        return q + body.replace("\\", "").replace(q, q + q) + q
    if kind == "quoted_call":
        return r.choice(['"embed"', "`EMBED`", '"Embed"']) + "(" + sql_string(r, body) + ")"
    if kind == "heredoc":
        return "$$" + body.replace("$", "") + "$$"
    return r.choice(["embed_col", "photo_embed", "myembed(1)", "t.embed", "embed2", "embedding",
                     "distance_col", "my_distance(1, 2)", "vector_index_x", "db.distance(1, 2)"])


JUNK = ["(", ")", ",", "'", '"', "`", "$$", "/*", "*/", "--", "\\", "@", "\x00", "EMBED(", "embed(", "EMBED",
        "distance(", "distance('ef_s=1')(", "VECTOR INDEX", "VECTOR", "INDEX", "[", "]", "{", "}", "1e", "0x",
        ";", "::", "->", "?", "%", "$", "$1$", "#", "//", "*", "-", "+", "'a'", "1.", "..", "text(", "image(",
        "SETTINGS", "TYPE", "MSTG(", "batch_distance(", "system.", "FROM", "ADD", "\n", "\r\n", "\t", "ü", "🙂",
        "\ufeff", "\u2028", "EMBED('x'", "EMBED('x' *", "EMBED(-)", "EMBED(2 *)", "EMBED('')", "EMBED(' ')"]


def junk(r: random.Random) -> str:
    return " ".join(r.choice(JUNK) for _ in range(r.randint(1, 4)))


# ------------------------------------------------------------------------------ statements

class _B:
    """Statement builder: appends pieces to the current segment of a kind."""

    def __init__(self, r: random.Random, case: Case, junk_p: float):
        self.r, self.case, self.junk_p = r, case, junk_p

    def add(self, kind: str, *pieces) -> None:
        segs = self.case.segments
        if segs and segs[-1].kind == kind and kind == "plain":
            segs[-1].pieces.extend(pieces)
        else:
            segs.append(Segment(kind, list(pieces)))

    def p(self, *pieces) -> None:
        self.add("plain", *pieces)
        if self.r.random() < self.junk_p:
            self.add("junk", " " + junk(self.r) + " ")

    def ws(self) -> str:
        r = self.r
        x = r.random()
        if x < 0.75:
            return " "
        if x < 0.85:
            return "\n  "
        if x < 0.95:
            return " " + noise(r) + " " if r.random() < 0.5 else "  "
        return "\t"


def _comment(r: random.Random) -> str:
    return r.choice([" /* embed('x') */ ", " -- VECTOR INDEX vi\n", " // distance(v, x)\n", " /* it's */ ",
                     " /* a /* nested */ EMBED( */ ", " ", "\n", "\t"])


def _distance(b: _B, vec_col: str, *, ef: bool) -> None:
    """distance[('ef_s=N')](col, EMBED(...)) for MyScale (ms), or a ClickHouse function (ch)."""
    r = b.r
    if ef:
        n = str(r.choice([32, 64, 128, 300]))
        b.case.ef_s = n
        b.add("ms", f"distance('ef_s={n}')")
    elif r.random() < 0.15:
        # a parameter with no ClickHouse equivalent: dropped with a warning
        b.add("ms", f"distance('{r.choice(['alpha=3', 'nprobe=8'])}')")
    else:
        b.add("ms", r.choice(["distance", "Distance", "DISTANCE"]))
    b.p("(", vec_col, ", ", *query_vector(r), ")")


def _ch_distance(b: _B, vec_col: str) -> None:
    b.add("ch", b.r.choice(["cosineDistance", "cosineDistance", "L2Distance"]))
    b.p("(", vec_col, ", ", *query_vector(b.r), ")")


def select_case(b: _B, dialect: str) -> None:
    r = b.r
    table = r.choice(["photos", "photos", "default.photos"])
    vec_col = r.choice(["v", "photos.v", "p.v"]) if table == "photos" else "v"
    alias = " AS p" if vec_col.startswith("p.") else r.choice(["", " FINAL"][:1])
    cte = r.random() < 0.2
    if cte:
        b.p("WITH ", r.choice(["q AS (SELECT 1)", "1 AS one", "[1.0, 2.0] AS lit"]), b.ws())
    b.p("SELECT", b.ws(), r.choice(["id", "*", "photo_id, photo_description", '"quoted", `weird col`', "count()"]))
    n_dist = r.choice([0, 1, 1, 1, 2])
    ef = dialect == "ms" and r.random() < 0.3
    for k in range(n_dist):
        b.p(", ")
        if dialect == "ms":
            _distance(b, vec_col, ef=ef and k == 0)
        elif dialect == "ch":
            _ch_distance(b, vec_col)
        else:
            b.p(r.choice(["length(", "arraySum("]), *query_vector(r), ")")
        b.p(f" AS d{k}")
    if r.random() < 0.5:
        b.p(", ", noise(r) if r.random() < 0.5 else sql_string(r, word(r)))
    b.p(b.ws(), "FROM ", table, alias)
    if r.random() < 0.2:
        b.p(" JOIN (SELECT 1 AS id) AS j USING (id)")
    if r.random() < 0.6:
        b.p(b.ws(), "WHERE ", r.choice(["id > 3", "photo_description ILIKE '%embed(%'",
                                         "photo_id IN ('a', 'b')", "ts >= now() - INTERVAL 1 DAY",
                                         "length(v) = 512", "has(tags, 'distance(')", "x$y = 1"]))
        if r.random() < 0.3:
            b.p(" AND ")
            if dialect == "ch":
                b.add("ch", r.choice(["cosineDistance", "L2Distance"]))
            elif dialect == "ms":
                b.add("ms", "distance")
            else:
                b.p("length")
            b.p("(v, ", *query_vector(r), ") < 0.5")
    if n_dist and r.random() < 0.8:
        b.p(b.ws(), "ORDER BY d0", r.choice(["", " ASC", " DESC"]), " LIMIT ", str(r.randint(1, 100)))
    elif r.random() < 0.5:
        b.p(b.ws(), "ORDER BY id LIMIT 10")
    if r.random() < 0.25:
        b.case.user_settings = True
        b.p(b.ws(), "SETTINGS max_threads = 2")
    if r.random() < 0.15:
        b.p(" FORMAT ", r.choice(["JSONEachRow", "TSV"]))


def batch_case(b: _B) -> None:
    r = b.r
    b.p("SELECT id, ")
    qs: list = ["["]
    for k in range(r.randint(1, 3)):
        if k:
            qs.append(", ")
        qs.extend(query_vector(r))
    qs.append("]")
    b.add("ms", "batch_distance(", r.choice(["v", "photos.v"]), ", ", *qs, ")")
    b.p(" AS dist FROM photos ORDER BY dist.1, dist.2 LIMIT ", str(r.randint(1, 5)), " BY dist.1")


def vector_indices_case(b: _B) -> None:
    r = b.r
    b.p("SELECT ", r.choice(["*", "name, status", "table, expr"]), " FROM ")
    b.add("ms", "system.vector_indices")
    b.p(r.choice(["", " WHERE table = 'photos'", " WHERE name LIKE '%embed(%'", " ORDER BY name"]))


def alter_add_case(b: _B) -> None:
    r = b.r
    b.p("ALTER TABLE ", r.choice(["photos", "default.photos"]), " ADD ")
    b.add("ms", "VECTOR ")
    b.p("INDEX ", r.choice(["IF NOT EXISTS ", ""]), r.choice(["vi", "`idx one`", "photo_idx"]), " v")
    t = r.choice(["MSTG", "HNSWFLAT", "SCANN", "IVFFLAT"])
    metric = r.choice(["Cosine", "L2", "cosine"])
    params = [f"'metric_type={metric}'"]
    if t == "HNSWFLAT" and r.random() < 0.5:
        params += ["'m=16'", "'ef_c=100'"]
    b.add("ms", f" TYPE {t}(" + ", ".join(params) + ")")


def create_table_case(b: _B, dialect: str) -> None:
    r = b.r
    b.p("CREATE TABLE ", r.choice(["IF NOT EXISTS ", ""]), r.choice(["t", "db1.items", "`my table`"]), " (",
        _comment(r), "id UInt64,", _comment(r), "v Array(Float32),", _comment(r),
        r.choice(["", "title String COMMENT 'the embed(title) column',", "\"ü\" String DEFAULT 'VECTOR INDEX',"]),
        _comment(r), "CONSTRAINT v_len CHECK length(v) = 512")
    if dialect == "ms":
        b.p(",", _comment(r))
        b.add("ms", "VECTOR ")
        b.p("INDEX vi v")
        b.add("ms", f" TYPE {r.choice(['MSTG', 'HNSWFLAT'])}('metric_type={r.choice(['Cosine', 'L2'])}')")
    elif dialect == "ch":
        b.p(",", _comment(r))
        b.add("ch", "")  # "VECTOR " is inserted here
        b.p("INDEX vi v TYPE ")
        b.add("ch", f"vector_similarity('hnsw', '{r.choice(['cosineDistance', 'L2Distance'])}', 512)")
        if r.random() < 0.5:
            b.add("ch", " GRANULARITY 1")
    b.p(_comment(r), ") ENGINE = MergeTree ORDER BY id")


def insert_select_case(b: _B) -> None:
    r = b.r
    b.p("INSERT INTO ", r.choice(["photos", "t"]), " (id, v) SELECT id, ", *query_vector(r), " FROM ",
        r.choice(["numbers(3)", "staging"]))
    if r.random() < 0.3:
        b.p(" WHERE photo_description != 'embed(x)'")


def plain_case(b: _B) -> None:
    r = b.r
    b.p(r.choice(["SELECT 1", "SHOW TABLES", "SELECT count() FROM photos", "DESCRIBE TABLE photos",
                  "SELECT 'a''b', \"c\", `d` FROM t", "SELECT x$y, `embed` FROM t", "OPTIMIZE TABLE photos FINAL",
                  "SELECT * FROM system.parts", "SELECT embedding, photo_embed FROM photos"]))
    for _ in range(r.randint(0, 3)):
        b.p(b.ws(), noise(r))


def whole_case(b: _B) -> None:
    r = b.r
    b.case.whole = True
    if r.random() < 0.5:
        b.add("ms", "CREATE VECTOR INDEX ", r.choice(["IF NOT EXISTS ", ""]), "vi ON photos v TYPE ",
              r.choice(["MSTG", "HNSWFLAT"]), "('metric_type=Cosine')")
    else:
        b.add("ms", "DROP VECTOR INDEX ", r.choice(["IF EXISTS ", ""]), "vi ON photos")


def invalid_case(b: _B) -> None:
    """Documented errors: a non-literal EMBED, an empty input, an untranslatable index."""
    r = b.r
    x = r.random()
    if x < 0.6:
        b.case.expect_error = "rewrite"
        bad = r.choice(["EMBED(col)", "EMBED()", "EMBED('a' || 'b')", "EMBED('')", "EMBED('   ')",
                        "EMBED(concat('a', 'b'))", "EMBED(text(col))", "EMBED('a',)", "EMBED(\"cat\")",
                        "EMBED(2 * 3)", "EMBED('a' * x)", "EMBED(1e999 * 'a')", "EMBED([1.0])", "EMBED('x'"])
        b.p("SELECT ", bad, " FROM photos")
    else:
        b.case.expect_error = "translate"
        b.p("ALTER TABLE photos ADD ")
        b.add("ms", "VECTOR ")
        b.p("INDEX vi v")
        b.add("ms", r.choice([" TYPE MSTG('metric_type=IP')", " TYPE BINARYMSTG('metric_type=Hamming')",
                              " TYPE NOSUCH('metric_type=L2')"]))


def generate(seed: int, *, junk_p: float | None = None) -> Case:
    r = random.Random(seed)
    case = Case(seed)
    if junk_p is None:
        junk_p = 0.0 if r.random() < 0.7 else 0.08
    b = _B(r, case, junk_p)
    lead = r.random()
    if lead < 0.1:
        b.p(r.choice(["-- embed('x') leading comment\n", "/* distance(v, [1.0]) */ ", "// VECTOR INDEX\n",
                      "# EMBED(col)\n", "/* a /* nested embed( */ */\n"]))
    elif lead < 0.15:
        b.p("\ufeff" if r.random() < 0.5 else "\n\n")
    x = r.random()
    if x < 0.40:
        select_case(b, r.choice(["ms", "ms", "ch", "none"]))
    elif x < 0.47:
        batch_case(b)
    elif x < 0.52:
        vector_indices_case(b)
    elif x < 0.60:
        alter_add_case(b)
    elif x < 0.70:
        create_table_case(b, r.choice(["ms", "ch", "none"]))
    elif x < 0.78:
        insert_select_case(b)
    elif x < 0.88:
        plain_case(b)
    elif x < 0.92:
        whole_case(b)
    else:
        invalid_case(b)
    tail = r.random()
    if tail < 0.2:
        b.p(";")
    elif tail < 0.3:
        b.p(r.choice([" -- trailing embed('x') comment", "; /* done */", ";\n", " # hash comment"]))
    return case
