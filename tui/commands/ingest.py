"""`embedsql ingest ...`: fill a vector table.

    embedsql ingest unsplash photos.tsv --limit 1000 [--keywords keywords.tsv]
    embedsql ingest images ~/Pictures 'shots/**/*.jpg' [--descriptions SOURCES.md]
    embedsql ingest csv list.csv --url-column url [--id-column id]
    embedsql ingest vectors clip-retrieval-out/ | emb.npy --metadata meta.parquet | data.parquet --vector-column v

Reruns skip inputs already in the table; failed inputs are listed in a report file (input, reason).
Exit status: 0 when something was ingested or everything was already there; 1 when there was
something to ingest and nothing was, or the database failed; 130 on Ctrl-C (rerun to continue).
"""
from __future__ import annotations

import argparse


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {v}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {v}")
    return v


UNSPLASH_THUMB = "q=75&fm=jpg&w=200&fit=max"  # the tutorial's; ingest.UNSPLASH_THUMB (not imported: start-up)


def add_parser(sub, common):
    """Add `embedsql ingest` and its sources (Unsplash TSV, images, CSV, vectors), each with the
    target options (--table, --column-map, ...), to the subparsers `sub`."""
    p = sub.add_parser("ingest", parents=[common], help="fill a vector table (Unsplash TSV, images, CSV, vectors)",
                       description=__doc__.split("\n\n")[0])
    kinds = p.add_subparsers(dest="ingest_kind", metavar="SOURCE", parser_class=type(p))

    target = argparse.ArgumentParser(add_help=False)
    g = target.add_argument_group("target")
    g.add_argument("--table", default=None, help="table to fill (default: photos)")
    g.add_argument("--column-map", action="append", default=[], metavar="SRC=COLUMN",
                   help="put source field SRC into COLUMN (SRC= drops it); repeatable. Fields: id, photo_id, "
                        "photo_image_url, photo_embed, photo_description, ... (the photos table's names)")
    g.add_argument("--report", default=None, metavar="PATH",
                   help="failure report (TSV: input, reason); default ingest-reports/ingest-failures-<time>-<pid>.tsv "
                        "in the data directory (EMBEDSQL_DATA_DIR), written only when something fails; "
                        "its path is printed")
    g.add_argument("--log-interval", type=float, default=5.0, metavar="S",
                   help="seconds between progress lines when not on a terminal (default 5)")

    images = argparse.ArgumentParser(add_help=False)
    g = images.add_argument_group("pipeline")
    g.add_argument("--workers", type=_positive_int, default=16, help="concurrent downloads/decodes (default 16)")
    g.add_argument("--batch-size", type=_positive_int, default=32, help="images per model batch and insert (default 32)")
    g.add_argument("--timeout", type=_positive_float, default=10.0, help="seconds per image download (default 10)")

    parents = [common, target, images]
    u = kinds.add_parser("unsplash", parents=parents, help="photos.tsv from the Unsplash Lite zip")
    u.add_argument("photos_tsv", metavar="PHOTOS_TSV")
    u.add_argument("--limit", type=_positive_int, default=None, help="only the first N photos")
    u.add_argument("--keywords", default=None, metavar="KEYWORDS_TSV", help="keywords.tsv from the same zip")
    u.add_argument("--thumb-params", default=UNSPLASH_THUMB,
                   help=f"query string added to each image URL to fetch a thumbnail (default {UNSPLASH_THUMB!r}; "
                        "'' for the full image)")

    i = kinds.add_parser("images", parents=parents, help="local image files: folders (recursive), globs, files")
    i.add_argument("paths", nargs="+", metavar="DIR|GLOB|FILE")
    i.add_argument("--descriptions", default=None, metavar="FILE",
                   help="photo descriptions: a Markdown table (| file | description |) or TSV/CSV (file, description)")

    c = kinds.add_parser("csv", parents=parents, help="a CSV/TSV with an image URL or path per row")
    c.add_argument("file", metavar="FILE")
    c.add_argument("--url-column", required=True, help="the column holding the image URL or path")
    c.add_argument("--id-column", default=None, help="the column identifying a row (default: the URL)")
    c.add_argument("--delimiter", default=None, help="field separator (default: tab for .tsv, else comma)")
    c.add_argument("--limit", type=_positive_int, default=None, help="only the first N rows")

    v = kinds.add_parser("vectors", parents=[common, target], help="precomputed embeddings (.npy + parquet, or parquet)")
    v.add_argument("source", metavar="DIR|NPY|PARQUET",
                   help="clip-retrieval output folder (embeddings/img_emb/*.npy + metadata/*.parquet), an .npy "
                        "file, or parquet file(s) with a vector column")
    v.add_argument("--metadata", default=None, help="parquet file with one row per .npy row")
    v.add_argument("--vector-column", default=None, help="the parquet column holding the vectors")
    v.add_argument("--id-column", default=None,
                   help="the column identifying a row (default: photo_id, image_path, url or key; else file#row)")
    v.add_argument("--limit", type=_positive_int, default=None, help="only the first N rows")
    return p


# the first Ctrl-C (the second exits at once: tui.interrupts), by source
_AFTER = ("Rows already written stay: rerun the same command to continue (inputs already in the table "
          "are skipped). Press Ctrl-C again to exit now (a batch being written then may or may not land; "
          "the rerun completes the table either way).")
INGEST_STOP_NOTICE = ("interrupted: stopping after one last batch: the images already downloaded are embedded "
               "and written, with the batches already embedded; downloads under way are dropped (each "
               "ends within --timeout). " + _AFTER)
INGEST_STOP_NOTICE_VECTORS = ("interrupted: stopping: the chunk being inserted is finished, and no further chunk "
                              "is read or written. " + _AFTER)


def migrate_up_command(args, ctx) -> str:
    """`embedsql migrate up` with this run's connection options (--dsn without its password, -c,
    --dialect, --model, --runtime: `tui.commands.migrate.hint_options`), for the missing-table
    hint: run as written, it creates the table in the database this ingest writes to."""
    import shlex

    from .migrate import hint_options

    return " ".join(["embedsql", "migrate", "up", *map(shlex.quote, hint_options(args, ctx))])


def run(args, ctx) -> int:
    """`embedsql ingest SOURCE`: ingest from the chosen source and print the report. Returns 0, 130
    when interrupted (a rerun resumes), or 1 when there was something to ingest and nothing was
    ingested; raises UsageFailure when no source is chosen or an option is invalid."""
    import threading

    from ..errors import UsageFailure
    from ..interrupts import two_stage_ctrl_c

    import ingest as ing

    kind = getattr(args, "ingest_kind", None)
    if not kind:
        raise UsageFailure("embedsql ingest: name a source: unsplash, images, csv or vectors (see --help)")
    session = ctx.session()
    interval = max(0.0, float(args.log_interval))
    progress = ing.auto_progress(ctx.err.file, interval=interval, console=ctx.err)
    report_path = args.report or ing.default_report_path()
    stop = threading.Event()  # set by the first Ctrl-C: the run winds down at its next batch
    common = dict(table=args.table, column_map=ing.parse_column_map(args.column_map), report_path=report_path,
                  progress=progress, stop=stop, migrate_up=migrate_up_command(args, ctx))
    if kind != "vectors":
        common.update(workers=args.workers, batch_size=args.batch_size, timeout=args.timeout)
    notice = INGEST_STOP_NOTICE_VECTORS if kind == "vectors" else INGEST_STOP_NOTICE
    with two_stage_ctrl_c(notice, stop=stop):
        if kind == "unsplash":
            r = ing.ingest_unsplash(session, args.photos_tsv, limit=args.limit, keywords=args.keywords,
                                    thumb_params=args.thumb_params, **common)
        elif kind == "images":
            r = ing.ingest_images(session, args.paths, descriptions=args.descriptions, **common)
        elif kind == "csv":
            r = ing.ingest_csv(session, args.file, url_column=args.url_column, id_column=args.id_column,
                               delimiter=args.delimiter, limit=args.limit, **common)
        else:
            r = ing.ingest_vectors(session, args.source, metadata=args.metadata, vector_column=args.vector_column,
                                   id_column=args.id_column, limit=args.limit, table=args.table,
                                   column_map=args.column_map, report_path=report_path, progress=progress,
                                   stop=stop, migrate_up=common["migrate_up"])
    line = r.summary()
    if r.failed and r.report_path is None:
        line += "; first failure: " + " - ".join(r.failures[0])
    ctx.err.print(line, markup=False, highlight=False, soft_wrap=True)  # a path in it stays whole
    if kind != "vectors" and r.ingested and session.embedder.model_loaded and not r.interrupted:
        from .model import prepare_fast_path

        prepare_fast_path(ctx, session)
    if r.interrupted:
        ctx.err.print("interrupted: rerun the same command to continue (inputs already in the table are skipped)",
                      markup=False, highlight=False, soft_wrap=True)
        return 130
    if not r.ok:
        ctx.err.print(f"error: nothing was ingested ({r.failed} input(s) failed)", markup=False, highlight=False)
        return 1
    return 0


__all__ = ["add_parser", "run"]
