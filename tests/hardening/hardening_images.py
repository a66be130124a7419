"""Hostile image files for the fetch / ingestion sweep: name -> (bytes, expectation).

expectation: "ok" (must decode to RGB and be ingested), "fail" (must be a reported failure with a
reason), "either" (decoding or a clean failure are both fine)."""
from __future__ import annotations

import io
import os
import struct
import zlib

from PIL import Image

from tests.support import PHOTOS, jpeg_bytes, png_bomb_bytes


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_with_huge_text(n: int) -> bytes:
    """A valid 8x8 PNG with an n-byte tEXt chunk inserted before IDAT."""
    png = _save(Image.new("RGB", (8, 8), (10, 200, 10)), "PNG")
    idat = png.index(b"IDAT") - 4
    return png[:idat] + _png_chunk(b"tEXt", b"Comment\0" + b"x" * n) + png[idat:]


def _jpeg_with_exif_blob(n: int, valid: bool) -> bytes:
    img = Image.new("RGB", (40, 30), (200, 100, 0))
    if valid:
        exif = Image.Exif()
        exif[0x010E] = "d" * n           # ImageDescription
        exif[0x0112] = 6                 # orientation: rotate
        return _save(img, "JPEG", exif=exif.tobytes())
    return _save(img, "JPEG", exif=b"Exif\0\0MM\0*" + os.urandom(n))


def _animated_gif() -> bytes:
    frames = [Image.new("P", (20, 20), i * 40) for i in range(5)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    return buf.getvalue()


def _png16() -> bytes:
    return _save(Image.new("I;16", (16, 16), 40000), "PNG")


def hostile_images() -> dict[str, tuple[bytes, str]]:
    good = sorted(PHOTOS.glob("*.jpg"))
    red = jpeg_bytes()
    out = {
        "good_red.jpg": (red, "ok"),
        "good_photo_1.jpg": (good[0].read_bytes(), "ok"),
        "good_photo_2.jpg": (good[1].read_bytes(), "ok"),
        "bomb.png": (png_bomb_bytes(), "fail"),
        "truncated.jpg": (red[: len(red) // 2], "either"),   # Pillow may fill the rest
        "truncated_header.jpg": (red[:20], "fail"),
        "exif_60k.jpg": (_jpeg_with_exif_blob(60_000, valid=True), "ok"),
        "exif_garbage_60k.jpg": (_jpeg_with_exif_blob(60_000, valid=False), "either"),
        "text_chunk_2mb.png": (_png_with_huge_text(2_000_000), "either"),
        "text_chunk_60k.png": (_png_with_huge_text(60_000), "ok"),
        "animated.gif": (_animated_gif(), "ok"),
        "cmyk.jpg": (_save(Image.new("CMYK", (20, 20), (0, 255, 255, 0)), "JPEG"), "ok"),
        "sixteen_bit.png": (_png16(), "ok"),
        "one_pixel.png": (_save(Image.new("RGB", (1, 1), (1, 2, 3)), "PNG"), "ok"),
        "one_pixel_alpha.png": (_save(Image.new("RGBA", (1, 1), (1, 2, 3, 0)), "PNG"), "ok"),
        "empty.jpg": (b"", "fail"),
        "wide_30000x1.png": (_save(Image.new("RGB", (30000, 1), (5, 5, 5)), "PNG"), "either"),
        "tall_1x30000.png": (_save(Image.new("L", (1, 30000), 99), "PNG"), "either"),
        "svg_named.jpg": (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" '
                          b'height="10"><rect width="10" height="10"/></svg>', "fail"),
        "html_named.jpg": (b"<!DOCTYPE html><html><body>not an image</body></html>", "fail"),
        "random_bytes.png": (os.urandom(5000), "fail"),
        "png_header_only.png": (b"\x89PNG\r\n\x1a\n", "fail"),
        "palette_transparency.png": (_save(Image.new("P", (10, 10), 0), "PNG", transparency=0), "ok"),
        "bad_orientation.jpg": (_jpeg_orientation(9), "either"),
        "gif_huge_canvas.gif": (_gif_claiming(65535, 65535), "fail"),
    }
    return out


def _jpeg_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return _save(Image.new("RGB", (10, 10), (9, 9, 9)), "JPEG", exif=exif.tobytes())


def _gif_claiming(w: int, h: int) -> bytes:
    """A GIF whose header claims w x h (a bomb by size) with a 1x1 image inside."""
    gif = _save(Image.new("P", (1, 1), 0), "GIF")
    return gif[:6] + struct.pack("<HH", w, h) + gif[10:]


def write_all(directory) -> dict[str, str]:
    """Write the files into `directory`; return name -> expectation."""
    os.makedirs(directory, exist_ok=True)
    exp = {}
    for name, (data, expect) in hostile_images().items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
        exp[name] = expect
    return exp
