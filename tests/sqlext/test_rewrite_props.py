"""Property tests for the EMBED rewrite: generated statements mixing real calls with look-alikes
hidden in strings, comments and identifiers."""
from __future__ import annotations

import numpy as np
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqlext.text.rewrite import find_embeds, format_vector, rewrite

try:
    from embed import EmbedQuery, Term
except ImportError:
    from embed.types import EmbedQuery, Term

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sql_string(value: str) -> str:
    """A ClickHouse string literal for value, using both escape styles."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
lookalikes = st.sampled_from(["EMBED('x')", "embed('a red car')", "Embed(col)", "EMBED(", "EMBED()", "embed"])
noisy = st.builds(lambda a, b, c: a + b + c, texts, lookalikes, texts)


@st.composite
def terms(draw):
    value = draw(texts.filter(lambda s: s.strip()))
    kind = draw(st.sampled_from(["auto", "text", "image"]))
    atom = sql_string(value) if kind == "auto" else f"{draw(st.sampled_from([kind, kind.upper()]))}({sql_string(value)})"
    weight_text, weight = draw(st.sampled_from([(None, 1.0), ("2", 2.0), ("0.5", 0.5), (".25", 0.25), ("1.5e1", 15.0)]))
    negative = draw(st.booleans())
    if weight_text is None:
        text = atom
    elif draw(st.booleans()):
        text = f"{weight_text} * {atom}"
    else:
        text = f"{atom} * {weight_text}"
    if negative:
        text = "-" + text
    return text, Term(kind, value, -weight if negative else weight)


@st.composite
def embed_calls(draw):
    parts = draw(st.lists(terms(), min_size=1, max_size=3))
    name = draw(st.sampled_from(["EMBED", "embed", "Embed"]))
    text = f"{name}({', '.join(p[0] for p in parts)})"
    return text, EmbedQuery(tuple(p[1] for p in parts))


@st.composite
def noise(draw):
    """Something that mentions embed but is not a call."""
    kind = draw(st.sampled_from(["string", "block", "line", "ident", "quoted_call", "name"]))
    body = draw(noisy)
    if kind == "string":
        return sql_string(body)
    if kind == "block":
        return "/* " + body.replace("*/", "").replace("/*", "").replace("*", "") + " */ 1"
    if kind == "line":
        return "-- " + body.replace("\n", " ").replace("\r", " ") + "\n 1"
    if kind == "ident":
        quote = draw(st.sampled_from(['"', "`"]))
        return quote + body.replace("\\", "").replace(quote, "") + quote
    if kind == "quoted_call":
        name = draw(st.sampled_from(['"embed"', '`EMBED`', '"Embed"']))
        return f"{name}({sql_string(body)})"
    return draw(st.sampled_from(["embed_col", "photo_embed", "myembed(1)", "t.embed", "embed2", "embedding"]))


@st.composite
def statements(draw):
    items = draw(st.lists(st.one_of(embed_calls(), noise()), min_size=1, max_size=6))
    where = draw(st.sampled_from(["select", "distance", "order", "subquery"]))
    rendered = [i[0] if isinstance(i, tuple) else i for i in items]
    expected = [i for i in items if isinstance(i, tuple)]
    cols = ", ".join(rendered)
    if where == "select":
        sql = f"SELECT {cols} FROM t"
    elif where == "distance":
        sql = f"SELECT id, {cols} FROM t WHERE 1 = 1"
    elif where == "order":
        sql = f"SELECT id FROM t ORDER BY tuple({cols}) LIMIT 3"
    else:
        sql = f"SELECT * FROM (SELECT {cols} FROM t) AS s"
    return sql, expected


def fake_embed(queries):
    return [np.array([len(q.terms), q.terms[0].weight, len(q.terms[0].value), 0.5], np.float32) for q in queries]


@SETTINGS
@given(noise())
def test_embed_inside_strings_comments_and_identifiers_is_never_rewritten(text):
    sql = f"SELECT {text} FROM t"
    out, calls = rewrite(sql, fake_embed)
    assert calls == []
    assert out == sql


@SETTINGS
@given(texts.filter(lambda s: s.strip()))
def test_string_literals_decode_to_the_original_text(value):
    (call,) = find_embeds(f"SELECT EMBED({sql_string(value)})")
    assert call.query == EmbedQuery((Term("auto", value),))


@SETTINGS
@given(statements())
def test_rewrite_replaces_exactly_the_calls(case):
    sql, expected = case
    seen: list[list[EmbedQuery]] = []

    def embed_fn(queries):
        seen.append(list(queries))
        return fake_embed(queries)

    out, calls = rewrite(sql, embed_fn)
    assert [(c.text, c.query) for c in calls] == expected
    if not expected:
        assert out is sql and seen == []
        return
    assert len(seen) == 1 and len(seen[0]) == len(set(seen[0])) == len({q for _, q in expected})

    # Re-splice: put the original call texts back in place of the vectors -> the input, exactly.
    vectors = dict(zip(seen[0], fake_embed(seen[0])))
    restored, pos_out, pos_in = [], 0, 0
    for call in calls:
        literal = format_vector(vectors[call.query])
        at = pos_out + (call.start - pos_in)
        restored.append(out[pos_out:at])
        assert out[at:at + len(literal)] == literal
        restored.append(call.text)
        pos_out, pos_in = at + len(literal), call.end
    restored.append(out[pos_out:])
    assert "".join(restored) == sql

    # Whatever sqlglot could parse before, it can parse after.
    try:
        sqlglot.parse_one(sql, read="clickhouse")
    except sqlglot.errors.SqlglotError:
        return
    sqlglot.parse_one(out, read="clickhouse")


@SETTINGS
@given(st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), min_size=1, max_size=64))
def test_format_vector_round_trips(values):
    v = np.array(values, np.float32)
    text = format_vector(v)
    items = text[1:-1].split(", ")
    assert all("." in x or "e" in x for x in items)
    back = np.array([float(x) for x in items], np.float64).astype(np.float32)
    assert back.view(np.uint32).tolist() == v.view(np.uint32).tolist()
