"""resolve_kind: URLs and existing files are images; path-like strings that name no file are errors."""
from __future__ import annotations

import pytest
from PIL import Image

from embed import EmbedQuery, InputError, Term, resolve_kind


@pytest.mark.parametrize("value, kind", [
    ("a man standing on the beach", "text"),
    ("cats.", "text"),
    ("AC/DC concert", "text"),
    ("1/2 cup of sugar", "text"),
    ("https://example.com/photo.jpg", "image"),
    ("HTTP://EXAMPLE.COM/x", "image"),
    ("http://example.com/no-extension", "image"),
    ("file:///tmp/whatever.png", "image"),
    ("", "text"),
    ("line one\n/line two.jpg", "text"),
])
def test_kinds(value, kind):
    assert resolve_kind(value) == kind


def test_existing_files_are_images(tmp_path, monkeypatch):
    p = tmp_path / "cat.png"
    Image.new("RGB", (4, 4)).save(p)
    (tmp_path / "notes").write_text("x")
    monkeypatch.chdir(tmp_path)
    assert resolve_kind(str(p)) == "image"
    assert resolve_kind("cat.png") == "image"
    assert resolve_kind("./cat.png") == "image"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_kind("~/cat.png") == "image"


@pytest.mark.parametrize("value", ["missing.jpg", "photo.JPEG", "./missing", "../x/y", "/no/such/file", "~/nope.webp",
                                   "a photo of a cat.jpg"])
def test_path_like_but_missing_is_an_error_with_a_hint(value, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        resolve_kind(value)
    assert info.value.input == value and "file not found" in info.value.reason
    assert "text('...')" in str(info.value)


def test_directory_is_an_error(tmp_path):
    with pytest.raises(InputError, match="directory"):
        resolve_kind(str(tmp_path) + "/")


def test_forced_text_skips_detection(embedder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    [v] = embedder.embed([EmbedQuery((Term("text", "missing.jpg"),))])
    assert v.shape == (embedder.dim,)
    with pytest.raises(InputError, match="file not found"):
        embedder.embed([EmbedQuery.of("missing.jpg")])
    with pytest.raises(InputError, match="file not found"):
        embedder.embed([EmbedQuery((Term("image", "a cat"),))])


def test_term_validation():
    with pytest.raises(ValueError):
        Term("video", "x")
    with pytest.raises(ValueError):
        Term("text", "x", float("nan"))
    q = EmbedQuery.of("a", Term("image", "b.jpg", -0.5))
    assert q.terms[0] == Term("auto", "a") and q.describe() == "EMBED('a', image('b.jpg') * -0.5)"
