"""`embedsql demo`: the README's main job on the embedded default.

Apply the built-in migrations (photo table + cosine vector index), ingest the sample photos that
ship in ingest/demo/photos (or the first --limit photos of an Unsplash Lite photos.tsv when given),
run a hybrid query, then open the terminal UI with that query in the editor and its result in
the grid.
"""
from __future__ import annotations

import sys

DEMO_QUERY = """-- Hybrid search: metadata filter + CLIP distance. F5 runs it; edit the text and run again.
SELECT photo_id, distance(photo_embed, EMBED('a cat with green eyes')) AS dist,
       photo_description, photo_image_url
FROM photos
WHERE photo_width >= 100
ORDER BY dist ASC
LIMIT 5"""


def add_parser(sub, common):
    """Add `embedsql demo` (--unsplash PHOTOS_TSV, --limit, --no-tui) to the subparsers `sub`;
    `common` is the shared options parser."""
    p = sub.add_parser("demo", parents=[common],
                       help="set up the sample photo search (migrations + ingest) and open the TUI on it")
    p.add_argument("--unsplash", metavar="PHOTOS_TSV",
                   help="ingest this Unsplash Lite photos.tsv instead of the bundled sample photos")
    p.add_argument("--limit", type=int, default=1000, help="with --unsplash: how many photos (default 1000)")
    p.add_argument("--no-tui", action="store_true", help="print the query result and stop")
    return p


def run(args, ctx) -> int:
    """`embedsql demo`: apply the built-in migrations, ingest the bundled sample photos (or --limit
    photos of an Unsplash Lite TSV), run the hybrid demo query, then open the TUI on it (or print
    the result with --no-tui). Returns the exit code; database, model and ingest errors propagate
    to `main`."""
    from migrations.files import load
    from migrations.model import check_table
    from migrations.runner import Runner
    from migrations.stamp import stamp
    from ingest import ingest_demo, ingest_unsplash
    from sqlext.db.model_check import ModelMismatch

    from ..output import render
    from .migrate import _printer, model_identity
    from .model import prepare_fast_path

    s = ctx.session()
    ctx.err.print(f"[bold]database:[/bold] {s.describe()}", highlight=False)
    ref, ident = model_identity(ctx)
    ctx.err.print(f"[bold]model:[/bold] {ident.describe()}", highlight=False)
    # the model first: one that cannot load (offline, no local copy) stops the demo before it
    # creates anything, so the rerun with EMBEDSQL_MODEL finds no table made for another model
    s.embedder.load()
    ctx.err.print("[bold]1/3 migrations[/bold] (built-in photo table and its vector index)")
    try:
        check_table(s, ident, model_ref=ref)
    except ModelMismatch as exc:
        if exc.rows != 0:
            raise
        # an empty table made for another model (an earlier `migrate up` or demo that stopped
        # before ingesting): nothing to lose, so the demo re-stamps it for this model
        ctx.err.print(f"{exc.table} is empty and made for another model: re-stamping it for {ident.describe()}",
                      markup=False, highlight=False)
        stamp(s, ident, table=exc.table, column=exc.column, on_event=_printer(ctx))
    Runner(s, load([], model=ident), on_event=_printer(ctx)).up()
    ctx.err.print("[bold]2/3 ingest[/bold]")
    if args.unsplash:
        report = ingest_unsplash(s, args.unsplash, limit=args.limit)
    else:
        report = ingest_demo(s)
    ctx.err.print(report.summary(), markup=False, highlight=False, soft_wrap=True)
    prepare_fast_path(ctx, s)
    ctx.err.print("[bold]3/3 hybrid query[/bold]")
    sys.stdout.write(DEMO_QUERY + "\n")
    result = s.query(DEMO_QUERY)
    for w in result.stats.warnings:
        ctx.warn(w)
    render(result, "table", console=ctx.out)
    if args.no_tui or not (sys.stdin.isatty() and sys.stdout.isatty()):
        return 0
    from ..app import run_app

    return run_app(ctx, initial_sql=DEMO_QUERY, initial_result=result)  # opens with the rows shown

