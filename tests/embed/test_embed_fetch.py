"""Image fetching and decoding: each failure is an InputError naming the input and the reason."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from embed import EmbedQuery, FetchOptions, InputError, decode_image, fetch_image

from tests.support import PHOTOS, jpeg_bytes

FAST = FetchOptions(timeout=1)


@pytest.mark.parametrize("path, reason", [
    ("/404", "HTTP 404"),
    ("/slow.jpg", "timeout"),
    ("/truncated.jpg", "truncated"),
    ("/notimage.jpg", "not an image"),
    ("/huge.jpg", "too large"),
    ("/bomb.png", "decompression bomb"),
    ("/loop", "too many redirects"),
    ("/redirect/6", "too many redirects"),
])
def test_http_failures_name_input_and_reason(image_server, path, reason):
    url = image_server.url(path)
    with pytest.raises(InputError) as info:
        fetch_image(url, FAST)
    err = info.value
    assert err.input == url and reason in err.reason
    assert url in str(err) and reason in str(err)


def test_redirects_within_the_cap_are_followed(image_server):
    img, data = fetch_image(image_server.url("/redirect/5"), FAST)
    assert img.mode == "RGB" and img.size == (64, 48)
    assert data == image_server.routes["/red.jpg"][2]


def test_content_is_sniffed_not_the_name_or_type(image_server):
    buf = io.BytesIO()
    Image.new("RGB", (20, 10), (0, 200, 0)).save(buf, "PNG")
    image_server.routes["/really-a-png.jpg"] = (200, "text/plain", buf.getvalue())
    img, _ = fetch_image(image_server.url("/really-a-png.jpg"), FAST)
    assert img.size == (20, 10) and img.getpixel((0, 0)) == (0, 200, 0)


def test_smaller_caps_apply(image_server):
    with pytest.raises(InputError, match="too large"):
        fetch_image(image_server.url("/red.jpg"), FetchOptions(max_bytes=100))
    with pytest.raises(InputError, match="decompression bomb"):
        fetch_image(image_server.url("/red.jpg"), FetchOptions(max_pixels=1000))


def test_local_paths_and_file_urls(tmp_path):
    photo = sorted(PHOTOS.glob("*.jpg"))[0]
    a, da = fetch_image(str(photo))
    b, db = fetch_image(photo.as_uri())
    assert da == db == photo.read_bytes()
    assert a.size == b.size and a.mode == b.mode == "RGB"
    spaced = tmp_path / "with space.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(spaced)
    c, _ = fetch_image(spaced.as_uri())  # percent-encoded file:// URL
    assert c.getpixel((0, 0)) == (1, 2, 3)


@pytest.mark.parametrize("ref", ["missing.jpg", "file:///no/such/dir/x.png"])
def test_missing_file(tmp_path, monkeypatch, ref):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="file not found") as info:
        fetch_image(ref)
    assert info.value.input == ref
    # a file:// URL is never meant as text: the hint names the path it read
    hint = info.value.hint or ""
    assert ("text('...')" in hint) == (not ref.startswith("file:")), hint
    assert ref.startswith("file:") <= ("/no/such/dir/x.png" in hint)


def test_directory_and_unreachable_host(tmp_path):
    with pytest.raises(InputError, match="directory"):
        fetch_image(str(tmp_path))
    with pytest.raises(InputError) as info:
        fetch_image("http://127.0.0.1:1/x.jpg", FAST)  # nothing listens on port 1
    assert "127.0.0.1:1" in str(info.value)


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_cmyk_jpeg_decodes_to_rgb():
    img = decode_image(_encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG", quality=95), "cmyk.jpg")
    r, g, b = img.getpixel((8, 8))
    assert img.mode == "RGB" and r > 200 and g < 60 and b < 60


def test_16bit_png_scales_to_8bit():
    arr = np.full((8, 8), 50000, dtype=np.uint16)
    data = _encode(Image.fromarray(arr), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    img = decode_image(data, "deep.png")
    assert img.mode == "RGB" and abs(img.getpixel((0, 0))[0] - round(50000 / 257)) <= 1


def test_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (10, 10), c) for c in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    img = decode_image(buf.getvalue(), "anim.gif")
    r, g, b = img.getpixel((5, 5))
    assert img.mode == "RGB" and r > 200 and b < 50


def test_alpha_is_composited_on_white():
    rgba = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    rgba.putpixel((0, 0), (10, 20, 30, 255))
    img = decode_image(_encode(rgba, "PNG"), "alpha.png")
    assert img.getpixel((3, 3)) == (255, 255, 255) and img.getpixel((0, 0)) == (10, 20, 30)
    pal = Image.new("P", (4, 4), 0)
    pal.putpalette([0, 0, 0, 200, 0, 0] + [0] * 762)
    pal.putpixel((1, 1), 1)
    img = decode_image(_encode(pal, "PNG", transparency=0), "pal.png")
    assert img.getpixel((0, 0)) == (255, 255, 255) and img.getpixel((1, 1)) == (200, 0, 0)
    la = decode_image(_encode(Image.new("LA", (2, 2), (0, 255)), "PNG"), "la.png")
    assert la.getpixel((0, 0)) == (0, 0, 0)


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (40, 20), (90, 90, 90))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    out = decode_image(_encode(img, "JPEG", exif=exif), "rotated.jpg")
    assert out.size == (20, 40)


def test_big_jpeg_uses_draft_mode_but_keeps_enough_pixels():
    big = _encode(Image.new("RGB", (2400, 1800), (120, 60, 30)), "JPEG")
    img = decode_image(big, "big.jpg")
    assert img.mode == "RGB" and min(img.size) >= 448 and img.size[0] < 2400
    full = decode_image(big, "big.jpg", FetchOptions(draft_size=None))
    assert full.size == (2400, 1800)


def test_not_an_image_and_empty_bytes():
    for data in (b"", b"hello world", b"\x00\x01\x02garbage"):
        with pytest.raises(InputError, match="not an image"):
            decode_image(data, "x.png")
    with pytest.raises(InputError, match="truncated"):
        decode_image(jpeg_bytes()[:300], "cut.jpg")


def test_embedder_reports_the_failing_url(embedder, image_server):
    url = image_server.url("/404")
    with pytest.raises(InputError) as info:
        embedder.embed([EmbedQuery.of("a cat"), EmbedQuery.of(url, "a dog")])
    assert info.value.input == url and "HTTP 404" in str(info.value)
    assert not embedder.model_loaded  # nothing ran before the inputs were all readable
