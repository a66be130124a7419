"""Ingestion: fill a vector table from Unsplash Lite, a folder of images, a CSV of image URLs or
paths, or precomputed vectors. Resumable by key (stable ids), bad inputs reported and skipped.

    import sqlext
    from ingest import ingest_images, ingest_unsplash, ingest_vectors

    s = sqlext.connect()
    r = ingest_images(s, ["~/Pictures"], report_path="failures.tsv")
    r.ingested, r.skipped_existing, r.failed, r.failures, r.seconds

Each function takes the target (`table=`, default `photos`; `column_map=` logical -> column) and
pipeline options as keywords (see `IngestOptions`)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

from .ids import stable_id, stable_ids
from .pipeline import IngestOptions, _check_model, run_items
from .progress import LineProgress, NoProgress, RichProgress, auto_progress
from .report import IngestReport, default_report_path
from .sources import (UNSPLASH_THUMB, Item, csv_items, find_images, image_items, read_descriptions,
                      unsplash_items)
from .target import DEFAULT_TABLE, Target, convert_value, parse_column_map
from .vectors import ingest_vectors

__all__ = [
    "IngestReport", "IngestOptions", "Item", "Target", "ingest_unsplash", "ingest_images", "ingest_csv",
    "ingest_vectors", "ingest_demo", "ingest_items", "demo_photos_dir", "stable_id", "stable_ids",
    "parse_column_map", "convert_value", "read_descriptions", "find_images", "default_report_path", "auto_progress",
    "LineProgress", "RichProgress", "NoProgress", "UNSPLASH_THUMB", "DEFAULT_TABLE",
]


def _opts(kw: dict) -> IngestOptions:
    if "options" in kw:
        return kw.pop("options")
    fields = IngestOptions.__dataclass_fields__
    bad = [k for k in kw if k not in fields]
    if bad:
        raise TypeError(f"unexpected option(s): {', '.join(bad)}")
    return IngestOptions(**kw)


def ingest_items(session, items: Iterable[Item], *, description: str = "ingest", read_meta: bool = False,
                 source: str | None = None, **options) -> IngestReport:
    """Ingest `items` (`ingest.sources.Item`: id, key, image reference, metadata) into the target
    table through `session`: each image fetched or read, embedded, and inserted with its metadata;
    items whose id is already in the table are skipped. `options` are `IngestOptions` fields
    (table, column_map, workers, batch_size, timeout in seconds, max_bytes, report_path, progress,
    check_model, release_engine); `description` labels the progress display; `read_meta` adds each
    image's dimensions, file size and EXIF date (`ingest.sources.image_meta`); `source` fills each
    row's `source` column unless the item sets it. Returns the IngestReport (also after Ctrl-C,
    with `interrupted` set). Raises TypeError for an unknown option, UsageError for a missing table
    or column or a model mismatch, and the session's errors for database failures; an image that
    cannot be fetched or decoded is a failure in the report, not an exception."""
    return run_items(session, items, _opts(options), description=description, read_meta=read_meta, source=source)


def ingest_unsplash(session, photos_tsv, *, limit: int | None = None, keywords=None,
                    thumb_params: str = UNSPLASH_THUMB, **options) -> IngestReport:
    """Unsplash Lite photos.tsv: the first `limit` photos, fetched as thumbnails (`thumb_params`)."""
    items = unsplash_items(photos_tsv, limit=limit, thumb_params=thumb_params, keywords=keywords)
    return run_items(session, items, _opts(options), description="ingest unsplash", source="unsplash")


def ingest_images(session, paths: Iterable[str | Path] | str | Path, *, descriptions=None,
                  ignore: Iterable[str | Path] = (), **options) -> IngestReport:
    """Local image files: folders (recursive), globs or files. `descriptions`: a dict file -> text,
    or a file (Markdown table or TSV/CSV: file, description) filling photo_description; a
    descriptions file inside a scanned folder is not reported as a skipped non-image, nor are
    the files in `ignore`. Other files in a folder that are not images are reported as skipped."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    ignore = list(ignore)
    if descriptions is not None and not isinstance(descriptions, dict):
        ignore.append(descriptions)
        descriptions = read_descriptions(descriptions)
    items = _image_items(paths, descriptions, ignore)
    return run_items(session, items, _opts(options), description="ingest images", read_meta=True,
                     source="images")


def _image_items(paths, descriptions, ignore) -> list[Item]:
    """`image_items` as a list; UsageError when none of them is an image."""
    items = list(image_items(paths, descriptions=descriptions, ignore=ignore))
    if not any(not it.meta.get("_skip") for it in items):
        from sqlext.errors import UsageError

        others = [it for it in items if it.meta.get("_skip")]
        seen = f" ({len(others)} other file{'s' * (len(others) != 1)}: {others[0].meta['_skip']})" if others else ""
        raise UsageError(f"no image files found in {', '.join(str(p) for p in paths)}{seen}",
                         hint="give a folder, a glob such as 'photos/**/*.jpg', or image files")
    return items


def ingest_csv(session, path, *, url_column: str, id_column: str | None = None, delimiter: str | None = None,
               limit: int | None = None, **options) -> IngestReport:
    """A CSV/TSV with one image URL or path per row; other columns kept where the table has them."""
    items = csv_items(path, url_column=url_column, id_column=id_column, delimiter=delimiter, limit=limit)
    return run_items(session, items, _opts(options), description="ingest csv", read_meta=True, source="csv")


def ingest_demo(session, photos_dir: str | Path | None = None, **options) -> IngestReport:
    """The sample photos with the descriptions from their SOURCES.md (for `embedsql demo`).

    The default database is per user, not per install, so the photos may already be in the table
    from another clone or virtual environment, whose folder (and so whose path-based row ids,
    `image_items`) differ. A sample photo already there under its name, from a folder ending in
    `demo/photos`, is that row: it is counted as present and its image URL pointed at this
    folder (the other install may be gone); further copies of it, left by earlier versions that
    inserted it once per install, are deleted (`_adopt_demo_rows`)."""
    d = Path(photos_dir) if photos_dir else demo_photos_dir()
    sources = d / "SOURCES.md"
    desc = read_descriptions(sources) if sources.is_file() else {}
    desc = {k: _LICENCE.sub("", v).strip() for k, v in desc.items()}
    opts = _opts(options)
    items = _image_items([d], desc, [sources])
    _adopt_demo_rows(session, items, opts)
    return run_items(session, items, opts, description="ingest demo photos", read_meta=True, source="images")


def _adopt_demo_rows(session, items: list[Item], opts: IngestOptions) -> None:
    """Give each sample photo in `items` the id of the row the table already has for it (same
    photo_id, image URL ending in `/demo/photos/<photo_id>`), preferring the row of this very
    path; point that row's URL at this path when it names another, and delete the other rows
    for the photo. ModelMismatch (before any change) when the table is another model's, as
    `run_items` would say. Nothing when the table is missing (run_items says so) or is not a MergeTree
    table with String photo_id and photo_image_url columns (no UPDATE through a Distributed
    table)."""
    from sqlext.errors import UsageError

    from .target import _ident, _unwrap

    try:
        t = Target.open(session, opts.table, opts.column_map, release_engine=False)
    except UsageError:
        return
    if opts.check_model:  # a table made for another model is refused before anything changes
        _check_model(session.embedder, t)
    key, url = t.col("photo_id"), t.col("photo_image_url")
    info = session.catalog.table_info(t.table)
    if (not key or not url or not info.engine.endswith("MergeTree")
            or {_unwrap(t.columns[key])[0], _unwrap(t.columns[url])[0]} != {"String"}):
        return
    mine = {it.meta["photo_id"]: it for it in items if not it.meta.get("_skip")}
    idc, k, u = _ident(t.id_col), _ident(key), _ident(url)
    rows = session.query(
        f"SELECT {idc}, {k}, {u} FROM {t.sql_table} WHERE {k} IN {{names:Array(String)}} "
        f"AND endsWith({u}, concat('/demo/photos/', {k})) ORDER BY {idc}",
        params={"names": list(mine)}, verbatim=True).rows
    found: dict[str, list[tuple[int, str]]] = {}
    for rid, name, path in rows:
        found.setdefault(name, []).append((int(rid), path))
    repoint: list[tuple[int, str]] = []
    extra: list[int] = []
    for name, have in found.items():
        it = mine[name]
        keep = next((r for r in have if r[0] == it.id), have[0])
        it.id = keep[0]
        if keep[1] != it.ref:
            repoint.append((keep[0], it.ref))
        extra += [rid for rid, _ in have if rid != keep[0]]
    settings = {"mutations_sync": 2}
    if repoint:  # one mutation for them all
        ids, paths = [r for r, _ in repoint], [p for _, p in repoint]
        session.command(f"ALTER TABLE {t.sql_table} UPDATE {u} = transform({idc}, {{ids:Array(UInt64)}}, "
                        f"{{paths:Array(String)}}, {u}) WHERE {idc} IN {{ids:Array(UInt64)}}",
                        params={"ids": ids, "paths": paths}, settings=settings, verbatim=True)
    if extra:
        session.command(f"ALTER TABLE {t.sql_table} DELETE WHERE {idc} IN {{ids:Array(UInt64)}}",
                        params={"ids": extra}, settings=settings, verbatim=True)


_LICENCE = re.compile(r"\s*(?:Public domain|CC0|CC[ -]BY|No known copyright)\b.*$", re.I)


def demo_photos_dir() -> Path:
    """The 13 sample photos (CC0 / public domain) shipped as package data of `ingest`, with their
    sources and descriptions in `SOURCES.md` beside them."""
    return Path(__file__).resolve().parent / "demo" / "photos"
