"""Parsing migration files, checksums, the built-in set, and `new` numbering."""
from pathlib import Path

import pytest

from migrations.files import (
    BUILTIN_DIR, MigrationFileError, load, load_dir, new_file, parse,
)


def P(name="0003_x.sql"):
    return Path("/m") / name


def test_parse_parts_lines_and_statements():
    text = ("-- header comment\n"
            "\n"
            "-- +up\n"
            "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;\n"
            "INSERT INTO a VALUES (1), (';');\n"
            "-- +down\n"
            "DROP TABLE a;\n")
    m = parse(text, P())
    assert (m.version, m.name, m.label) == (3, "x", "0003_x")
    assert [s.line for s in m.up] == [4, 5]
    assert m.up[1].text == "INSERT INTO a VALUES (1), (';')"
    assert [s.text for s in m.down] == ["DROP TABLE a"]
    assert [s.line for s in m.down] == [7]


def test_markers_are_case_and_space_tolerant_and_down_optional():
    m = parse("--+UP\nSELECT 1\n", P())
    assert [s.text for s in m.up] == ["SELECT 1"]
    assert m.down is None
    assert m.steps("down") == []


@pytest.mark.parametrize("text,needle", [
    ("SELECT 1;\n", "exactly one '-- +up'"),
    ("-- +up\nSELECT 1;\n-- +up\nSELECT 2;\n", "exactly one '-- +up'"),
    ("-- +down\nSELECT 2;\n-- +up\nSELECT 1;\n", "comes before"),
    ("-- +up\n-- only a comment\n-- +down\nSELECT 1;\n", "no statements"),
    ("SELECT 0;\n-- +up\nSELECT 1;\n", "SQL before"),
    ("-- +up\nSELECT 'oops;\n", "unterminated string"),
    ("-- +up\nSELECT 1;\n-- +down\nSELECT 1;\n-- +down\nSELECT 2;\n", "more than one"),
])
def test_bad_files_are_named_errors(text, needle):
    with pytest.raises(MigrationFileError) as ei:
        parse(text, P())
    assert needle in str(ei.value)
    assert "0003_x.sql" in str(ei.value)


def test_bad_file_name(tmp_path):
    (tmp_path / "create_photos.sql").write_text("-- +up\nSELECT 1;\n")
    with pytest.raises(MigrationFileError, match="not a migration file name"):
        load_dir(tmp_path)


def test_checksums_whole_file_and_prefix():
    a = parse("-- +up\nSELECT 1;\nSELECT 2;\n-- +down\nSELECT 3;\n", P())
    b = parse("-- +up\nSELECT 1;\nSELECT 22;\n-- +down\nSELECT 3;\n", P())
    c = parse("-- +up\r\nSELECT 1;\r\nSELECT 2;\r\n-- +down\r\nSELECT 3;\r\n", P())
    assert a.checksum != b.checksum
    assert a.checksum == c.checksum  # newline style is not an edit
    assert a.prefix_checksum(1) == b.prefix_checksum(1)
    assert a.prefix_checksum(2) != b.prefix_checksum(2)


def test_builtin_set():
    ms = load([])
    assert [m.label for m in ms] == ["0001_photos_table", "0002_photo_embed_index", "0003_photos_text_index"]
    assert all(m.path.parent == BUILTIN_DIR and m.down for m in ms)
    create = ms[0].up[0].text
    assert "CONSTRAINT photo_embed_len CHECK length(photo_embed) = 512" in create
    assert "COMMENT 'embedsql:model=openai/clip-vit-base-patch32;family=clip;dim=512'" in create
    assert "ADD VECTOR INDEX photo_embed_index photo_embed TYPE MSTG('metric_type=Cosine')" in ms[1].up[0].text


def test_duplicate_versions_across_dirs(tmp_path):
    (tmp_path / "0002_mine.sql").write_text("-- +up\nSELECT 1;\n")
    with pytest.raises(MigrationFileError, match="two migrations have version 2"):
        load([tmp_path])
    assert [m.version for m in load([tmp_path], builtin=False)] == [2]


def test_new_numbers_after_builtin_then_continues(tmp_path):
    d = tmp_path / "mine"
    p1 = new_file(d, "Add tags!", load([]))
    assert p1.name == "0100_add_tags.sql"
    text = p1.read_text()
    assert "-- +up" in text and "-- +down" in text
    p1.write_text(text.replace("-- +up\n", "-- +up\nALTER TABLE photos ADD COLUMN tags Array(String);\n"))
    p2 = new_file(d, "second", load([d]))
    assert p2.name == "0101_second.sql"


def test_new_without_builtin_starts_at_one(tmp_path):
    assert new_file(tmp_path / "x", "init", []).name == "0001_init.sql"
    with pytest.raises(MigrationFileError):
        new_file(tmp_path / "x", "  !! ", [])


def test_bad_file_name_hint_suggests_a_free_user_version(tmp_path):
    """The example name in the hint is one that loads beside the built-in set (0001-0099 are
    built in): the first free version from 0100, with the file's own name."""
    (tmp_path / "add-tags.sql").write_text("-- +up\nSELECT 1;\n")
    with pytest.raises(MigrationFileError) as ei:
        load([tmp_path])
    assert "e.g. 0100_add_tags.sql" in str(ei.value)
    (tmp_path / "add-tags.sql").rename(tmp_path / "0100_add_tags.sql")
    assert [m.label for m in load([tmp_path])][-1] == "0100_add_tags"  # the advice works
    (tmp_path / "more tags.sql").write_text("-- +up\nSELECT 2;\n")
    with pytest.raises(MigrationFileError) as ei:
        load([tmp_path])
    assert "e.g. 0101_more_tags.sql" in str(ei.value)


def test_new_reads_only_the_names_of_the_files_in_its_directory(tmp_path):
    d = tmp_path / "mine"
    assert new_file(d, "add tags", load([])).name == "0100_add_tags.sql"  # still an empty template
    assert new_file(d, "add more", load([])).name == "0101_add_more.sql"


def test_a_dir_that_is_a_file_is_named_as_one(tmp_path):
    """`--dir` naming a migration file instead of its folder said the directory does not exist."""
    f = tmp_path / "mig" / "0100_a.sql"
    f.parent.mkdir()
    f.write_text("-- +up\nSELECT 1;\n")
    with pytest.raises(MigrationFileError) as ei:
        load_dir(f)
    assert str(ei.value).startswith(f"--dir {f} is a file, not a directory of migration files")
    assert ei.value.hint == f"give the folder it is in: --dir {f.parent}"
    with pytest.raises(MigrationFileError, match="does not exist"):
        load_dir(tmp_path / "nowhere")


def test_a_name_with_accents_keeps_its_letters(tmp_path):
    """`migrate new "ünïcode name"` made 0100_n_code_name.sql."""
    p = new_file(tmp_path, "ünïcode name", [])
    assert p.name.endswith("_unicode_name.sql"), p.name
