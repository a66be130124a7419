"""Completions for Harlequin's editor: EMBED first, the vector-search functions and settings of
the dialect, then every function the server lists in `system.functions`."""
from __future__ import annotations

from harlequin.autocomplete.completion import HarlequinCompletion

# (label, type label, value, priority): Harlequin ranks lower priorities first (keywords 100,
# catalog items 500, functions 1000)
_EMBED = [
    ("EMBED", "fn", "EMBED", 90),
]
_CLICKHOUSE = [
    ("cosineDistance", "fn", "cosineDistance", 900), ("L2Distance", "fn", "L2Distance", 900),
    ("L2SquaredDistance", "fn", "L2SquaredDistance", 900), ("dotProduct", "fn", "dotProduct", 900),
    ("hnsw_candidate_list_size_for_search", "set", "hnsw_candidate_list_size_for_search", 900),
    ("vector_search_filter_strategy", "set", "vector_search_filter_strategy", 900),
    ("vector_search_index_fetch_multiplier", "set", "vector_search_index_fetch_multiplier", 900),
]
_MYSCALE = [
    ("distance", "fn", "distance", 900), ("batch_distance", "fn", "batch_distance", 900),
    ("TextSearch", "fn", "TextSearch", 900), ("HybridSearch", "fn", "HybridSearch", 900),
]


def completions(session) -> list[HarlequinCompletion]:
    """The completions for `session`'s server. The server's own function list is best effort: a
    server that refuses the query still gets EMBED and the vector functions."""
    from embed.errors import UserFacingError

    try:
        dialect = session.dialect
    except UserFacingError:
        dialect = "clickhouse"
    items = _EMBED + (_MYSCALE if dialect == "myscale" else _CLICKHOUSE)
    seen = {label.lower() for label, *_ in items}
    try:
        rows = session.query("SELECT name, is_aggregate FROM system.functions WHERE NOT startsWith(name, '_') "
                             "ORDER BY name", verbatim=True).rows
    except UserFacingError:
        rows = []
    for name, is_aggregate in rows:
        if name.lower() not in seen:
            seen.add(name.lower())
            items.append((name, "agg" if is_aggregate else "fn", name, 1000))
    return [HarlequinCompletion(label=label, type_label=tl, value=value, priority=priority, context=None)
            for label, tl, value, priority in items]
