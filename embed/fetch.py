"""Read an image from an http(s) URL, a file:// URL or a local path, safely.

Every failure is an `InputError` naming the input and the reason: HTTP status, timeout, too large,
too many redirects, file not found, not an image, truncated, decompression bomb.
Only the standard library talks to the network (urllib); Pillow decodes.
"""
from __future__ import annotations

import http.client
import io
import os
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import InputError

if TYPE_CHECKING:
    from PIL import Image

USER_AGENT = "embedsql/0.1 (+https://github.com/embedsql)"
_REDIRECT_CODES = (301, 302, 303, 307, 308)
_CHUNK = 1 << 16


@dataclass(frozen=True)
class FetchOptions:
    """Limits for one fetch. `timeout` bounds the whole download (connect, headers and body)."""

    timeout: float = 10.0
    max_bytes: int = 20 * 1024 * 1024
    max_redirects: int = 5
    max_pixels: int = 89_478_485  # Pillow's default Image.MAX_IMAGE_PIXELS
    draft_size: tuple[int, int] | None = (448, 448)  # JPEG DCT scaling for big photos; None: full decode


DEFAULT_FETCH = FetchOptions()


def fetch_image(ref: str, opts: FetchOptions | None = None) -> tuple["Image.Image", bytes]:
    """Fetch and decode `ref` (http(s)/file URL or local path): an RGB image and the raw bytes."""
    opts = opts or DEFAULT_FETCH
    data = fetch_bytes(ref, opts)
    return decode_image(data, ref, opts), data


def fetch_bytes(ref: str, opts: FetchOptions | None = None) -> bytes:
    """The raw bytes of `ref`, within the size cap and the time limit."""
    opts = opts or DEFAULT_FETCH
    scheme = ref[:8].lower()
    if scheme.startswith(("http://", "https://")):
        return _fetch_http(ref, opts)
    if scheme.startswith("file://"):
        return _read_file(ref, _file_url_path(ref), opts)
    return _read_file(ref, os.path.expanduser(ref), opts)


# --- local files -------------------------------------------------------------------------------

def _file_url_path(ref: str) -> str:
    parsed = urllib.parse.urlsplit(ref)
    if parsed.netloc not in ("", "localhost"):
        raise InputError(ref, f"file:// URL with a remote host {parsed.netloc!r} is not supported",
                         hint="write file:///absolute/path or a plain path")
    return urllib.request.url2pathname(urllib.parse.unquote(parsed.path))


def _read_file(ref: str, path: str, opts: FetchOptions) -> bytes:
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > opts.max_bytes:
                raise InputError(ref, f"too large ({size / 2**20:.1f} MB; limit {_mb(opts.max_bytes)} MB)")
            data = f.read(opts.max_bytes + 1)
    except FileNotFoundError:
        raise InputError(ref, "file not found", hint=(
            f"check the path: {path}" if ref.lower().startswith("file:")  # never text
            else "if you meant text, write text('...')")) from None
    except IsADirectoryError:
        raise InputError(ref, "is a directory, not an image file") from None
    except PermissionError:
        raise InputError(ref, "permission denied") from None
    except OSError as e:
        raise InputError(ref, f"cannot read file ({e.strerror or e})") from None
    if len(data) > opts.max_bytes:
        raise InputError(ref, f"too large (over {_mb(opts.max_bytes)} MB)")
    return data


# --- http(s) -----------------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand 3xx back to us: we follow redirects ourselves to count them and keep one deadline."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401
        return None


_opener: urllib.request.OpenerDirector | None = None


def _get_opener() -> urllib.request.OpenerDirector:
    global _opener
    if _opener is None:
        _opener = urllib.request.build_opener(_NoRedirect())
    return _opener


def _fetch_http(ref: str, opts: FetchOptions) -> bytes:
    deadline = time.monotonic() + opts.timeout
    url = ref
    redirects = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _timeout(ref, opts)
        req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "image/*,*/*;q=0.5"})
        try:
            resp = _get_opener().open(req, timeout=remaining)
        except urllib.error.HTTPError as e:
            location = e.headers.get("Location") if e.headers else None
            e.close()
            if e.code in _REDIRECT_CODES and location:
                redirects += 1
                if redirects > opts.max_redirects:
                    raise InputError(ref, f"too many redirects (more than {opts.max_redirects})") from None
                url = urllib.parse.urljoin(url, location)
                if not url[:8].lower().startswith(("http://", "https://")):
                    raise InputError(ref, f"redirect to a non-http URL {url!r} refused") from None
                continue
            raise InputError(ref, f"HTTP {e.code}" + (f" {e.reason}" if e.reason else "")) from None
        except (TimeoutError, socket.timeout):
            raise _timeout(ref, opts) from None
        except urllib.error.URLError as e:
            raise _url_error(ref, e.reason, opts) from None
        except (OSError, ValueError, http.client.HTTPException) as e:
            raise InputError(ref, f"cannot download ({e})") from None
        with resp:
            return _read_body(ref, resp, deadline, opts)


def _read_body(ref: str, resp, deadline: float, opts: FetchOptions) -> bytes:
    length = resp.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > opts.max_bytes:
        raise InputError(ref, f"too large ({int(length) / 2**20:.1f} MB; limit {_mb(opts.max_bytes)} MB)")
    buf = bytearray()
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _timeout(ref, opts)
            _set_socket_timeout(resp, remaining)
            chunk = resp.read(_CHUNK)
            if not chunk:
                break
            buf += chunk
            if len(buf) > opts.max_bytes:
                raise InputError(ref, f"too large (over {_mb(opts.max_bytes)} MB)")
    except (TimeoutError, socket.timeout):
        raise _timeout(ref, opts) from None
    except InputError:
        raise
    except (OSError, http.client.HTTPException) as e:
        raise InputError(ref, f"download interrupted ({e})") from None
    return bytes(buf)


def _set_socket_timeout(resp, seconds: float) -> None:
    try:
        resp.fp.raw._sock.settimeout(seconds)  # http.client's socket behind the buffered reader
    except AttributeError:
        pass


def _mb(n: int) -> str:
    return f"{n / 2**20:g}"


def _timeout(ref: str, opts: FetchOptions) -> InputError:
    return InputError(ref, f"timeout (no complete response within {opts.timeout:g} s)")


def _url_error(ref: str, reason, opts: FetchOptions) -> InputError:
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return _timeout(ref, opts)
    if isinstance(reason, socket.gaierror):
        return InputError(ref, "host not found (DNS lookup failed)", hint="check the URL and your network")
    if isinstance(reason, ConnectionRefusedError):
        return InputError(ref, "connection refused")
    if isinstance(reason, ssl.SSLError):
        return InputError(ref, f"TLS error ({reason})")
    return InputError(ref, f"cannot download ({reason})")


# --- decoding ----------------------------------------------------------------------------------

_plugins_done = False


def register_optional_plugins() -> None:
    """Let Pillow open HEIC/HEIF (iPhone photos) when the optional `pillow-heif` is installed
    (`pip install 'embedsql[heif]'`). Idempotent; cheap after the first call."""
    global _plugins_done
    if _plugins_done:
        return
    _plugins_done = True
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return
    register_heif_opener()


def image_extensions() -> frozenset[str]:
    """File extensions (lower case, with the dot) of every format the installed Pillow can open,
    optional plugins included: .jpg .jpeg .jfif .png .webp .avif .gif .bmp .tif .heic (with
    pillow-heif) and the rest of Pillow's list."""
    from PIL import Image

    register_optional_plugins()
    Image.init()
    return frozenset(e.lower() for e, fmt in Image.registered_extensions().items() if fmt in Image.OPEN)


def decode_image(data: bytes, ref: str, opts: FetchOptions | None = None) -> "Image.Image":
    """Decode `data` with Pillow (content sniffing, never the extension) into a loaded RGB image.

    Animated images give their first frame; EXIF orientation is applied; alpha is composited on
    white; 16-bit and CMYK images are converted. Truncated files and decompression bombs are errors.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    opts = opts or DEFAULT_FETCH
    _bombs_are_errors()
    register_optional_plugins()
    try:
        img = Image.open(io.BytesIO(data))
        w, h = img.size
        if w * h > opts.max_pixels:
            raise InputError(ref, f"decompression bomb ({w}x{h} = {w * h / 1e6:.0f} Mpx; "
                                  f"limit {opts.max_pixels / 1e6:.0f} Mpx)")
        if getattr(img, "is_animated", False):
            img.seek(0)
        if img.format == "JPEG" and opts.draft_size:
            img.draft("RGB", opts.draft_size)
        img.load()
        img = ImageOps.exif_transpose(img)
        return to_rgb(img, ref)
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise InputError(ref, f"decompression bomb ({e})") from None
    except UnidentifiedImageError:
        kind = _sniff(data)
        raise InputError(ref, f"not an image (content looks like {kind})" if kind else "not an image",
                         hint="the bytes are not a format Pillow can read, whatever the name says") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        msg = str(e)
        if any(w in msg.lower() for w in ("truncated", "broken data stream", "premature end")) \
                or isinstance(e, EOFError):
            raise InputError(ref, "truncated image") from None
        raise InputError(ref, f"corrupt image ({msg or type(e).__name__})") from None


_bomb_filter_installed = False


def _bombs_are_errors() -> None:
    """Pillow *warns* for images between MAX_IMAGE_PIXELS and twice that; make that an exception.

    A process-wide filter (installed once) rather than warnings.catch_warnings(), which is not
    thread-safe and decoding runs in worker threads. Our own max_pixels check fires first anyway.
    """
    global _bomb_filter_installed
    if not _bomb_filter_installed:
        from PIL import Image

        warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
        _bomb_filter_installed = True


def _sniff(data: bytes) -> str | None:
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "HTML"
    if head.startswith((b"{", b"[")):
        return "JSON"
    if not data:
        return "an empty body"
    if head.startswith(b"<?xml") or head.startswith(b"<svg"):
        return "XML/SVG (vector images are not supported)"
    try:
        data[:512].decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return None


def to_rgb(img: "Image.Image", ref: str = "<image>") -> "Image.Image":
    """Any Pillow mode to 8-bit RGB: alpha on white, 16/32-bit scaled, CMYK/YCbCr/palette converted."""
    from PIL import Image

    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        import numpy as np

        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if (mode.startswith("I;16") or arr.max(initial=0) > 255) else 255.0
        if mode == "F" and arr.max(initial=0) <= 1.0:
            top = 1.0
        arr = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    try:
        return img.convert("RGB")
    except (ValueError, OSError) as e:
        raise InputError(ref, f"unsupported colour mode {mode} ({e})") from None


#: Longest side over shortest side beyond which an image is centre-cropped before the model sees it.
MAX_ASPECT = 4.0


def for_model(img: "Image.Image") -> "Image.Image":
    """Centre-crop an extremely elongated image (a 30000x1 strip, say) to MAX_ASPECT:1 before the
    CLIP processor sees it. The processor scales the shortest side to 224 and keeps the centre
    square, so the crop changes nothing it would keep, but without it a 30000x1 image is first
    resized to 6,720,000x224 pixels (4.5 GB). Ordinary photos are returned as they are."""
    w, h = img.size
    short, long_ = min(w, h), max(w, h)
    if short <= 0 or long_ <= MAX_ASPECT * short:
        return img
    keep = max(1, int(MAX_ASPECT * short))
    if w > h:
        left = (w - keep) // 2
        return img.crop((left, 0, left + keep, h))
    top = (h - keep) // 2
    return img.crop((0, top, w, top + keep))
