"""A table with a column of every ClickHouse type embedsql shows and exports, for the output tests
(tests/tui/test_formats.py): NULLs, extremes, NaN/inf, non-printable FixedString bytes, and
hostile strings (tabs, line breaks, quotes, backslashes, Rich markup, RTL, emoji) in every
string-holding column. `create(session)` builds it on chdb."""
from __future__ import annotations

TABLE = "alltypes"
DDL = r"""
CREATE TABLE alltypes (
    id UInt32,
    s String,
    ns Nullable(String),
    fs FixedString(4),
    i8 Int8,
    u64 UInt64,
    i128 Int128,
    u256 UInt256,
    i256 Int256,
    f32 Float32,
    f64 Float64,
    nf64 Nullable(Float64),
    d Decimal(9, 3),
    d38 Decimal(38, 10),
    d76 Decimal(76, 30),
    b Bool,
    day Date,
    day32 Date32,
    dt DateTime('UTC'),
    dtl DateTime,
    dt3 DateTime64(3, 'Asia/Tokyo'),
    dt9 DateTime64(9, 'UTC'),
    tm Time,
    tm6 Time64(6),
    uid UUID,
    ip4 IPv4,
    ip6 IPv6,
    e8 Enum8('a' = 1, 'b c' = 2, 'it''s' = -3),
    e16 Enum16('x' = 1000, 'y' = -1000),
    lc LowCardinality(String),
    lcn LowCardinality(Nullable(String)),
    arr Array(Nullable(Int32)),
    arrs Array(String),
    tup Tuple(Int32, String),
    ntup Tuple(a Int32, b Nullable(String)),
    mp Map(String, UInt64),
    n Nested(x UInt8, y String),
    js JSON,
    dyn Dynamic,
    var Variant(String, UInt64, Array(UInt8)),
    vec Array(Float32)
) ENGINE = MergeTree ORDER BY id
"""

def lit(v):
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"

HOSTILE = ["", "NULL", "tab\there", "new\nline", "cr\r\nlf", "it's \"quoted\"", "back\\slash \\n", "x[/]y",
           "[bold]red[/bold]", "[explored] sunset", "tags: [bold]", "a[b]c", "مرحبا بالعالم", "emoji 🙂👍🏽",
           "nul\0byte", "x" * 300, "\\N", "comma,semi;", "bell\x07esc\x1b[31m"]

ROWS = [
 # every column set: typical values
 """(1, 'hello', 'NULL', 'FR', -128, 18446744073709551615, -170141183460469231731687303715884105728,
   115792089237316195423570985008687907853269984665640564039457584007913129639935,
   -57896044618658097711785492504343953926634992332820282019728792003956564819968,
   0.1, 1e300, NULL, 1.5, -12345.0000000001, 0.000000000000000000000000000001,
   true, '2024-01-02', '1900-01-01', '2024-01-02 03:04:05', '2024-01-02 03:04:05',
   '2024-01-02 03:04:05.120', '2024-01-02 03:04:05.123456789', '12:34:56', '-01:02:03.000004',
   '01234567-89ab-cdef-0123-456789abcdef', '10.0.0.1', '::ffff:1.2.3.4', 'b c', 'y', 'low', NULL,
   [1, NULL, -3], ['a', 'it\\'s', 'b\\\\s', 'x[/]y', 'NULL'], (1, 'x'), (2, NULL), {'k': 1, 'q\\'t': 2},
   [1, 2], ['p', 'q'], '{"a": 1, "b": {"c": [1, 2]}, "s": "x[/]y"}', 1::Dynamic,
   'x'::Variant(String, UInt64, Array(UInt8)), arrayMap(i -> toFloat32(i / 10), range(20)))""",
 # extremes, NULLs, NaN/inf, non-printable FixedString
 """(2, 'tab\\there', NULL, unhex('FF00AB61'), 127, 0, 170141183460469231731687303715884105727, 0, 0,
   nan, -0., inf, -999999.999, 99999999.9999999999, -1.5,
   false, '2149-06-06', '2299-12-31', '1970-01-01 00:00:00', '2106-02-07 06:28:15',
   '1900-01-01 00:00:00.000', '2262-04-11 23:47:16.854775807', '-999:59:59', '00:00:00.5',
   '00000000-0000-0000-0000-000000000000', '255.255.255.255', '2001:db8::1', 'it''s', 'x', '', 'NULL',
   [], [], (-1, ''), (-2, 'NULL'), {}, [], [], '{}', 'str'::Dynamic, 42::Variant(String, UInt64, Array(UInt8)),
   [toFloat32(-inf), toFloat32(nan), 1e-7, 3.4e38, 16777217, 0.333333333, -0., 1, 2, 3, 4, 5, 6, 7, 8, 9])""",
 # more
 """(3, '', '', 'abcd', 0, 1, 0, 1, -1, -inf, 1e-7, -0.000001, 0, 0, 0, true, '1970-01-01', '1900-01-01',
   '2024-06-30 23:59:59', '2024-06-30 23:59:59', '2024-06-30 23:59:59.999', '1900-01-01 00:00:00.000000001',
   '00:00:00', '838:59:59.999999', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '0.0.0.0', '::', 'a', 'x', 'x[/]y', '',
   [NULL], ['', '\\t\\n'], (0, '\\\\'), (0, ''), {'': 0}, [255], ['y'], '{"k": [1.5, null, "t"], "n": null}',
   [1, 2]::Array(UInt8)::Dynamic, [1, 2]::Array(UInt8)::Variant(String, UInt64, Array(UInt8)), [])""",
 # NULL variants, dynamic NULL, float dynamic
 """(4, 'x', 'x', 'ab', 1, 2, 3, 4, 5, 123456789.123, 0.30000000000000004, 1e21, 0.001, 1, 1, false,
   '2000-02-29', '2000-02-29', '2000-02-29 12:00:00', '2000-02-29 12:00:00', '2000-02-29 12:00:00.000', '2000-02-29 12:00:00.000000000',
   '00:00:01', '00:00:01', '01234567-89ab-cdef-0123-456789abcdef', '1.2.3.4', 'fe80::1', 'a', 'x', 'a', 'b',
   [NULL, NULL], ['NULL'], (1, 'NULL'), (1, 'a\\nb'), {'a': 0}, [1], ['z'], '{"u": 18446744073709551615}', NULL,
   NULL, arrayMap(i -> toFloat32(i), range(16)))""",
 """(5, 'y', NULL, 'zz', 2, 3, 4, 5, 6, 1e30, 5e-324, NULL, 1, 2, 3, true,
   '2000-01-01', '2000-01-01', '2000-01-01 00:00:00', '2000-01-01 00:00:00', '2000-01-01 00:00:00.000', '2000-01-01 00:00:00.000000000',
   '00:00:00', '00:00:00', '01234567-89ab-cdef-0123-456789abcdef', '1.2.3.4', '::1', 'a', 'x', 'a', 'b',
   [], [], (1, 'a'), (1, 'a'), {}, [], [], '{}', 1.5::Dynamic, NULL, [])""",
]

def hostile_rows(start=10):
    return [f"({start + i}, {lit(h)}, {lit(h)}, '', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false, '1970-01-01', '1970-01-01', "
            f"'1970-01-01 00:00:00', '1970-01-01 00:00:00', '1970-01-01 00:00:00', '1970-01-01 00:00:00', 0, 0, "
            f"'00000000-0000-0000-0000-000000000000', '0.0.0.0', '::', 'a', 'x', {lit(h)}, {lit(h)}, [], [{lit(h)}], "
            f"(0, {lit(h)}), (0, {lit(h)}), map({lit(h)}, 1), [7], [{lit(h)}], '{{}}', {lit(h)}::Dynamic, "
            f"{lit(h)}::Variant(String, UInt64, Array(UInt8)), [])" for i, h in enumerate(HOSTILE)]

def insert_sql():
    return "INSERT INTO alltypes VALUES " + ",\n".join(ROWS + hostile_rows())


def create(session) -> None:
    """Create and fill `alltypes` through `session` (sqlext.Session)."""
    session.command(DDL, verbatim=True)
    session.command(insert_sql(), verbatim=True)
