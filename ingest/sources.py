"""Readers: turn a source (Unsplash TSV, image folder, CSV) into `Item`s, lazily.

An Item names the image to fetch (`ref`), its stable id and key, the text shown in the failure
report (`label`), and metadata under logical column names (see target.py)."""
from __future__ import annotations

import csv
import errno
import glob
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from embed.modality import IMAGE_EXTENSIONS
from sqlext.errors import UsageError
from .ids import stable_id

# IMAGE_EXTENSIONS (embed's, the names EMBED takes for images): names in description files;
# folder scans take every format Pillow opens
UNSPLASH_THUMB = "q=75&fm=jpg&w=200&fit=max"

# Unsplash Lite photos.tsv columns kept as metadata (they are the built-in table's column names)
UNSPLASH_FIELDS = (
    "photo_url", "photo_submitted_at", "photo_featured", "photo_width", "photo_height", "photo_aspect_ratio",
    "photo_description", "photographer_username", "photographer_first_name", "photographer_last_name",
    "exif_camera_make", "exif_camera_model", "exif_iso", "exif_aperture_value", "exif_focal_length",
    "exif_exposure_time", "photo_location_name", "photo_location_latitude", "photo_location_longitude",
    "photo_location_country", "photo_location_city", "stats_views", "stats_downloads", "ai_description",
    "ai_primary_landmark_name", "ai_primary_landmark_latitude", "ai_primary_landmark_longitude",
    "ai_primary_landmark_confidence", "blur_hash",
)


@dataclass
class Item:
    """One input to ingest: `id` (the row id, `stable_id(key)`), `key` (what identifies the input
    across runs: a photo id, an absolute path, an id column's value; stored as photo_id), `ref`
    (the image to fetch: a URL or a local path), `label` (how the failure report names it),
    `meta` (logical column -> value, written with the row)."""

    id: int
    key: str  # what the id is the hash of; also stored as photo_id
    ref: str  # the image to fetch: URL or path
    label: str  # how the failure report names this input
    meta: dict = field(default_factory=dict)  # logical column -> value

    def row(self) -> dict:
        """The row to insert, by logical column name: `meta`, with photo_id = key and
        photo_image_url = ref unless meta sets them, and id."""
        r = dict(self.meta)
        r.setdefault("photo_id", self.key)
        r.setdefault("photo_image_url", self.ref)
        r["id"] = self.id
        return r


def _raise_field_limit():
    try:
        csv.field_size_limit(sys.maxsize)
    except OverflowError:  # pragma: no cover - 32-bit platforms
        csv.field_size_limit(2**31 - 1)


def _open_text(path: Path):
    try:
        return open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"cannot read {path}: file not found") from None
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from None


def with_params(url: str, params: str) -> str:
    """`url` with the query parameters `params` ('w=400&fm=jpg'; a leading '?' or '&' is ignored)
    appended after '?' or '&' as the URL needs; the URL unchanged when `params` is empty."""
    params = (params or "").lstrip("?&")
    if not params:
        return url
    return url + ("&" if "?" in url else "?") + params


# ------------------------------------------------------------------ Unsplash Lite

def read_keywords(path: str | os.PathLike, wanted: set[str] | None = None) -> dict[str, list[str]]:
    """keywords.tsv (photo_id, keyword, ...) -> {photo_id: [keyword, ...]} in file order, deduplicated."""
    _raise_field_limit()
    out: dict[str, list[str]] = {}
    with _open_text(Path(path)) as f:
        reader = csv.DictReader(f, delimiter="\t")
        if not reader.fieldnames or "photo_id" not in reader.fieldnames or "keyword" not in reader.fieldnames:
            raise UsageError(f"{path} is not an Unsplash keywords.tsv (needs columns photo_id and keyword)")
        for r in reader:
            pid = r.get("photo_id") or ""
            if wanted is not None and pid not in wanted:
                continue
            kw = (r.get("keyword") or "").strip()
            if kw:
                lst = out.setdefault(pid, [])
                if kw not in lst:
                    lst.append(kw)
    return out


def unsplash_items(path: str | os.PathLike, *, limit: int | None = None, thumb_params: str = UNSPLASH_THUMB,
                   keywords: str | os.PathLike | None = None) -> Iterator[Item]:
    """Rows of an Unsplash Lite photos.tsv (the first `limit` of them). The image fetched is
    `photo_image_url` plus the thumbnail parameters; the URL stored is `photo_image_url` as given."""
    _raise_field_limit()
    path = Path(path)
    f = _open_text(path)
    with f:
        reader = csv.DictReader(f, delimiter="\t")
        names = reader.fieldnames or []
        missing = [c for c in ("photo_id", "photo_image_url") if c not in names]
        if missing:
            raise UsageError(f"{path} is not an Unsplash photos.tsv: no column {', '.join(missing)}",
                             hint="use photos.tsv from the Unsplash Lite zip, or `embedsql ingest csv`")
        rows = []
        for n, r in enumerate(reader):
            if limit is not None and n >= limit:
                break
            rows.append(r)
    kw = read_keywords(keywords, {r.get("photo_id") or "" for r in rows}) if keywords else {}
    for n, r in enumerate(rows, start=2):
        pid = (r.get("photo_id") or "").strip()
        url = (r.get("photo_image_url") or "").strip()
        label = url or f"{path}:{n}"
        meta = {k: r[k] for k in UNSPLASH_FIELDS if k in r and r[k] is not None}
        meta["photo_id"] = pid
        meta["photo_image_url"] = url
        if pid in kw:
            meta["keywords"] = kw[pid]
        meta["search_text"] = search_text(meta)
        if not pid or not url:
            yield Item(0, pid, "", label, {"_error": f"line {n}: empty photo_id or photo_image_url"})
            continue
        yield Item(stable_id(pid), pid, with_params(url, thumb_params), label, meta)


# ------------------------------------------------------------------ searchable text

#: the fields joined into `search_text` (the photos table's DEFAULT, migration 0003, joins the same)
SEARCH_TEXT_FIELDS = ("photo_description", "ai_description", "keywords", "photo_location_name",
                      "photo_location_city", "photo_location_country")
_NAME_SPLIT = re.compile(r"[\W_]+")


def file_words(relpath: str) -> str:
    """The words of an image's path, for keyword search: `trips/lisbon/red_tram-01.jpg` ->
    `trips lisbon red tram 01` (extension dropped, separators become spaces)."""
    stem = relpath.rsplit(".", 1)[0] if "." in relpath.rsplit("/", 1)[-1] else relpath
    return " ".join(w for w in _NAME_SPLIT.split(stem) if w)


def search_text(meta: dict, extra: str = "") -> str:
    """The searchable text of a photo (the `search_text` column that TextSearch / HybridSearch
    read): descriptions, keywords and places, then `extra` (a folder image's path words), joined
    by single spaces, empty parts left out.

    Without `extra` this is exactly what the photos table's DEFAULT (migration 0003) computes
    from the same row, so a row gets the same text whether ingestion sends it or the server fills
    it: `arrayStringConcat(arrayFilter(x -> x != '', [photo_description, ai_description,
    arrayStringConcat(keywords, ' '), photo_location_name, photo_location_city,
    photo_location_country]), ' ')`. Hence nothing is stripped (a field of spaces only is kept,
    leading and trailing spaces stay), and keywords are joined with their empty strings (`['a',
    '', 'b']` -> `'a  b'`); only a part that is empty as a whole is left out. A missing or None
    field counts as '' (the column's default), as does a None keyword. The FTS tokenizer splits
    on whitespace, so the extra spaces do not change what TextSearch finds.
    tests/ingest/test_search_text.py checks this against chdb."""
    parts = []
    for k in SEARCH_TEXT_FIELDS:
        v = meta.get(k)
        if v is None:
            continue
        if isinstance(v, (list, tuple)):
            v = " ".join("" if x is None else str(x) for x in v)
        parts.append(str(v))
    if extra:
        parts.append(extra)
    return " ".join(p for p in parts if p)


# ------------------------------------------------------------------ local images

def _scan_folder(root: Path, skipped: list[tuple[Path, str]] | None) -> list[Path]:
    """Every file under the folder `root`, as found under it (links not resolved), links to
    folders followed: the real subfolders first, then each linked folder (and the links found in
    it, in turn), each real folder scanned once, so a link to a parent folder or a second link to
    one folder ends there: nothing is lost (its files were scanned through the other path) and the
    scan ends. A broken link and a folder that cannot be read are appended to `skipped`."""
    seen: set[tuple[int, int]] = set()
    links: list[Path] = []  # linked folders still to scan, in the order found
    files: list[Path] = []

    def unreadable(e: OSError):
        if skipped is not None:
            skipped.append((Path(os.path.abspath(e.filename or root)), f"skipped: cannot read folder ({e.strerror or e})"))

    def walk(top: Path):
        for dirpath, dirnames, filenames in os.walk(top, onerror=unreadable):  # links to folders: not entered
            try:
                st = os.stat(dirpath)
            except OSError as e:
                unreadable(e)
                dirnames[:] = []
                continue
            if (st.st_dev, st.st_ino) in seen:  # reached before through another path
                dirnames[:] = []
                continue
            seen.add((st.st_dev, st.st_ino))
            here = Path(dirpath)
            dirnames.sort()
            for d in dirnames:
                if os.path.islink(here / d):
                    links.append(here / d)
            for name in sorted(filenames):
                q = here / name
                if q.is_file():
                    files.append(q)
                elif os.path.islink(q) and skipped is not None:
                    target = os.readlink(q)
                    try:
                        os.stat(q)
                        why = f"not a file (it points to {target})"
                    except OSError as e:
                        why = (f"a link loop (it points to {target}, which leads back to a link on the way)"
                               if e.errno == errno.ELOOP else f"broken link (it points to {target}, which does not exist)")
                    skipped.append((Path(os.path.abspath(q)), f"skipped: {why}"))  # absolute, as the others

    walk(root)
    while links:
        link = links.pop(0)
        try:
            st = os.stat(link)
        except OSError as e:  # pragma: no cover - removed meanwhile
            unreadable(e)
            continue
        if (st.st_dev, st.st_ino) not in seen:
            walk(link)
    return files


def scan_images(spec: str | os.PathLike, skipped: list[tuple[Path, str]] | None = None, *,
                ignore: Iterable[str | os.PathLike] = ()) -> list[tuple[Path, Path]]:
    """Like `find_images`, but each image as (path as found, the file itself): the path as found
    keeps the links on the way (`album/coins.jpg` under a linked folder `album`); the file itself
    is its absolute path with every link resolved. One entry per file itself: when links lead to
    one file twice, its path that goes through no link is kept, else the first in sorted order.
    Sorted by the path as found."""
    from embed.fetch import image_extensions

    text = str(spec)
    p = Path(text).expanduser()
    if p.is_dir():
        exts = image_extensions()
        left_out = {Path(x).expanduser().resolve() for x in ignore}
        base = p.resolve()
        found = []
        for q in _scan_folder(p, skipped):
            real = q.resolve()
            if left_out and real in left_out:
                continue
            if q.suffix.lower() in exts:
                found.append(q)
            elif skipped is not None:
                heif = q.suffix.lower() in (".heic", ".heif")
                skipped.append((real, (
                    f"skipped: {q.suffix} needs the optional pillow-heif (pip install 'embedsql[heif]')" if heif
                    else f"skipped: not an image format the installed Pillow opens ({q.suffix or 'no extension'})")))

        def through_link(q: Path) -> bool:
            return q.resolve() != base / q.relative_to(p)
    elif p.is_file():
        found = [p]
        through_link = os.path.islink
    elif glob.has_magic(text):
        matched = [Path(q) for q in glob.glob(os.path.expanduser(text), recursive=True)]
        found = [q for q in matched if q.is_file()]
        if skipped is not None:  # a broken link matched: reported, as a folder scan does
            for q in matched:
                if os.path.islink(q) and not q.exists():
                    skipped.append((Path(os.path.abspath(q)), f"skipped: broken link (it points to "
                                                             f"{os.readlink(q)}, which does not exist)"))
        through_link = os.path.islink
    else:
        raise UsageError(f"{text}: no such file or directory")
    out: dict[Path, Path] = {}
    for q in sorted(found, key=lambda q: (through_link(q), q.as_posix())):
        out.setdefault(q.resolve(), q)
    return sorted(((q, real) for real, q in out.items()), key=lambda x: x[0].as_posix())


def find_images(spec: str | os.PathLike, skipped: list[tuple[Path, str]] | None = None, *,
                ignore: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """A directory (recursive, links to files and folders followed), a glob (** allowed) or one
    file -> image files, as absolute paths with links resolved, each once, sorted. In a
    directory, a file is an image when its extension is one the installed Pillow can open
    (`embed.fetch.image_extensions`: AVIF, JFIF, HEIC with pillow-heif, ...); every other file,
    a broken link and a folder that cannot be read are appended to `skipped` as (path, reason),
    so the caller reports them, except the files in `ignore` (paths; a descriptions file kept
    beside the photos), which are left out silently. A linked folder already scanned (a link to a
    parent folder, two links to one folder) is not scanned again (`scan_images`)."""
    return sorted(real for _, real in scan_images(spec, skipped, ignore=ignore))


def image_items(specs: Iterable[str | os.PathLike], *, descriptions: dict[str, str] | None = None,
                ignore: Iterable[str | os.PathLike] = ()) -> Iterator[Item]:
    """Local image files. id = hash of the file's absolute path with links resolved, and
    photo_image_url = that path, so a file reached through a link is the same row as the file
    named directly; photo_id = the path as found under the folder given, links not resolved
    (`album/coins.jpg` under a linked folder `album`), or the file name as given for a file or a
    glob match. Files in a folder scan that are not images, and broken links, are items with a
    `_skip` reason (reported), except those in `ignore` (`find_images`)."""
    descriptions = descriptions or {}
    ignore = list(ignore)
    for spec in specs:
        p = Path(str(spec)).expanduser()
        folder = p if p.is_dir() else None
        skipped: list[tuple[Path, str]] = []
        found = scan_images(spec, skipped, ignore=ignore)
        for f, reason in sorted(set(skipped)):
            yield Item(0, f.name, "", str(f), {"_skip": reason})
        for q, f in found:
            rel = q.relative_to(folder).as_posix() if folder is not None else q.name
            meta = {"photo_id": rel, "photo_image_url": str(f)}
            desc = (descriptions.get(rel) or descriptions.get(q.name) or descriptions.get(f.name)
                    or descriptions.get(str(f)))
            if desc:
                meta["photo_description"] = desc
            meta["search_text"] = search_text(meta, file_words(rel))
            yield Item(stable_id(str(f)), rel, str(f), str(f), meta)


def read_descriptions(path: str | os.PathLike) -> dict[str, str]:
    """File -> description, from a Markdown table (`| file | description |`, as in the demo's
    SOURCES.md) or a TSV/CSV with two columns (file, description)."""
    path = Path(path)
    with _open_text(path) as f:
        text = f.read()
    out: dict[str, str] = {}
    if path.suffix.lower() in (".md", ".markdown") or re.search(r"^\s*\|", text, re.M):
        for line in text.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 2 or not cells[0] or set(cells[0]) <= set("-: "):
                continue
            name, desc = cells[0].strip("`"), " | ".join(cells[1:]).strip()
            if Path(name).suffix.lower() in IMAGE_EXTENSIONS:
                out[name] = desc
        return out
    delim = "\t" if path.suffix.lower() == ".tsv" or "\t" in text.split("\n", 1)[0] else ","
    for row in csv.reader(text.splitlines(), delimiter=delim):
        if len(row) >= 2 and row[0].strip() and Path(row[0].strip()).suffix.lower() in IMAGE_EXTENSIONS:
            out[row[0].strip()] = row[1].strip()
    return out


def image_meta(data: bytes, path: str | None = None) -> dict:
    """Dimensions, file size and EXIF date of an image's bytes (header reads only)."""
    import io

    from PIL import Image

    meta: dict = {"file_size": len(data)}
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            meta.update(photo_width=w, photo_height=h, photo_aspect_ratio=round(w / h, 4) if h else 0.0)
            exif = im.getexif()
            date = exif.get_ifd(0x8769).get(36867) or exif.get(306)  # DateTimeOriginal, else DateTime
            if date:
                meta["photo_submitted_at"] = str(date).strip("\x00 ")  # when it was taken (EXIF)
            for tag, name in ((271, "exif_camera_make"), (272, "exif_camera_model")):
                if exif.get(tag):
                    meta[name] = str(exif.get(tag)).strip("\x00 ")
    except Exception:  # metadata is best effort; decoding reports real problems
        pass
    return meta


# ------------------------------------------------------------------ CSV

def csv_items(path: str | os.PathLike, *, url_column: str, id_column: str | None = None,
              delimiter: str | None = None, limit: int | None = None, base_dir: str | None = None) -> Iterator[Item]:
    """Rows of a CSV/TSV file. The image is `url_column` (URL or path; relative paths are taken
    from the file's folder); the key is `id_column` (default: the URL). Every column is kept as
    metadata under its own name (mapped and filtered by the target)."""
    _raise_field_limit()
    path = Path(path)
    with _open_text(path) as f:
        head = f.readline()
        f.seek(0)
        if delimiter is None:
            delimiter = "\t" if path.suffix.lower() == ".tsv" or head.count("\t") > head.count(",") else ","
        reader = csv.DictReader(f, delimiter=delimiter)
        names = reader.fieldnames or []
        for c, what in ((url_column, "--url-column"), (id_column, "--id-column")):
            if c and c not in names:
                # a header read as one column holding another separator: say which to pass
                other = next((d for d in (";", "|", "\t", ",") if d != delimiter and len(names) == 1
                              and c in names[0].split(d)), None)
                hint = f"the header is split by {other!r}: pass --delimiter {other!r}" if other else None
                raise UsageError(f"{path} has no column {c!r} ({what}); columns: {', '.join(names)}", hint=hint)
        base = Path(base_dir) if base_dir else path.resolve().parent
        for n, r in enumerate(reader, start=2):
            if limit is not None and n - 2 >= limit:
                break
            ref = (r.get(url_column) or "").strip()
            key = (r.get(id_column) or "").strip() if id_column else ref
            if ref and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", ref) and not os.path.isabs(ref):
                ref = str((base / ref).resolve())
            meta = {k: v for k, v in r.items() if k is not None}
            meta["photo_id"] = key
            meta["photo_image_url"] = ref
            if not ref or not key:
                yield Item(0, key, ref, ref or f"{path}:{n}", {"_error": f"line {n}: empty {url_column if not ref else id_column}"})
                continue
            yield Item(stable_id(key), key, ref, ref, meta)
