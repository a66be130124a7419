"""Thumbnails for result rows: which column holds an image reference (`embed.imagerefs`), fetching (through
`embed.fetch_image`, with EMBED's limits: timeout, size cap, redirect cap, bomb guard), and a
two-level cache (memory LRU + PNG thumbnails in the cache dir).

Also picks the textual-image widget class without letting textual-image query the terminal at
import (its queries cost ~0.15 s and would race Textual's input thread once the app runs):
half-blocks by default (works in tmux and everywhere), Kitty's graphics protocol or Sixel when the
terminal is known to support them or EMBEDSQL_IMAGES=tgp|sixel|halfcell|unicode says so.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
import threading
from collections import OrderedDict
from pathlib import Path

# which values and which column are images: shared with the notebook magic, so it lives in embed
from embed.imagerefs import image_column, looks_like_image_ref  # noqa: F401

THUMB_SIZE = (320, 320)
MEMORY_ITEMS = 256


def vector_columns(types: list[str], rows: list[tuple] | None = None) -> list[int]:
    """Indexes of the columns whose ClickHouse type is Array(Float32 | Float64 | BFloat16): the
    vector columns, shown elided. `rows` is not used."""
    out = []
    for i, t in enumerate(types or []):
        if re.fullmatch(r"Array\((Float32|Float64|BFloat16)\)", (t or "").replace(" ", "")):
            out.append(i)
    return out


class ThumbCache:
    """Memory LRU of decoded thumbnails, backed by PNG files under `<cache dir>/thumbs`."""

    def __init__(self, directory: Path | None = None, *, items: int = MEMORY_ITEMS, fetch_options=None):
        if directory is None:
            from embed.paths import cache_dir

            directory = cache_dir() / "thumbs"
        self.dir = Path(directory)
        self.items = items
        self._mem: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._fetch_options = fetch_options
        self.fetches = 0  # network/disk reads of originals (for tests and the status line)

    @staticmethod
    def key(ref: str) -> str:
        """The cache key (and PNG file name) of image reference `ref`: the first 32 hex digits of
        its SHA-256."""
        return hashlib.sha256(ref.encode("utf-8")).hexdigest()[:32]

    def _remember(self, k: str, img) -> None:
        with self._lock:
            self._mem[k] = img
            self._mem.move_to_end(k)
            while len(self._mem) > self.items:
                self._mem.popitem(last=False)

    def cached(self, ref: str):
        """The thumbnail of `ref` if it is in memory (marking it recently used), else None; never
        reads disk or network."""
        with self._lock:
            img = self._mem.get(self.key(ref))
            if img is not None:
                self._mem.move_to_end(self.key(ref))
            return img

    def get(self, ref: str):
        """A PIL thumbnail for `ref` (blocking: call from a worker). Raises embed.errors.InputError.
        Concurrent calls for one ref fetch it once."""
        k = self.key(ref)
        with self._lock:
            key_lock = self._key_locks.setdefault(k, threading.Lock())
        with key_lock:
            return self._get(ref, k)

    def _get(self, ref: str, k: str):
        img = self.cached(ref)
        if img is not None:
            return img
        from PIL import Image

        disk = self.dir / f"{k}.png"
        if disk.is_file():
            try:
                with Image.open(disk) as im:
                    img = im.convert("RGB")
                self._remember(k, img)
                return img
            except (OSError, ValueError):
                pass
        from embed import FetchOptions, fetch_image

        opts = self._fetch_options or FetchOptions(timeout=10.0)
        ref_local = os.path.expanduser(ref) if not ref[:8].lower().startswith(("http://", "https://", "file://")) else ref
        image, _raw = fetch_image(ref_local, opts)
        self.fetches += 1
        img = image.convert("RGB")
        img.thumbnail(THUMB_SIZE)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            tmp = disk.with_suffix(".tmp")
            img.save(tmp, "PNG")
            os.replace(tmp, disk)
        except OSError:
            pass  # a read-only cache dir only costs a refetch
        self._remember(k, img)
        return img


# ------------------------------------------------------------------ image widget selection

_WIDGET_CLASS = None


class _NotATTY:
    """Stands in for sys.__stdout__ while textual-image is imported, so it skips its terminal queries."""

    def __init__(self, real):
        self._real = real

    def isatty(self):
        return False

    def __getattr__(self, name):
        return getattr(self._real, name)


def _cell_size():
    """Cell size in pixels via TIOCGWINSZ (no escape-sequence query); None when unknown."""
    try:
        import fcntl
        import struct
        import termios

        fd = sys.__stderr__.fileno() if sys.__stderr__ else 2
        rows, cols, xpix, ypix = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
        if rows and cols and xpix and ypix:
            return xpix // cols, ypix // rows
    except Exception:
        return None
    return None


def image_mode() -> str:
    """How the terminal draws images: $EMBEDSQL_IMAGES when it names a mode (tgp | kitty | sixel |
    halfcell | unicode; kitty means tgp), else halfcell inside tmux or screen, tgp in kitty,
    sixel in WezTerm, iTerm2 or a *sixel TERM, halfcell otherwise."""
    mode = os.environ.get("EMBEDSQL_IMAGES", "auto").lower()
    if mode in ("tgp", "kitty", "sixel", "halfcell", "unicode"):
        return "tgp" if mode == "kitty" else mode
    if os.environ.get("TMUX") or os.environ.get("STY"):
        return "halfcell"  # multiplexers do not pass graphics protocols through reliably
    if os.environ.get("KITTY_WINDOW_ID") or os.environ.get("TERM") == "xterm-kitty":
        return "tgp"
    if os.environ.get("TERM_PROGRAM") in ("WezTerm", "iTerm.app") or os.environ.get("TERM", "").endswith("sixel"):
        return "sixel"
    return "halfcell"


def image_widget_class():
    """The textual-image widget class to use (imported on first need, never at app import)."""
    global _WIDGET_CLASS
    if _WIDGET_CLASS is not None:
        return _WIDGET_CLASS
    real = sys.__stdout__
    sys.__stdout__ = _NotATTY(real)
    try:
        from textual_image import _terminal

        size = _cell_size()
        if size:
            _terminal.get_cell_size._result = _terminal.CellSize(*size)
        import textual_image.widget as tw
    finally:
        sys.__stdout__ = real
    mode = image_mode()
    _WIDGET_CLASS = {"tgp": tw.TGPImage, "sixel": tw.SixelImage, "unicode": tw.UnicodeImage}.get(mode, tw.HalfcellImage)
    return _WIDGET_CLASS
