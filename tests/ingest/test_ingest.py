"""Ingestion through the Python API on the embedded engine (chdb), the tiny random CLIP and the
loopback image server: exact counts, failure reports, resumability, metadata, vectors import."""
from __future__ import annotations

import itertools
import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import sqlext
from sqlext.errors import UsageError
from ingest import (convert_value, ingest_csv, ingest_demo, ingest_images, ingest_unsplash,
                           ingest_vectors, find_images, read_descriptions, stable_id)
from ingest.sources import image_items, with_params

from tests.ingest.ingest_support import count, create_photos, ids
from tests.support import PHOTOS, jpeg_bytes


_n = itertools.count()

BAD = {  # path on the image server -> what the reason must say
    "/404": "HTTP 404",
    "/slow.jpg": "timeout",
    "/truncated.jpg": "truncated",
    "/notimage.jpg": "not an image",
    "/huge.jpg": "too large",
    "/bomb.png": "decompression bomb",
    "/loop": "redirects",
}


@pytest.fixture
def session(tmp_path, tiny_clip):
    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db", model=str(tiny_clip))
    yield s
    s.close()


@pytest.fixture
def photos(session):
    create_photos(session)
    return session


def unique_routes(server, n: int) -> list[str]:
    """n fresh good image paths on the server (distinct colours), so hit counts are this test's own."""
    tag = next(_n)
    out = []
    for i in range(n):
        path = f"/t{tag}/img{i}.jpg"
        server.routes[path] = (200, "image/jpeg", jpeg_bytes(((37 * i) % 256, (91 * i) % 256, 120), (40 + i, 30)))
        out.append(path)
    return out


def write_unsplash_tsv(path, server, image_paths, *, extra_cols=True):
    head = ["photo_id", "photo_url", "photo_image_url", "photo_submitted_at", "photo_featured", "photo_width",
            "photo_height", "photo_aspect_ratio", "photo_description", "photographer_username",
            "photo_location_country", "ai_description", "stats_views"]
    lines = ["\t".join(head)]
    for i, p in enumerate(image_paths):
        lines.append("\t".join([
            f"pid{i}", f"https://unsplash.com/photos/pid{i}", server.url(p), f"2021-06-0{1 + i % 9} 12:34:56.789",
            "t", str(1000 + i), "500", f"{(1000 + i) / 500:.2f}", f"a \"quoted\" description {i}", f"user{i}",
            "Iceland" if i % 2 else "", f"ai says {i}", str(i * 10)]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- Unsplash over HTTP

def test_unsplash_exact_counts_and_failure_report(photos, image_server, tmp_path):
    good = unique_routes(image_server, 4) + ["/photos/horse.jpg", "/redirect/2"]
    bad = list(BAD)
    order = [p for pair in itertools.zip_longest(good, bad) for p in pair if p]
    tsv = write_unsplash_tsv(tmp_path / "photos.tsv", image_server, order)
    kw = tmp_path / "keywords.tsv"
    kw.write_text("photo_id\tkeyword\tai_service_1_confidence\npid0\tred\t0.9\npid0\tsquare\t0.5\n"
                  "pid0\tred\t0.4\npid99\tnope\t1\n")
    report = tmp_path / "failures.tsv"

    r = ingest_unsplash(photos, tsv, keywords=kw, timeout=1.0, workers=4, batch_size=3, report_path=report)

    assert (r.inputs, r.ingested, r.failed, r.skipped_existing) == (len(order), len(good), len(bad), 0)
    assert count(photos) == len(good)
    assert ids(photos) == sorted(stable_id(f"pid{order.index(p)}") for p in good)
    lines = report.read_text().splitlines()
    assert lines[0] == "input\treason"
    reasons = dict(line.split("\t", 1) for line in lines[1:])
    assert set(reasons) == {image_server.url(p) for p in bad}
    for p, needle in BAD.items():
        assert needle in reasons[image_server.url(p)], (p, reasons[image_server.url(p)])
    assert sorted(r.failures) == sorted(reasons.items())

    rows = photos.query(
        "SELECT photo_id, photo_url, photo_image_url, photo_width, photo_height, photo_aspect_ratio, "
        "photo_description, photographer_username, photo_location_country, ai_description, photo_submitted_at, "
        "keywords, source, length(photo_embed) FROM photos WHERE photo_id = 'pid0'").rows
    assert rows == [("pid0", "https://unsplash.com/photos/pid0", image_server.url(good[0]), 1000, 500,
                     pytest.approx(2.0), 'a "quoted" description 0', "user0", "", "ai says 0",
                     dt.datetime(2021, 6, 1, 12, 34, 56, 789000), ["red", "square"], "unsplash", 512)]
    vec = photos.query("SELECT photo_embed FROM photos WHERE photo_id = 'pid0'").rows[0][0]
    assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-4


def test_unsplash_rerun_skips_present_without_downloading(photos, image_server, tmp_path):
    good = unique_routes(image_server, 5)
    tsv = write_unsplash_tsv(tmp_path / "photos.tsv", image_server, good + ["/404"])
    r1 = ingest_unsplash(photos, tsv, timeout=2.0, batch_size=2)
    assert (r1.ingested, r1.failed) == (5, 1)
    hits = {p: image_server.hits.get(p, 0) for p in good}
    assert all(h == 1 for h in hits.values())
    before_404 = image_server.hits["/404"]

    r2 = ingest_unsplash(photos, tsv, timeout=2.0, batch_size=2)

    assert (r2.inputs, r2.ingested, r2.skipped_existing, r2.failed) == (6, 0, 5, 1)
    assert {p: image_server.hits.get(p, 0) for p in good} == hits  # nothing present was fetched again
    assert image_server.hits["/404"] == before_404 + 1  # failures are retried
    assert count(photos) == 5
    assert not r2.ok  # there was something to ingest (the 404) and nothing was ingested
    tsv.write_text("\n".join(tsv.read_text().splitlines()[:-1]) + "\n")  # drop the 404 row
    r3 = ingest_unsplash(photos, tsv)
    assert (r3.inputs, r3.skipped_existing, r3.ok) == (5, 5, True)  # everything present: not a failure


def test_unsplash_limit_thumbnail_params_and_duplicates(photos, image_server, tmp_path):
    good = unique_routes(image_server, 3)
    tsv = write_unsplash_tsv(tmp_path / "photos.tsv", image_server, [good[0], good[0], good[1], good[2]])
    # the second row repeats pid0's URL under pid1: different photo ids are different rows
    r = ingest_unsplash(photos, tsv, limit=3)
    assert (r.inputs, r.ingested) == (3, 3)
    assert good[2] not in image_server.hits  # past the limit: never fetched
    text = tsv.read_text().splitlines()
    tsv.write_text("\n".join(text + [text[1]]) + "\n")  # pid0 again at the end
    r = ingest_unsplash(photos, tsv)
    assert (r.inputs, r.ingested, r.skipped_existing) == (5, 1, 4)
    assert count(photos) == 4
    assert with_params("https://x/y.jpg", "q=75&w=200") == "https://x/y.jpg?q=75&w=200"
    assert with_params("https://x/y.jpg?ixid=1", "?q=75") == "https://x/y.jpg?ixid=1&q=75"
    assert with_params("https://x/y.jpg", "") == "https://x/y.jpg"


def test_not_a_photos_tsv(photos, tmp_path):
    f = tmp_path / "photos.tsv"
    f.write_text("a\tb\n1\t2\n")
    with pytest.raises(UsageError, match="photo_id"):
        ingest_unsplash(photos, f)


# ---------------------------------------------------------------- local images

def _save(path, color, size, fmt="JPEG", exif_date=None):
    from PIL import Image

    im = Image.new("RGB", size, color)
    kw = {}
    if exif_date:
        exif = Image.Exif()
        exif.get_ifd(0x8769)[36867] = exif_date
        exif[271] = "TestMake"
        kw["exif"] = exif
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, fmt, **kw)


def test_local_folder_metadata_and_rerun(photos, tmp_path):
    root = tmp_path / "pics"
    _save(root / "a.jpg", (200, 10, 10), (80, 40), exif_date="2019:07:14 08:30:00")
    _save(root / "sub" / "b.png", (10, 200, 10), (30, 60), fmt="PNG")
    _save(root / "sub" / "deeper" / "c.jpeg", (10, 10, 200), (50, 50))
    (root / "broken.jpg").write_bytes(b"<html>no</html>")
    (root / "notes.txt").write_text("skipped, and said so: not an image extension")
    report = tmp_path / "f.tsv"

    r = ingest_images(photos, [root], report_path=report)

    assert (r.inputs, r.ingested, r.failed, r.skipped) == (5, 3, 1, 1)
    assert r.failures == [
        (str((root / "notes.txt").resolve()), "skipped: not an image format the installed Pillow opens (.txt)"),
        (str((root / "broken.jpg").resolve()), "not an image (content looks like HTML)")]
    rows = {row[0]: row[1:] for row in photos.query(
        "SELECT photo_id, photo_image_url, photo_width, photo_height, photo_aspect_ratio, photo_submitted_at, "
        "source FROM photos").rows}
    assert rows["a.jpg"] == (str((root / "a.jpg").resolve()), 80, 40, pytest.approx(2.0),
                             dt.datetime(2019, 7, 14, 8, 30), "images")
    assert rows["sub/b.png"][1:4] == (30, 60, pytest.approx(0.5))
    assert rows["sub/b.png"][4] is None  # no EXIF date
    assert set(rows) == {"a.jpg", "sub/b.png", "sub/deeper/c.jpeg"}
    assert ids(photos) == sorted(stable_id(str((root / p).resolve())) for p in ("a.jpg", "sub/b.png", "sub/deeper/c.jpeg"))

    # a glob naming some of the same files: all present, nothing new
    r2 = ingest_images(photos, [str(root / "**" / "*.jp*g")])
    assert (r2.inputs, r2.ingested, r2.skipped_existing, r2.failed) == (3, 0, 2, 1)
    assert count(photos) == 3


def test_a_linked_file_is_ingested_as_the_file_it_points_to(photos, tmp_path):
    """A link to an image elsewhere: one row for the file itself (id and photo_image_url from its
    absolute path, links resolved), named by the link's path in the folder; the same file given by
    name, or reached through a second link, is that row, and reruns find it."""
    root, elsewhere = tmp_path / "pics", tmp_path / "elsewhere"
    _save(elsewhere / "coins.jpg", (200, 180, 20), (30, 20))
    _save(root / "a.jpg", (20, 20, 200), (20, 20))
    (root / "coins-link.jpg").symlink_to(elsewhere / "coins.jpg")
    (root / "alias-of-a.jpg").symlink_to(root / "a.jpg")  # a second path to a file in the folder
    (root / "sub").mkdir()
    (root / "sub" / "relative-link.jpg").symlink_to(Path("..") / ".." / "elsewhere" / "coins.jpg")

    r = ingest_images(photos, [root])

    assert (r.inputs, r.ingested, r.failed, r.skipped) == (2, 2, 0, 0)
    coins = str((elsewhere / "coins.jpg").resolve())
    rows = sorted(photos.query("SELECT photo_id, photo_image_url, id, photo_width FROM photos").rows)
    assert rows == [("a.jpg", str((root / "a.jpg").resolve()), stable_id(str((root / "a.jpg").resolve())), 20),
                    ("coins-link.jpg", coins, stable_id(coins), 30)]
    # the path words (search_text) are the link's
    assert [it.meta["search_text"] for it in image_items([root])] == ["a", "coins link"]
    # the same file by name, and the folder again: already there, nothing doubled
    r2 = ingest_images(photos, [elsewhere / "coins.jpg", root / "coins-link.jpg", root])
    assert (r2.inputs, r2.ingested, r2.skipped_existing) == (4, 0, 4)
    assert count(photos) == 2
    assert find_images(root) == sorted([Path(coins), (root / "a.jpg").resolve()])


@pytest.mark.timeout(120)
def test_linked_folders_are_followed_once_and_a_loop_ends(photos, tmp_path):
    """Linked folders are scanned like real ones (`find -L`); a link to a parent folder, a loop
    through two folders and a second link to one folder end the scan there, with every file
    taken once; a broken link is reported, not left out silently."""
    root, album = tmp_path / "pics", tmp_path / "album"
    _save(root / "top.jpg", (1, 2, 3), (8, 8))
    _save(root / "zreal" / "z.jpg", (4, 5, 6), (8, 8))
    _save(album / "p1.jpg", (7, 8, 9), (8, 8))
    _save(album / "sub" / "p2.png", (10, 11, 12), (8, 8), fmt="PNG")
    (root / "album").symlink_to(album, target_is_directory=True)
    (root / "album-again").symlink_to(album, target_is_directory=True)  # two links, one folder
    (root / "alink").symlink_to(root / "zreal", target_is_directory=True)  # a link to a folder inside
    (root / "loop").symlink_to(root, target_is_directory=True)  # a link to the folder itself
    (album / "sub" / "back").symlink_to(root, target_is_directory=True)  # a loop through album
    (root / "dangling.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (root / "self.jpg").symlink_to("self.jpg")  # a link to itself: a loop, said as one
    report = tmp_path / "f.tsv"

    r = ingest_images(photos, [root], report_path=report)

    assert (r.inputs, r.ingested, r.failed, r.skipped) == (6, 4, 0, 2)
    assert sorted(r.failures) == [
        (str(root / "dangling.jpg"), f"skipped: broken link (it points to {tmp_path / 'nowhere.jpg'}, which does not exist)"),
        (str(root / "self.jpg"), "skipped: a link loop (it points to self.jpg, which leads back to a link on the way)")]
    assert "dangling.jpg" in report.read_text()
    rows = dict(photos.query("SELECT photo_id, photo_image_url FROM photos").rows)
    assert rows == {"top.jpg": str((root / "top.jpg").resolve()),
                    "zreal/z.jpg": str((root / "zreal" / "z.jpg").resolve()),  # its own path, not alink/
                    "album/p1.jpg": str((album / "p1.jpg").resolve()),
                    "album/sub/p2.png": str((album / "sub" / "p2.png").resolve())}
    assert ids(photos) == sorted(stable_id(u) for u in rows.values())
    # the linked folder given itself: the same files, already there
    r2 = ingest_images(photos, [root / "album"])
    # p1, p2, and through `back`: top, z, the broken link and the loop
    assert (r2.inputs, r2.ingested, r2.skipped_existing, r2.skipped) == (6, 0, 4, 2)
    assert count(photos) == 4


def test_a_folder_given_by_a_relative_path_reports_every_skipped_file_by_its_absolute_path(photos, tmp_path,
                                                                                          monkeypatch):
    """The failure report names files one way: absolute paths, a broken link's too (it was the
    path as found under the relative folder, `pics/broken.jpg`, beside absolute ones)."""
    _save(tmp_path / "pics" / "ok.jpg", (1, 2, 3), (8, 8))
    (tmp_path / "pics" / "readme.txt").write_text("not an image")
    (tmp_path / "pics" / "broken.jpg").symlink_to(tmp_path / "gone.jpg")
    monkeypatch.chdir(tmp_path)
    r = ingest_images(photos, ["pics"])
    assert (r.ingested, r.skipped) == (1, 2)
    assert sorted(p for p, _ in r.failures) == [str(tmp_path / "pics" / "broken.jpg"),
                                                str(tmp_path / "pics" / "readme.txt")]


def test_a_glob_reports_a_broken_link_it_matches(photos, tmp_path):
    """A folder scan reported a broken link; a glob matching one left it out silently."""
    _save(tmp_path / "pics" / "b1.jpg", (1, 2, 3), (8, 8))
    (tmp_path / "pics" / "b2.jpg").symlink_to(tmp_path / "gone.jpg")
    r = ingest_images(photos, [str(tmp_path / "pics" / "b*.jpg")])
    assert (r.ingested, r.skipped) == (1, 1)
    assert r.failures == [(str(tmp_path / "pics" / "b2.jpg"),
                           f"skipped: broken link (it points to {tmp_path / 'gone.jpg'}, which does not exist)")]


def test_descriptions_file_in_the_folder_is_not_a_skipped_image(photos, tmp_path):
    """`--descriptions` naming a file inside the scanned folder: read, not reported as a
    non-image; another non-image beside it still is (the demo's folder works the same way)."""
    root = tmp_path / "pics"
    _save(root / "a.jpg", (200, 10, 10), (40, 40))
    (root / "SOURCES.md").write_text("| file | description |\n|---|---|\n| a.jpg | a red square |\n")
    (root / "notes.txt").write_text("not an image")
    r = ingest_images(photos, [root], descriptions=root / "SOURCES.md", report_path=tmp_path / "f.tsv")
    assert (r.inputs, r.ingested, r.skipped) == (2, 1, 1)
    assert [f for f, _ in r.failures] == [str((root / "notes.txt").resolve())]
    assert photos.query("SELECT photo_description FROM photos").rows == [("a red square",)]


def test_no_images_found(photos, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no image files"):
        ingest_images(photos, [tmp_path / "empty"])
    with pytest.raises(UsageError, match="no such file"):
        ingest_images(photos, [tmp_path / "missing"])


def test_demo_photos_with_descriptions(photos):
    r = ingest_demo(photos)
    assert (r.inputs, r.ingested, r.failed, r.skipped) == (13, 13, 0, 0)  # SOURCES.md is not an input
    rows = dict(photos.query("SELECT photo_id, photo_description FROM photos").rows)
    assert rows["chelsea.jpg"] == "Close-up of a tabby cat's face with green eyes."
    assert all(d and "CC0" not in d and "Public domain" not in d for d in rows.values())
    assert set(rows) == {p.name for p in PHOTOS.glob("*.jpg")}
    assert ingest_demo(photos).skipped_existing == 13


def test_demo_photos_from_another_install_are_the_same_rows(photos, tmp_path):
    """The default database is shared by every clone and venv of one user: a second install's
    demo finds the photos the first put there (other paths, so other path-based ids), keeps one
    row each, points it at its own files (the first install may be deleted), and removes the
    copies that versions inserting once per install left behind."""
    import shutil

    from ingest import demo_photos_dir
    from ingest.sources import image_items

    photos.command("ALTER TABLE photos ADD INDEX vi photo_embed TYPE vector_similarity('hnsw', 'cosineDistance', 512)",
                   verbatim=True)
    first, second = (tmp_path / n / "embedsql" / "ingest" / "demo" / "photos" for n in ("a", "b"))
    for d in (first, second):
        shutil.copytree(demo_photos_dir(), d)
    assert ingest_demo(photos, first).ingested == 13
    vectors = dict(photos.query("SELECT photo_id, photo_embed FROM photos", verbatim=True).rows)
    # what an earlier version did from the second install: the photos once more, under new ids
    old = ingest_images(photos, [second], descriptions=second / "SOURCES.md")
    assert old.ingested == 13 and count(photos) == 26
    shutil.rmtree(first)

    r = ingest_demo(photos, second)
    assert (r.ingested, r.skipped_existing, r.failed) == (0, 13, 0)
    rows = photos.query("SELECT id, photo_id, photo_image_url, photo_embed, photo_description FROM photos "
                        "ORDER BY photo_id", verbatim=True).rows
    assert [r[1] for r in rows] == sorted(p.name for p in PHOTOS.glob("*.jpg"))  # once each
    assert all(r[2] == str((second / r[1]).resolve()) and Path(r[2]).is_file() for r in rows)
    assert all(np.allclose(r[3], vectors[r[1]]) for r in rows)
    assert all(r[4] for r in rows)  # with their descriptions
    # the row kept is the one of this install's own path when there is one
    own = {it.key: it.id for it in image_items([second]) if not it.meta.get("_skip")}
    assert {r[1]: int(r[0]) for r in rows} == own
    assert ingest_demo(photos, second).skipped_existing == 13 and count(photos) == 13

    # a third install, the second deleted: the same 13 rows, pointed at the third
    third = tmp_path / "c" / "demo" / "photos"
    shutil.copytree(second, third)
    shutil.rmtree(second)
    r = ingest_demo(photos, third)
    assert (r.ingested, r.skipped_existing) == (0, 13) and count(photos) == 13
    urls = [r[0] for r in photos.query("SELECT photo_image_url FROM photos", verbatim=True).rows]
    assert all(u.startswith(str(third.resolve())) and Path(u).is_file() for u in urls)
    # the vector index still answers
    hit = photos.query("SELECT photo_id FROM photos ORDER BY cosineDistance(photo_embed, EMBED('a cat')) LIMIT 3")
    assert len(hit.rows) == 3


def test_other_photos_named_like_a_demo_photo_are_left_alone(photos, tmp_path):
    """Only rows from a `demo/photos` folder are taken for the sample photos: a user's own
    chelsea.jpg elsewhere stays a row of its own."""
    import shutil

    mine = tmp_path / "pictures"
    mine.mkdir()
    shutil.copy(PHOTOS / "chelsea.jpg", mine / "chelsea.jpg")
    assert ingest_images(photos, [mine]).ingested == 1
    assert ingest_demo(photos).ingested == 13
    assert count(photos, where="WHERE photo_id = 'chelsea.jpg'") == 2


def test_read_descriptions_tsv(tmp_path):
    f = tmp_path / "d.tsv"
    f.write_text("file\tdescription\nx.jpg\ta red square\nnot-an-image\tskip\n")
    assert read_descriptions(f) == {"x.jpg": "a red square"}


# ---------------------------------------------------------------- CSV

def test_csv_urls_and_relative_paths(photos, image_server, tmp_path):
    good = unique_routes(image_server, 2)
    _save(tmp_path / "local" / "l.jpg", (1, 2, 3), (20, 10))
    f = tmp_path / "list.csv"
    f.write_text("key,image,photo_description,unknown_column\n"
                 f"k1,{image_server.url(good[0])},first,x\n"
                 f"k2,{image_server.url(good[1])},\"second, with comma\",y\n"
                 "k3,local/l.jpg,third,z\n"
                 f"k4,{image_server.url('/404')},fourth,w\n"
                 ",missing-key.jpg,none,v\n")
    r = ingest_csv(photos, f, url_column="image", id_column="key")
    assert (r.inputs, r.ingested, r.failed) == (5, 3, 2)
    rows = dict(photos.query("SELECT photo_id, photo_description FROM photos").rows)
    assert rows == {"k1": "first", "k2": "second, with comma", "k3": "third"}
    url = photos.query("SELECT photo_image_url, photo_width FROM photos WHERE photo_id = 'k3'").rows
    assert url == [(str((tmp_path / "local" / "l.jpg").resolve()), 20)]
    assert ids(photos) == sorted(stable_id(k) for k in ("k1", "k2", "k3"))
    with pytest.raises(UsageError, match="no column 'nope'"):
        ingest_csv(photos, f, url_column="nope")


def test_a_key_repeated_in_one_file_is_reported_not_counted_as_already_present(photos, image_server, tmp_path):
    """Into an empty table, the second row with a key was counted as "already present", and the
    report did not list it."""
    good = unique_routes(image_server, 2)
    f = tmp_path / "list.csv"
    f.write_text("key,image\n"
                 f"k1,{image_server.url(good[0])}\n"
                 f"k1,{image_server.url(good[1])}\n")
    r = ingest_csv(photos, f, url_column="image", id_column="key", report_path=tmp_path / "r.tsv")
    assert (r.inputs, r.ingested, r.skipped_existing, r.repeated, r.failed) == (2, 1, 0, 1, 0)
    assert r.failures == [(image_server.url(good[1]), "repeats the key 'k1' of an earlier input: ingested once")]
    assert "repeated 1 (the key of an earlier input)" in r.summary() and "listed in" in r.summary()
    assert (tmp_path / "r.tsv").read_text().splitlines()[1].endswith("repeats the key 'k1' of an earlier input: ingested once")
    again = ingest_csv(photos, f, url_column="image", id_column="key")
    assert (again.skipped_existing, again.repeated) == (2, 0)  # both in the table now: already present


def test_a_csv_split_by_another_separator_says_which_delimiter_to_pass(photos, tmp_path):
    f = tmp_path / "semi.csv"
    f.write_text("key;image\nk1;x.jpg\n")
    with pytest.raises(UsageError) as ei:
        ingest_csv(photos, f, url_column="image")
    assert "no column 'image' (--url-column); columns: key;image" in str(ei.value)
    assert ei.value.hint == "the header is split by ';': pass --delimiter ';'"


# ---------------------------------------------------------------- target checks

def test_missing_table_says_migrate(session, tmp_path):
    _save(tmp_path / "a.jpg", (1, 1, 1), (8, 8))
    with pytest.raises(UsageError, match="does not exist") as e:
        ingest_images(session, [tmp_path / "a.jpg"])
    assert "embedsql migrate up" in str(e.value)


def test_model_tag_mismatch_refused(session, tmp_path):
    # (the tiny model's directory is named clip-vit-base-patch32: a local copy of the default)
    create_photos(session, model="laion/CLIP-ViT-H-14-laion2B-s32B-b79K")
    _save(tmp_path / "a.jpg", (1, 1, 1), (8, 8))
    with pytest.raises(UsageError, match="laion/CLIP-ViT-H-14-laion2B-s32B-b79K"):
        ingest_images(session, [tmp_path / "a.jpg"])
    assert count(session) == 0


def test_demo_into_another_models_table_changes_nothing(session):
    """The demo's sample rows of another install are repointed only once the model check passed."""
    create_photos(session, model="laion/CLIP-ViT-H-14-laion2B-s32B-b79K")
    session.command("INSERT INTO photos (id, photo_id, photo_image_url, photo_embed) VALUES "
                    "(1, 'chelsea.jpg', '/gone/ingest/demo/photos/chelsea.jpg', arrayWithConstant(512, 0.1)), "
                    "(2, 'chelsea.jpg', '/other/ingest/demo/photos/chelsea.jpg', arrayWithConstant(512, 0.1))",
                    verbatim=True)
    with pytest.raises(UsageError, match="laion/CLIP-ViT-H-14-laion2B-s32B-b79K"):
        ingest_demo(session)
    assert session.query("SELECT id, photo_image_url FROM photos ORDER BY id", verbatim=True).rows == [
        (1, "/gone/ingest/demo/photos/chelsea.jpg"), (2, "/other/ingest/demo/photos/chelsea.jpg")]


def test_model_mismatch_refused_when_every_input_is_already_there(session, tmp_path):
    """The model check comes before anything: a rerun with nothing new still refuses a model the
    column is not for (exit 2 on the command line), instead of reporting `ingested 0`."""
    create_photos(session)  # no model recorded: anything goes
    _save(tmp_path / "p" / "a.jpg", (1, 1, 1), (8, 8))
    assert ingest_images(session, [tmp_path / "p"]).ingested == 1
    session.command("ALTER TABLE photos COMMENT COLUMN photo_embed "
                    "'embedsql:model=laion/CLIP-ViT-H-14-laion2B-s32B-b79K;dim=512'", verbatim=True)
    with pytest.raises(UsageError, match="laion/CLIP-ViT-H-14-laion2B-s32B-b79K.*holds 1 row"):
        ingest_images(session, [tmp_path / "p"])
    assert count(session) == 1


def test_column_map_into_another_table(session, tmp_path):
    session.command("CREATE TABLE pics (pk UInt64, name String, path String, vec Array(Float32), caption String, "
                    "CONSTRAINT l CHECK length(vec) = 512) ENGINE = MergeTree ORDER BY pk")
    _save(tmp_path / "p" / "a.jpg", (9, 9, 9), (8, 8))
    r = ingest_images(session, [tmp_path / "p"], table="pics", descriptions={"a.jpg": "grey"},
                      column_map=["id=pk", "photo_id=name", "photo_image_url=path", "photo_embed=vec",
                                  "photo_description=caption"])
    assert r.ingested == 1
    assert session.query("SELECT name, caption, length(vec) FROM pics").rows == [("a.jpg", "grey", 512)]
    with pytest.raises(UsageError, match="no column 'photo_embed'"):
        ingest_images(session, [tmp_path / "p"], table="pics", column_map=["id=pk"])


def _items_table(session, tmp_path):
    """A custom table (sku, img, vec) and a CSV of two local images keyed by sku."""
    session.command("CREATE TABLE items (id UInt64, sku String, img String, vec Array(Float32), "
                    "CONSTRAINT l CHECK length(vec) = 512) ENGINE = MergeTree ORDER BY id")
    _save(tmp_path / "a.jpg", (5, 6, 7), (10, 10))
    _save(tmp_path / "b.jpg", (70, 60, 50), (10, 10))
    f = tmp_path / "a.csv"
    f.write_text("sku,image\nA1,a.jpg\nA2,b.jpg\n")
    return f


def test_column_map_of_the_key_onto_a_source_column_writes_it_once(session, tmp_path):
    """--column-map photo_id=sku with --id-column sku wrote column sku twice: DUPLICATE_COLUMN."""
    f = _items_table(session, tmp_path)
    r = ingest_csv(session, f, url_column="image", id_column="sku", table="items",
                   column_map=["photo_id=sku", "photo_image_url=img", "photo_embed=vec"])
    assert (r.ingested, r.failed) == (2, 0)
    rows = session.query("SELECT sku, img FROM items ORDER BY sku").rows
    assert rows == [("A1", str(tmp_path / "a.jpg")), ("A2", str(tmp_path / "b.jpg"))]


def test_column_map_to_a_missing_column_or_twice_to_one_column_is_refused_at_start(session, tmp_path):
    """--column-map photo_image_url=imgg (a typo) was dropped without a word: exit 0, img empty."""
    f = _items_table(session, tmp_path)
    with pytest.raises(UsageError, match="no column 'imgg' for --column-map photo_image_url=imgg") as e:
        ingest_csv(session, f, url_column="image", id_column="sku", table="items",
                   column_map=["photo_image_url=imgg", "photo_embed=vec"])
    assert "id, sku, img, vec" in e.value.hint
    assert not session.embedder.model_loaded  # refused before any embedding work
    with pytest.raises(UsageError, match="photo_description=img and --column-map photo_image_url=img"):
        ingest_csv(session, f, url_column="image", id_column="sku", table="items",
                   column_map=["photo_image_url=img", "photo_description=img", "photo_embed=vec"])
    with pytest.raises(UsageError, match="photo_id=id and the row id"):
        ingest_csv(session, f, url_column="image", id_column="sku", table="items",
                   column_map=["photo_id=id", "photo_embed=vec"])
    assert count(session, "items") == 0


@pytest.mark.parametrize("id_type", ["UInt32", "Int64", "String"])
def test_an_id_column_that_cannot_hold_the_row_ids_is_refused(session, tmp_path, id_type):
    """Row ids are 64-bit hashes: a narrower column cut them short, so a rerun found none of them
    and inserted every row again (and two inputs could share an id)."""
    session.command(f"CREATE TABLE small_ids (id {id_type}, photo_id String, photo_embed Array(Float32), "
                    "CONSTRAINT l CHECK length(photo_embed) = 512) ENGINE = MergeTree ORDER BY id")
    _save(tmp_path / "a.jpg", (1, 1, 1), (8, 8))
    with pytest.raises(UsageError, match=f"small_ids.id is {id_type}, not UInt64") as e:
        ingest_images(session, [tmp_path / "a.jpg"], table="small_ids")
    assert "--column-map id=" in e.value.hint
    assert session.query("SELECT count() FROM small_ids").rows == [(0,)]


def test_model_dimension_must_match_column(session, tmp_path):
    create_photos(session, dim=768)
    _save(tmp_path / "a.jpg", (1, 1, 1), (8, 8))
    with pytest.raises(UsageError, match="512-d vectors but photos.photo_embed holds 768-d"):
        ingest_images(session, [tmp_path / "a.jpg"])


# ---------------------------------------------------------------- precomputed vectors

def _clip_retrieval_dir(root, sizes, dim=512, seed=0):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    (root / "embeddings" / "img_emb").mkdir(parents=True)
    (root / "metadata").mkdir(parents=True)
    vecs, urls = [], []
    start = 0
    for n, size in enumerate(sizes):
        v = rng.standard_normal((size, dim)).astype(np.float32)
        u = [f"https://example.com/{start + i}.jpg" for i in range(size)]
        np.save(root / "embeddings" / "img_emb" / f"img_emb_{n}.npy", v)
        pq.write_table(pa.table({"url": u, "caption": [f"caption {start + i}" for i in range(size)],
                                 "width": pa.array([start + i for i in range(size)], pa.int64())}),
                       root / "metadata" / f"metadata_{n}.parquet")
        vecs.append(v)
        urls += u
        start += size
    return np.concatenate(vecs), urls


def test_vectors_clip_retrieval_layout(photos, tmp_path):
    vecs, urls = _clip_retrieval_dir(tmp_path / "out", [700, 300])
    r = ingest_vectors(photos, tmp_path / "out", chunk_rows=256, limit=900)
    assert (r.inputs, r.ingested, r.skipped_existing, r.failed) == (900, 900, 0, 0)
    r = ingest_vectors(photos, tmp_path / "out", chunk_rows=256)
    assert (r.inputs, r.ingested, r.skipped_existing) == (1000, 100, 900)
    assert count(photos) == 1000
    assert ids(photos) == sorted(stable_id(u) for u in urls)
    row = photos.query("SELECT photo_id, photo_image_url, photo_description, photo_width, source, photo_embed "
                       "FROM photos WHERE photo_image_url = 'https://example.com/777.jpg'").rows[0]
    assert row[:5] == (urls[777], urls[777], "caption 777", 777, "vectors")
    assert np.array_equal(np.asarray(row[5], dtype=np.float32), vecs[777])  # stored as given


def test_vectors_stop_finishes_the_chunk_being_written_and_a_rerun_completes(photos, tmp_path):
    """`stop` (set by the CLI's first Ctrl-C): no further chunk is read, the chunk being inserted
    is finished and those waiting are dropped (writing them took minutes on a big file), the
    report says interrupted (also when every chunk had been read: it did not, and the CLI exited
    0); the rerun adds exactly the rest."""
    import threading

    from ingest import NoProgress

    vecs, urls = _clip_retrieval_dir(tmp_path / "out", [700, 300])  # 5 chunks of <= 256 rows
    stop = threading.Event()

    class StopOnFirstWrite(NoProgress):
        def update(self, done, ingested, failed, skipped):
            if ingested:
                stop.set()

    r = ingest_vectors(photos, tmp_path / "out", chunk_rows=256, progress=StopOnFirstWrite(), stop=stop)
    assert r.interrupted and r.ingested == 256  # the first chunk; the ones read after it are dropped
    assert count(photos) == r.ingested and len(set(ids(photos))) == r.ingested
    r2 = ingest_vectors(photos, tmp_path / "out", chunk_rows=256)
    assert not r2.interrupted and (r2.ingested, r2.skipped_existing) == (1000 - r.ingested, r.ingested)
    assert ids(photos) == sorted(stable_id(u) for u in urls)
    # two chunks, both read before the first is written (the queue holds two): still interrupted
    _clip_retrieval_dir(tmp_path / "small", [300])
    photos.command("TRUNCATE TABLE photos", verbatim=True)
    stop.clear()
    r3 = ingest_vectors(photos, tmp_path / "small", chunk_rows=256, progress=StopOnFirstWrite(), stop=stop)
    assert r3.interrupted and r3.ingested == 256


def test_vectors_parquet_column_nan_and_dimension_errors(photos, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    v = np.random.default_rng(1).standard_normal((50, 512)).astype(np.float32)
    v[7, 3] = np.nan
    pq.write_table(pa.table({"photo_id": [f"p{i}" for i in range(50)],
                             "emb": pa.FixedSizeListArray.from_arrays(pa.array(v.ravel()), 512)}),
                   tmp_path / "v.parquet")
    with pytest.raises(UsageError, match="no vector column"):
        ingest_vectors(photos, tmp_path / "v.parquet", vector_column="nope")
    r = ingest_vectors(photos, tmp_path / "v.parquet", vector_column="emb", report_path=tmp_path / "f.tsv")
    assert (r.ingested, r.failed) == (49, 1)
    assert r.failures == [("p7", "vector has NaN or infinite values")]
    assert (tmp_path / "f.tsv").read_text().splitlines()[1] == "p7\tvector has NaN or infinite values"

    np.save(tmp_path / "wide.npy", np.zeros((3, 768), np.float32))
    with pytest.raises(UsageError, match="768-d vectors but photos.photo_embed holds 512-d"):
        ingest_vectors(photos, tmp_path / "wide.npy")
    np.save(tmp_path / "ok.npy", np.random.default_rng(2).standard_normal((3, 512)).astype(np.float32))
    pq.write_table(pa.table({"url": ["a", "b"]}), tmp_path / "two.parquet")
    with pytest.raises(UsageError, match="has 3 rows but"):
        ingest_vectors(photos, tmp_path / "ok.npy", metadata=tmp_path / "two.parquet")
    # no metadata: a row is its vector, still resumable
    r = ingest_vectors(photos, tmp_path / "ok.npy")
    assert r.ingested == 3 and ingest_vectors(photos, tmp_path / "ok.npy").skipped_existing == 3
    assert count(photos) == 52
    assert photos.query("SELECT photo_id FROM photos WHERE photo_id LIKE 'ok.npy#%' ORDER BY photo_id",
                        verbatim=True).rows == [("ok.npy#0",), ("ok.npy#1",), ("ok.npy#2",)]


def test_vectors_without_keys_are_told_apart_by_content_not_by_file_name(photos, tmp_path):
    """Two runs' `emb.npy` in two folders (clip-retrieval runs kept apart): keyed by file name and
    row, the second file's different vectors were skipped as already present, exit 0; and a
    renamed copy of one file was inserted again."""
    rng = np.random.default_rng(3)
    for d in ("run1", "run2"):
        (tmp_path / d).mkdir()
        np.save(tmp_path / d / "emb.npy", rng.standard_normal((10, 512)).astype(np.float32))
    assert ingest_vectors(photos, tmp_path / "run1" / "emb.npy").ingested == 10
    r = ingest_vectors(photos, tmp_path / "run2" / "emb.npy")
    assert (r.ingested, r.skipped_existing) == (10, 0)
    (tmp_path / "run1" / "emb.npy").rename(tmp_path / "renamed.npy")
    r = ingest_vectors(photos, tmp_path / "renamed.npy")
    assert (r.ingested, r.skipped_existing) == (0, 10)
    assert count(photos) == 20
    # one vector twice in a new file: ingested once, the repeat counted and listed
    twice = rng.standard_normal((1, 512)).astype(np.float32)
    np.save(tmp_path / "twice.npy", np.vstack([twice, twice]))
    r = ingest_vectors(photos, tmp_path / "twice.npy")
    assert (r.ingested, r.skipped_existing, r.repeated) == (1, 0, 1)
    assert r.failures == [("twice.npy#1", "repeats the vector of an earlier input: ingested once")]


# ---------------------------------------------------------------- pure parts

@pytest.mark.parametrize("value, ch_type, expected", [
    ("12", "UInt32", 12),
    ("12.0", "UInt32", 12),
    ("", "UInt32", 0),
    ("-3", "UInt32", 0),
    ("x", "Nullable(UInt32)", None),
    ("1.5", "Float32", 1.5),
    ("", "String", ""),
    ("t", "Bool", True),
    ("2020-01-02 03:04:05", "DateTime", dt.datetime(2020, 1, 2, 3, 4, 5)),
    ("2020-01-02T03:04:05Z", "Nullable(DateTime64(3))", dt.datetime(2020, 1, 2, 3, 4, 5)),
    ("2019:07:14 08:30:00", "Nullable(DateTime64(3))", dt.datetime(2019, 7, 14, 8, 30)),
    ("garbage", "Nullable(DateTime64(3))", None),
    ("a, b,,c", "Array(String)", ["a", "b", "c"]),
    (["x"], "Array(LowCardinality(String))", ["x"]),
    (None, "Array(String)", []),
    # integers exactly, range-checked (out of range: the zero, or NULL, like unparseable text)
    ("9007199254740993", "UInt64", 9007199254740993),
    ("18446744073709551615", "UInt64", 18446744073709551615),
    ("18446744073709551616", "UInt64", 0),
    ("-9223372036854775808", "Int64", -9223372036854775808),
    ("9223372036854775808", "Nullable(Int64)", None),
    ("300", "UInt8", 0),
    ("255", "UInt8", 255),
    ("-200", "Int8", 0),
    ("-128", "Int8", -128),
    ("-200", "Nullable(Int8)", None),
    ("3.0", "UInt8", 3),
    ("1e3", "Int32", 1000),
    ("12.5", "Int32", 0),
    (str(2 ** 255), "Int256", 0),
    (str(2 ** 256 - 1), "UInt256", 2 ** 256 - 1),
    ("1e39", "Float32", 0.0),
    ("1e39", "Float64", 1e39),
    ("1234567890123456789.1234567891", "Decimal(38, 10)", Decimal("1234567890123456789.1234567891")),
    ("12345", "Decimal(5, 2)", 0),
    ("999.99", "Nullable(Decimal(5, 2))", Decimal("999.99")),
    ("1960-01-01", "Date", dt.date(1970, 1, 1)),
    ("2200-01-01", "Nullable(Date)", None),
    ("1960-01-01", "Date32", dt.date(1960, 1, 1)),
    ("2200-01-01 00:00:00", "DateTime", dt.datetime(1970, 1, 1)),
])
def test_convert_value(value, ch_type, expected):
    assert convert_value(value, ch_type) == expected


def test_csv_big_integers_are_stored_exactly_and_out_of_range_fields_cost_no_row(session, tmp_path):
    """int(float(text)) rounded 9007199254740993 to ...992, and made the largest UInt64 ...616,
    which the driver refused: the whole batch, good rows with it, was lost."""
    session.command("CREATE TABLE items (id UInt64, sku String, img String, big UInt64, small Int8, "
                    "vec Array(Float32)) ENGINE = MergeTree ORDER BY id")
    for name in ("a", "b", "c"):
        _save(tmp_path / f"{name}.jpg", (ord(name), 20, 30), (12, 12))
    f = tmp_path / "items.csv"
    f.write_text("sku,image,big,small\n"
                 "A1,a.jpg,9007199254740993,-128\n"
                 "A2,b.jpg,18446744073709551615,300\n"
                 "A3,c.jpg,18446744073709551616,-200\n")
    r = ingest_csv(session, f, url_column="image", id_column="sku", table="items",
                   column_map=["photo_image_url=img", "photo_embed=vec"])
    assert (r.ingested, r.failed) == (3, 0)
    rows = session.query("SELECT sku, toString(big), small FROM items ORDER BY sku").rows
    assert rows == [("A1", "9007199254740993", -128), ("A2", "18446744073709551615", 0), ("A3", "0", 0)]


def test_stable_id_is_a_uint64_hash():
    assert stable_id("abc") == int.from_bytes(__import__("hashlib").sha1(b"abc").digest()[:8], "big")
    assert 0 <= stable_id("") < 2**64
    from ingest import stable_ids

    assert stable_ids(["abc", "x"]).tolist() == [stable_id("abc"), stable_id("x")]


def test_folder_scan_takes_every_format_pillow_opens_and_reports_the_rest(session, tmp_path):
    """a.jpg, b.avif, c.jfif, d.heic (through pillow-heif) are ingested; notes.txt and e.xyz are
    skipped, counted and listed with the reason; nothing is left out silently."""
    from PIL import Image

    from embed.fetch import image_extensions

    create_photos(session)
    d = tmp_path / "mixed"
    d.mkdir()
    Image.new("RGB", (20, 16), (200, 10, 10)).save(d / "a.jpg", "JPEG")
    Image.new("RGB", (20, 16), (10, 200, 10)).save(d / "b.avif", "AVIF")
    Image.new("RGB", (20, 16), (10, 10, 200)).save(d / "c.jfif", "JPEG")
    names = {"a.jpg", "b.avif", "c.jfif"}
    if ".heic" in image_extensions():  # the heif extra is installed
        Image.new("RGB", (20, 16), (90, 90, 10)).save(d / "d.heic", "HEIF")
        names.add("d.heic")
    (d / "notes.txt").write_text("not an image")
    (d / "e.xyz").write_bytes(b"\0\1")
    report = tmp_path / "report.tsv"
    r = ingest_images(session, [d], report_path=report)
    assert r.ingested == len(names) and r.failed == 0 and r.skipped == 2
    assert {row[0] for row in session.query("SELECT photo_id FROM photos").rows} == names
    reasons = dict(r.failures)
    assert "not an image format" in reasons[str((d / "notes.txt").resolve())]
    assert "(.xyz)" in reasons[str((d / "e.xyz").resolve())]
    assert "skipped 2 (not images)" in r.summary()
    text = report.read_text()
    assert "notes.txt" in text and "e.xyz" in text


# ---------------------------------------------------------------- the failure report file

def test_report_path_that_cannot_be_a_file_is_refused_before_anything_is_ingested(photos, tmp_path):
    """--report reports/ was opened only at the first failure: IsADirectoryError ended the run."""
    _save(tmp_path / "p" / "a.jpg", (1, 2, 3), (8, 8))
    (tmp_path / "p" / "fake.jpg").write_text("notimage")
    (tmp_path / "reports").mkdir()
    (tmp_path / "plain").write_text("x")
    for bad, why in ((tmp_path / "reports", "it is a folder"), (f"{tmp_path}/new/", "it is a folder"),
                     (tmp_path / "plain" / "r.tsv", f"{tmp_path / 'plain'} is a file, not a folder")):
        with pytest.raises(UsageError, match="cannot write the failure report to") as e:
            ingest_images(photos, [tmp_path / "p"], report_path=bad)
        assert str(bad) in str(e.value) and why in str(e.value) and "--report" in e.value.hint
    assert count(photos) == 0 and not photos.embedder.model_loaded
    assert not (tmp_path / "new").exists()


def test_a_report_that_cannot_be_written_later_costs_no_rows(photos, tmp_path, monkeypatch, capsys):
    import ingest.report

    _save(tmp_path / "p" / "a.jpg", (1, 2, 3), (8, 8))
    (tmp_path / "p" / "fake.jpg").write_text("notimage")

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(ingest.report, "open", refuse, raising=False)
    r = ingest_images(photos, [tmp_path / "p"], report_path=tmp_path / "r.tsv")
    assert (r.ingested, r.failed) == (1, 1) and r.report_path is None
    assert "not an image" in r.failures[0][1]
    err = capsys.readouterr().err
    assert f"cannot write the failure report {tmp_path / 'r.tsv'} (Permission denied)" in err
    assert count(photos) == 1
