"""ClickHouse's own text for the Python values a query returns, and how a cell shows it.

The Python API (`sqlext.Result.rows`) holds values as clickhouse-connect decodes them: `int`,
`float`, `Decimal`, `str`, `bytes` (FixedString), `date`/`datetime`, `timedelta` (Time),
`UUID`, `IPv4Address`/`IPv6Address`, `list` (Array), `tuple` (Tuple) or `dict` (named Tuple, Map,
JSON), `None` (NULL). Their `str()` is not what ClickHouse prints (`Decimal('1.500')`,
`IPv6Address('::ffff:102:304')`, `b'FR\\x00\\x00'`...). This module writes them as ClickHouse does,
given the column's ClickHouse type name (`Result.types`):

- `text(value, type)`: what ClickHouse's `toString` gives (None for NULL), the form of its
  TabSeparated output once unescaped;
- `csv_fields(value, type)`: the fields of ClickHouse's CSV output (a Tuple is one field per
  element, as ClickHouse writes it; `csv_names` gives their header names);
- `json_value(value, type)`: the value of ClickHouse's JSONEachRow output, with
  `output_format_json_quote_64bit_integers=0` (integers as numbers, exact) and
  `output_format_json_quote_denormals=1` (NaN and infinities as "nan", "inf", "-inf");
- `display(text, type)`: a cell on screen (the TUI grid, the `table` format): `Text`, never
  markup; NULL as ClickHouse's `ᴺᵁᴸᴸ`; control characters as their Unicode pictures (␉ ␊);
  FixedString bytes that are not printable as `\\xNN`; long values cut with `…`.

Tests (tests/tui/test_formats.py) compare every function with chdb's output for a table holding a
column of every type. Known limit of the Python values: DateTime64/Time64 with more than 6
decimals are held to the microsecond (Python's datetime); `text` writes the digits it has.
Sources: ClickHouse's `writeFloatText` (shortest round-trip digits, plain notation for decimal
exponents -6 < e <= 21), `formatIPv6`, `writeAnyQuotedString`, `writeJSONString`.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import functools
import ipaddress
import math
import re
from dataclasses import dataclass

NULL_MARK = "ᴺᵁᴸᴸ"  # ClickHouse's Pretty formats show NULL so: never confused with the string 'NULL'
MAX_CELL = 200  # characters of a cell on screen; longer values end with "…"


# -- type names ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CHType:
    """A parsed ClickHouse type name. `name`: the outer name (`Array`, `DateTime64`, `String`);
    `args`: type arguments (CHType) or raw literal arguments (str, e.g. "3", "'UTC'");
    `fields`: element names of a Tuple/Nested ('' when unnamed); `nullable`: Nullable(...) was
    taken off; `raw`: the name as given."""

    name: str
    args: tuple = ()
    fields: tuple = ()
    nullable: bool = False
    raw: str = ""

    def arg(self, i: int) -> "CHType":
        """Type argument `i` as a CHType (a raw literal argument is parsed as a type name). Raises
        IndexError when the type has no argument `i`."""
        a = self.args[i]
        return a if isinstance(a, CHType) else parse_type(str(a))


_TYPE_ARGS = {"Array", "Nullable", "LowCardinality", "Tuple", "Nested", "Map", "Variant",
              "SimpleAggregateFunction"}
_GEO = {"Point": "Tuple(Float64, Float64)", "Ring": "Array(Point)", "LineString": "Array(Point)",
        "MultiLineString": "Array(LineString)", "Polygon": "Array(Ring)", "MultiPolygon": "Array(Polygon)"}
_NAMED = re.compile(r"^(`(?:[^`\\]|\\.)*`|[A-Za-z_][A-Za-z0-9_]*)\s+(\S.*)$", re.S)


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses, quotes and backquotes."""
    out, depth, start, i, n = [], 0, 0, 0, len(text)
    while i < n:
        c = text[i]
        if c in "'`\"":
            i += 1
            while i < n and text[i] != c:
                i += 2 if text[i] == "\\" else 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
        i += 1
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


@functools.lru_cache(maxsize=1024)
def parse_type(type_name: str) -> CHType:
    """Parse a ClickHouse type name (`Array(Nullable(Int32))`, `Tuple(a Int32, b String)`,
    `DateTime64(3, 'UTC')`). Unknown names parse too: the formatters treat them as text."""
    s = (type_name or "").strip()
    m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?$", s, re.S)
    if not m:
        return CHType(s, raw=s)
    name, inner = m.group(1), m.group(2)
    if name in _GEO and inner is None:
        return parse_type(_GEO[name])
    if inner is None:
        return CHType(name, raw=s)
    parts = _split_top(inner)
    if name in ("Nullable", "LowCardinality"):
        t = parse_type(parts[0])
        return CHType(t.name, t.args, t.fields, t.nullable or name == "Nullable", s)
    if name == "SimpleAggregateFunction":
        return parse_type(parts[-1])
    if name not in _TYPE_ARGS:
        return CHType(name, tuple(parts), raw=s)
    args, fields = [], []
    for p in parts:
        nm = _NAMED.match(p) if name in ("Tuple", "Nested") else None
        if nm and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*\s*\(", p):
            fields.append(nm.group(1).strip("`"))
            args.append(parse_type(nm.group(2)))
        else:
            fields.append("")
            args.append(parse_type(p))
    if name == "Nested":  # a Nested column is an array of named tuples
        return CHType("Array", (CHType("Tuple", tuple(args), tuple(fields)),), raw=s)
    return CHType(name, tuple(args), tuple(fields), raw=s)


def is_vector_type(type_name: str) -> bool:
    """A column embedsql shows as `[N x Float32]`: Array(Float32), Array(Float64) or
    Array(BFloat16) (vector columns), unless asked for vectors in full."""
    t = parse_type(type_name)
    return t.name == "Array" and not t.nullable and t.arg(0).name in ("Float32", "Float64", "BFloat16") \
        and not t.arg(0).nullable


def vector_label(length: int, type_name: str) -> str:
    """`[512 x Float32]` for a vector of `length` elements of the column's element type."""
    return f"[{length} x {parse_type(type_name).arg(0).name}]"


# -- scalars ---------------------------------------------------------------------------------------
_INTS = {f"{p}Int{b}" for p in ("", "U") for b in (8, 16, 32, 64, 128, 256)}
_NUMERIC = _INTS | {"Float32", "Float64", "BFloat16", "Bool", "Decimal", "Decimal32", "Decimal64",
                    "Decimal128", "Decimal256"} | {f"Interval{u}" for u in (
                        "Nanosecond", "Microsecond", "Millisecond", "Second", "Minute", "Hour", "Day",
                        "Week", "Month", "Quarter", "Year")}


def float_text(x: float, f32: bool = False) -> str:
    """ClickHouse's text of a float: the shortest digits that read back as the same value
    (Float32's own for a Float32), in plain notation for decimal exponents -6 < e <= 21, else
    `1e21`, `1.5e-7`; `nan`, `inf`, `-inf`, `-0`."""
    if x != x:
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if f32:
        import numpy as np

        digits = str(np.float32(x))
    else:
        digits = repr(float(x))
    sign, ds, exp = decimal.Decimal(digits).as_tuple()  # value = ds * 10**exp
    d = "".join(map(str, ds))
    neg = "-" if sign else ""
    if not d.strip("0"):
        return neg + "0"
    stripped = d.rstrip("0")
    exp += len(d) - len(stripped)
    d = stripped
    n = len(d) + exp  # value = 0.d * 10**n
    if -6 < n <= 21:
        if n <= 0:
            out = "0." + "0" * -n + d
        elif n >= len(d):
            out = d + "0" * (n - len(d))
        else:
            out = d[:n] + "." + d[n:]
    else:
        out = d[0] + ("." + d[1:] if len(d) > 1 else "") + f"e{n - 1}"
    return neg + out


def decimal_text(d: decimal.Decimal) -> str:
    """ClickHouse's text of a Decimal: trailing zeros dropped (`1.5`, not `1.500`), never an
    exponent."""
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def ipv6_text(a: ipaddress.IPv6Address) -> str:
    """ClickHouse's text of an IPv6: IPv4-mapped (`::ffff:1.2.3.4`) and IPv4-compatible
    addresses past ::ffff (`::1.2.3.4`) end in dotted form; otherwise the compressed form."""
    b = a.packed
    if b[:10] == bytes(10) and b[10:12] == b"\xff\xff":
        return "::ffff:" + str(ipaddress.IPv4Address(b[12:]))
    if b[:12] == bytes(12) and (b[12] or b[13]):
        return "::" + str(ipaddress.IPv4Address(b[12:]))
    return a.compressed


def _fraction(us: int, precision: int) -> str:
    if precision <= 0:
        return ""
    return "." + f"{us:06d}"[:precision]  # Python holds microseconds: at most 6 digits


def _precision(t: CHType, default: int) -> int:
    try:
        return int(str(t.args[0])) if t.args else default
    except ValueError:
        return default


def time_text(v: _dt.timedelta, precision: int = 0) -> str:
    """ClickHouse's Time / Time64 text: `[-]HHH:MM:SS[.fff]`, hours past 24."""
    us = (v.days * 86400 + v.seconds) * 1_000_000 + v.microseconds
    sign = "-" if us < 0 else ""
    us = abs(us)
    secs, frac = divmod(us, 1_000_000)
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    return f"{sign}{h:02d}:{m:02d}:{s:02d}{_fraction(frac, precision)}"


def _datetime_text(v: _dt.datetime, precision: int) -> str:
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}" \
        + _fraction(v.microsecond, precision)


def _fixed(v) -> str:
    """FixedString bytes as text; bytes that are not UTF-8 survive as surrogates (lossless)."""
    return v.decode("utf-8", "surrogateescape") if isinstance(v, (bytes, bytearray)) else str(v)


# -- values of a type --------------------------------------------------------------------------------
def text(value, type_name: str | CHType = "") -> str | None:
    """ClickHouse's text of `value` in a column of `type_name` (what `toString` gives); None
    for NULL. Unknown types: `str(value)`."""
    if value is None:
        return None
    t = type_name if isinstance(type_name, CHType) else parse_type(type_name)
    return _text(value, t)


def _text(v, t: CHType) -> str:
    n = t.name
    if n in ("Dynamic", "Variant", "Object") or (n == "" and not t.raw):
        return _text(v, _guess(v))
    if n == "JSON":
        return _json_object(v) if isinstance(v, dict) else str(v)
    if v is None:
        return "NULL"
    if n in ("Array", "Tuple", "Map"):
        return _composite(v, t)
    if isinstance(v, bool):
        return "true" if v else "false"
    if n in ("Float32", "BFloat16"):
        return float_text(v, f32=True)
    if n == "Float64" or isinstance(v, float):
        return float_text(v)
    if isinstance(v, decimal.Decimal):
        return decimal_text(v)
    if n == "FixedString" or isinstance(v, (bytes, bytearray)):
        return _fixed(v)
    if isinstance(v, _dt.datetime):
        if n == "DateTime64":
            return _datetime_text(v, _precision(t, 3))
        return _datetime_text(v, 0)
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, _dt.timedelta):
        return time_text(v, _precision(t, 0) if n == "Time64" else 0)
    if isinstance(v, ipaddress.IPv6Address):
        return ipv6_text(v)
    return str(v)


def _guess(v) -> CHType:
    """The type a Dynamic/Variant value most likely had, from its Python type."""
    if isinstance(v, bool):
        return CHType("Bool")
    if isinstance(v, int):
        return CHType("Int64")
    if isinstance(v, float):
        return CHType("Float64")
    if isinstance(v, str):
        return CHType("String")
    if isinstance(v, (list, tuple)):
        inner = _guess(next((x for x in v if x is not None), "")) if v else CHType("String")
        if isinstance(v, tuple):
            return CHType("Tuple", tuple(_guess(x) if x is not None else CHType("String") for x in v),
                          tuple("" for _ in v))
        return CHType("Array", (inner,))
    if isinstance(v, dict):
        return CHType("JSON")
    if isinstance(v, _dt.datetime):
        return CHType("DateTime64", ("6",)) if v.microsecond else CHType("DateTime")
    if isinstance(v, _dt.date):
        return CHType("Date")
    if isinstance(v, _dt.timedelta):
        return CHType("Time64", ("6",)) if v.microseconds else CHType("Time")
    if isinstance(v, (bytes, bytearray)):
        return CHType("FixedString")
    return CHType("String", raw="String")


_QUOTED_ESC = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0",
               "\\": "\\\\", "'": "\\'"}
_QUOTED_RE = re.compile(r"[\b\f\n\r\t\0\\']")


def quote_string(s: str) -> str:
    """A string inside a composite value, as ClickHouse writes it: `'it\\'s'`."""
    return "'" + _QUOTED_RE.sub(lambda m: _QUOTED_ESC[m.group()], s) + "'"


def _unquoted_kind(t: CHType, v) -> bool:
    """Values written bare inside composites and in CSV: numbers and Bool."""
    if t.name in ("Dynamic", "Variant", "Object", ""):
        return isinstance(v, (int, float, decimal.Decimal))
    return t.name in _NUMERIC or t.name.startswith("Decimal")


def _element(v, t: CHType) -> str:
    """An element of an Array/Tuple/Map: strings and string-like values in quotes, NULL bare."""
    if v is None:
        return "NULL"
    if t.name in ("Dynamic", "Variant", "Object"):
        t = _guess(v)
    if t.name in ("Array", "Tuple", "Map"):
        return _composite(v, t)
    s = _text(v, t)
    return s if _unquoted_kind(t, v) else quote_string(s)


def _composite(v, t: CHType) -> str:
    if t.name == "Array":
        et = t.arg(0) if t.args else CHType("String")
        return "[" + ",".join(_element(x, et) for x in v) + "]"
    if t.name == "Map":
        kt, vt = t.arg(0), t.arg(1)
        items = v.items() if isinstance(v, dict) else v
        return "{" + ",".join(f"{_element(k, kt)}:{_element(x, vt)}" for k, x in items) + "}"
    vals = list(v.values()) if isinstance(v, dict) else list(v)
    types = list(t.args) or [_guess(x) for x in vals]
    return "(" + ",".join(_element(x, et) for x, et in zip(vals, types)) + ")"


# -- JSON ------------------------------------------------------------------------------------------
_JSON_ESC = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
             "\t": "\\t", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JSON_RE = re.compile('["\\\\/\\x00-\\x1f\u2028\u2029]')


def json_string(s: str) -> str:
    """A JSON string as ClickHouse writes it: `/` as `\\/`, control characters as `\\u00XX`
    (upper-case hex), everything else as is (UTF-8)."""
    return '"' + _JSON_RE.sub(lambda m: _JSON_ESC.get(m.group()) or "\\u%04X" % ord(m.group()), s) + '"'


def _json_object(d) -> str:
    """A value of the JSON type (and dicts inside Dynamic), as ClickHouse's toString writes it."""
    if isinstance(d, dict):
        return "{" + ",".join(f"{json_string(str(k))}:{_json_object(x)}" for k, x in d.items()) + "}"
    if isinstance(d, list):
        return "[" + ",".join(_json_object(x) for x in d) + "]"
    if d is None:
        return "null"
    if isinstance(d, bool):
        return "true" if d else "false"
    if isinstance(d, (int, float, decimal.Decimal)):
        return json_number(d, CHType("Float64"))
    if isinstance(d, str):
        return json_string(d)
    return json_string(_text(d, _guess(d)))


def json_number(v, t: CHType) -> str:
    """Number `v` of ClickHouse type `t` as JSON text the way ClickHouse writes it: booleans as
    true/false, floats in ClickHouse's shortest form (Float32/BFloat16 at single precision; nan
    and ±inf quoted), decimals in full, integers as digits."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        s = float_text(v, f32=t.name in ("Float32", "BFloat16"))
        return f'"{s}"' if s in ("nan", "inf", "-inf") else s
    if isinstance(v, decimal.Decimal):
        return decimal_text(v)
    return str(v)


def json_value(value, type_name: str | CHType = "") -> str:
    """`value` as ClickHouse's JSONEachRow writes it (see the module docstring for the settings)."""
    t = type_name if isinstance(type_name, CHType) else parse_type(type_name)
    return _json(value, t)


def _json(v, t: CHType) -> str:
    if v is None:
        return "null"
    n = t.name
    if n in ("Dynamic", "Variant", "Object"):
        if isinstance(v, dict):
            return _json_object(v)
        t = _guess(v)
        n = t.name
    if n == "JSON":
        return _json_object(v) if isinstance(v, dict) else json_string(str(v))
    if n == "Array":
        et = t.arg(0) if t.args else CHType("String")
        return "[" + ",".join(_json(x, et) for x in v) + "]"
    if n == "Map":
        kt, vt = t.arg(0), t.arg(1)
        items = v.items() if isinstance(v, dict) else v
        return "{" + ",".join(f"{json_string(_text(k, kt))}:{_json(x, vt)}" for k, x in items) + "}"
    if n == "Tuple":
        vals = list(v.values()) if isinstance(v, dict) else list(v)
        types = list(t.args) or [_guess(x) for x in vals]
        if t.fields and all(t.fields):
            return "{" + ",".join(f"{json_string(f)}:{_json(x, et)}"
                                  for f, x, et in zip(t.fields, vals, types)) + "}"
        return "[" + ",".join(_json(x, et) for x, et in zip(vals, types)) + "]"
    if _unquoted_kind(t, v) and isinstance(v, (int, float, decimal.Decimal)):
        return json_number(v, t)
    return json_string(_text(v, t))


# -- CSV -------------------------------------------------------------------------------------------
def csv_names(name: str, type_name: str) -> list[str]:
    """Header names of a column in ClickHouse's CSV: a Tuple column is one field per element
    (`t.1`, `t.2`, or `t.a` for named elements)."""
    t = parse_type(type_name)
    if t.name != "Tuple" or t.nullable:
        return [name]
    out = []
    for i, (f, et) in enumerate(zip(t.fields or [""] * len(t.args), t.args), 1):
        out.extend(csv_names(f"{name}.{f or i}", et.raw or et.name))
    return out


def csv_fields(value, type_name: str | CHType = "") -> list[str]:
    """The CSV fields of one value, as ClickHouse's CSV output writes them: NULL `\\N`,
    numbers and Bool bare, everything else in double quotes (`"` doubled), a Tuple one field
    per element. FixedString bytes that are not UTF-8 are surrogates: encode the line with
    `errors="surrogateescape"` to write the bytes back."""
    t = type_name if isinstance(type_name, CHType) else parse_type(type_name)
    if t.name == "Tuple" and not t.nullable:
        vals = list(value.values()) if isinstance(value, dict) else list(value)
        out = []
        for x, et in zip(vals, t.args):
            out.extend(csv_fields(x, et))
        return out
    if value is None:
        return ["\\N"]
    s = _text(value, t)
    if _unquoted_kind(t, value) and not isinstance(value, str):
        return [s]
    return ['"' + s.replace('"', '""') + '"']


# -- TabSeparated ------------------------------------------------------------------------------------
_TSV_UNESC = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "0": "\0", "a": "\a", "v": "\v",
              "e": "\x1b", "\\": "\\", "'": "'", '"': '"', "N": "N"}
_TSV_RE = re.compile(r"\\(.)", re.S)


_COMPOSITE = ("Array", "Tuple", "Map")


def tsv_field(raw: bytes, type_name: str = "") -> str | None:
    """One field of ClickHouse's TabSeparated output as text (None for `\\N`). Strings and
    other scalars are escaped there (`\\t`, `\\n`, `\\\\`); an Array, Tuple or Map is written
    as its text (its strings are quoted, so it holds no tab or line break). Bytes that are not
    UTF-8 become surrogates, as in `csv_fields`."""
    if raw == b"\\N":
        return None
    s = raw.decode("utf-8", "surrogateescape")
    if "\\" not in s or parse_type(type_name).name in _COMPOSITE:
        return s
    return _TSV_RE.sub(lambda m: _TSV_UNESC.get(m.group(1), m.group(0)), s)


def parse_tsv(data: bytes):
    """Split ClickHouse's `TSVWithNamesAndTypes` output into (names, types, rows of text or
    None for NULL)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if len(lines) < 2:
        return [], [], []
    names = [tsv_field(x) or "" for x in lines[0].split(b"\t")]
    types = [tsv_field(x) or "" for x in lines[1].split(b"\t")]
    rows = [[tsv_field(x, t) for x, t in zip(line.split(b"\t"), types)] for line in lines[2:]]
    return names, types, rows


# -- on screen -------------------------------------------------------------------------------------
_CONTROL = re.compile("[\x00-\x1f\x7f\x80-\x9f\udc80-\udcff]")
_NUMERIC_RIGHT = _NUMERIC | {"Decimal"}


def _picture(m: re.Match) -> str:
    c = m.group()
    o = ord(c)
    if o < 0x20:
        return chr(0x2400 + o)
    if o == 0x7F:
        return "\u2421"
    if o >= 0xDC80:  # a byte that was not UTF-8
        return f"\\x{o - 0xDC00:02x}"
    return f"\\x{o:02x}"


def _fixed_display(s: str) -> str:
    out = []
    for ch in s:
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")
        elif o < 0x20 or 0x7F <= o <= 0x9F:
            out.append(f"\\x{o:02x}")
        else:
            out.append(ch)
    return "".join(out)


def display_plain(cell: str | None, type_name: str = "", max_len: int = MAX_CELL) -> str:
    """The characters a cell shows: NULL as `ᴺᵁᴸᴸ`; a FixedString's non-printable bytes as
    `\\xNN`; other control characters as Unicode control pictures (tab ␉, line feed ␊), bytes
    that are not UTF-8 as `\\xNN`; cut to `max_len` characters with `…`."""
    if cell is None:
        return NULL_MARK
    t = parse_type(type_name)
    s = _fixed_display(cell) if t.name == "FixedString" else _CONTROL.sub(_picture, cell)
    if max_len and len(s) > max_len:
        s = s[:max_len - 1] + "…"
    return s


def right_aligned(type_name: str) -> bool:
    """Numbers are right-aligned on screen."""
    return parse_type(type_name).name in _NUMERIC_RIGHT or parse_type(type_name).name.startswith("Decimal")


def display(cell: str | None, type_name: str = "", max_len: int = MAX_CELL):
    """A cell for Rich/Textual: a `rich.text.Text` (so nothing in it is read as markup; a value
    holding `[/]` shows as written), NULL dim, numbers right-aligned."""
    from rich.text import Text

    plain = display_plain(cell, type_name, max_len)
    if cell is None:
        return Text(plain, style="dim italic")
    return Text(plain, justify="right" if right_aligned(type_name) else "left")


def value_display(value, type_name: str = "", *, full_vectors: bool = False, max_len: int = MAX_CELL):
    """`display(text(value, type))`, with vector columns shown as `[512 x Float32]`."""
    if value is not None and not full_vectors and is_vector_type(type_name) and isinstance(value, (list, tuple)):
        from rich.text import Text

        return Text(vector_label(len(value), type_name))
    return display(text(value, type_name), type_name, max_len)
