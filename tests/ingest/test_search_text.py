"""Keyword search on the photos table end to end (issue 16): migration 0003 adds `search_text`
and its FTS index, ingestion fills it (Unsplash from descriptions/keywords/places, folders also
from the file's path words), and TextSearch / HybridSearch with EMBED find the rows through the
Session (EMBED as HybridSearch's query vector, --explain shows the translated SQL)."""
import pytest

import sqlext
from ingest import ingest_images, ingest_unsplash
from ingest.sources import file_words, search_text
from migrations.files import load
from migrations.runner import Runner
from tui.cli import main
from tests.ingest.test_ingest import _save, unique_routes, write_unsplash_tsv


@pytest.fixture
def photos(tmp_path, tiny_clip):
    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db", model=str(tiny_clip))
    Runner(s, load([], model=s.embedder.identity)).up()
    yield s
    s.close()


def test_migration_adds_search_text_default_and_text_index(photos):
    cols = {r[0]: r[1:] for r in photos.query(
        "SELECT name, type, default_kind FROM system.columns WHERE table = 'photos'", verbatim=True).rows}
    assert cols["search_text"] == ("String", "DEFAULT")
    assert cols["search_text__tokens"] == ("Array(String)", "MATERIALIZED")
    idx = photos.query("SELECT name, type, expr FROM system.data_skipping_indices WHERE table = 'photos' "
                       "AND type = 'text'", verbatim=True).rows
    assert idx == [("photos_text_index", "text", "search_text__tokens")]
    # a row inserted without search_text gets it from the descriptions, keywords and places
    photos.insert("photos", [[1, "p1", "A red tram", "ai: streetcar", ["lisbon", "yellow"], "Alfama", [0.0] * 512]],
                  ["id", "photo_id", "photo_description", "ai_description", "keywords", "photo_location_city",
                   "photo_embed"])
    assert photos.query("SELECT search_text FROM photos", verbatim=True).rows == [
        ("A red tram ai: streetcar lisbon yellow Alfama",)]
    r = photos.query("SELECT photo_id, TextSearch(search_text, 'Streetcar in ALFAMA') AS s FROM photos "
                     "ORDER BY s DESC LIMIT 5")
    assert [row[0] for row in r.rows] == ["p1"] and r.rows[0][1] > 0
    assert any("BM25" in t for t in r.stats.translations)


def test_search_text_helpers():
    assert file_words("trips/lisbon/red_tram-01.jpg") == "trips lisbon red tram 01"
    assert file_words("IMG 2020.png") == "IMG 2020"
    # the server's DEFAULT joins keywords with their empty strings, so `pet ` is one part
    assert search_text({"photo_description": "a cat", "keywords": ["pet", ""], "photo_location_country": "NO",
                        "ai_description": ""}, "x y") == "a cat pet  NO x y"


#: tricky metadata: (photo_description, ai_description, keywords, photo_location_name,
#: photo_location_city, photo_location_country)
TRICKY = [
    ("", "", [], "", "", ""),                                     # nothing at all
    ("   ", "", [], "", "", ""),                                  # spaces only
    (" a cat ", "\tstriped\n", [], "", " Oslo", "NO "),            # leading / trailing whitespace
    ("a cat", "", [""], "", "", ""),                              # one empty keyword
    ("", "", ["", ""], "", "", ""),                               # two empty keywords: one space
    ("", "", ["pet", "", "cute"], "", "", "Norway"),              # empty keyword between two
    ("", "", [" ", "pet "], " ", "", ""),                         # keywords and a place of spaces
    ("Café crème", "東京の夜景 🌃", ["naïve", "ß"], "Zürich", "", "Ελλάδα"),  # unicode
    ("\u00a0nbsp\u00a0", "\u3000ideographic\u3000", ["\u200b"], "", "", ""),  # unicode spaces Python strips
    ("line\nbreak", "", ["two words", "x"], "", "Rio de Janeiro", ""),
]
TRICKY_COLS = ["photo_description", "ai_description", "keywords", "photo_location_name",
               "photo_location_city", "photo_location_country"]


def test_search_text_matches_the_tables_default(photos):
    """ClickHouse is the oracle: rows inserted without search_text get it from migration 0003's
    DEFAULT; ingestion's `search_text` of the same metadata must be the same string."""
    rows = [[i, f"t{i}", *r, [0.0] * 512] for i, r in enumerate(TRICKY)]
    photos.insert("photos", rows, ["id", "photo_id", *TRICKY_COLS, "photo_embed"])
    got = photos.query(f"SELECT id, {', '.join(TRICKY_COLS)}, search_text FROM photos ORDER BY id",
                       verbatim=True).rows
    assert len(got) == len(TRICKY)
    for (i, *stored, server), sent in zip(got, TRICKY):
        assert (tuple(stored[:2]), list(stored[2]), tuple(stored[3:])) == (sent[:2], sent[2], sent[3:])  # stored as sent
        assert search_text(dict(zip(TRICKY_COLS, sent))) == server, (i, sent)
    # and the server kept what Python's str.strip would have dropped
    assert got[1][-1] == "   " and got[2][-1] == " a cat  \tstriped\n  Oslo NO " and got[4][-1] == " "


def test_unsplash_and_folder_ingestion_fill_search_text(photos, image_server, tmp_path):
    paths = unique_routes(image_server, 2)
    tsv = write_unsplash_tsv(tmp_path / "photos.tsv", image_server, paths)
    kw = tmp_path / "keywords.tsv"
    kw.write_text("photo_id\tkeyword\tai_service_1_confidence\npid1\tglacier\t0.9\n")
    assert ingest_unsplash(photos, tsv, keywords=kw, timeout=5.0).ingested == 2
    root = tmp_path / "pics"
    _save(root / "trips" / "red_tram-lisbon.jpg", (200, 10, 10), (40, 30))
    assert ingest_images(photos, [root], descriptions={"trips/red_tram-lisbon.jpg": "Tram 28"}).ingested == 1
    rows = dict(photos.query("SELECT photo_id, search_text FROM photos", verbatim=True).rows)
    assert rows["pid0"] == 'a "quoted" description 0 ai says 0'
    assert rows["pid1"] == 'a "quoted" description 1 ai says 1 glacier Iceland'
    assert rows["trips/red_tram-lisbon.jpg"] == "Tram 28 trips red tram lisbon"
    r = photos.query("SELECT photo_id FROM photos WHERE TextSearch(search_text, 'lisbon glacier') > 0 LIMIT 10")
    assert sorted(x[0] for x in r.rows) == ["pid1", "trips/red_tram-lisbon.jpg"]
    # HybridSearch with EMBED as the query vector: the keyword side finds the folder photo by its name
    h = photos.query("SELECT photo_id, HybridSearch('fusion_type=RRF')(photo_embed, search_text, "
                     "EMBED('a red tram'), 'red tram') AS score FROM photos ORDER BY score DESC LIMIT 3")
    assert h.rows[0][0] == "trips/red_tram-lisbon.jpg"
    assert h.columns == ["photo_id", "score"] and h.types[1] == "Float32"
    assert [s for _, s in h.rows] == sorted((s for _, s in h.rows), reverse=True)
    assert h.stats.embed_calls == 1 and "cosineDistance(photo_embed, CAST('[512 x Float32]', 'Array(Float64)'))" in h.stats.sent_sql


def test_explain_shows_the_translated_sql(photos, capsys, tmp_path):
    photos.close()
    code = main(["query", "--dsn", f"chdb://{tmp_path}/db", "--model", str(photos._model), "--explain",
                 "SELECT photo_id, HybridSearch('fusion_type=RSF', 'fusion_weight=0.7')(photo_embed, search_text, "
                 "EMBED('a cat'), 'cat') AS score FROM photos ORDER BY score DESC LIMIT 4"])
    out = " ".join(capsys.readouterr().out.split())      # notes are wrapped to the terminal width
    assert code == 0, out
    assert "ORDER BY __d LIMIT 12" in out and "CAST('[512 x Float32]', 'Array(Float64)')" in out
    assert "-- translated: HybridSearch('fusion_type=RSF') on photos: RSF: 0.7 × min-max normalised BM25" in out
