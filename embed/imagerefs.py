"""Which result values are image references, and which column of a result holds them: the
logic the TUI's thumbnails and the notebook magic (`%%embedsql`) share. Pure: it reads the local
file system to see whether a path exists, nothing else (fetching is `embed.fetch_image`)."""
from __future__ import annotations

import os
import re

from .modality import IMAGE_EXTENSIONS

__all__ = ["looks_like_image_ref", "resolves", "image_column"]

_NAME_HINT = re.compile(r"(url|uri|path|image|img|photo|picture|file|thumb)", re.I)
# the image extensions EMBED knows (one list: embed.modality), then an optional URL query
_IMAGE_EXT = re.compile(r"(?:" + "|".join(re.escape(e) for e in IMAGE_EXTENSIONS) + r")(\?.*)?$", re.I)


def looks_like_image_ref(value) -> bool:
    """An http(s):// or file:// URL, a name with an image extension, or a path to an existing file."""
    if not isinstance(value, str) or not value or len(value) > 4096 or "\n" in value:
        return False
    low = value[:8].lower()
    if low.startswith(("http://", "https://", "file://")):
        return True
    if _IMAGE_EXT.search(value):
        return True
    try:
        return os.path.isfile(os.path.expanduser(value))
    except (OSError, ValueError):
        return False


_STRONG_HINT = re.compile(r"(url|uri|path|file|thumb)", re.I)


def resolves(value) -> bool:
    """An http(s):// or file:// URL, or a path to an existing file."""
    if not isinstance(value, str) or not value or len(value) > 4096 or "\n" in value:
        return False
    if value[:8].lower().startswith(("http://", "https://", "file://")):
        return True
    try:
        return os.path.isfile(os.path.expanduser(value))
    except (OSError, ValueError):
        return False


def image_column(columns: list[str], rows: list[tuple], types: list[str] | None = None) -> int | None:
    """Index of the column holding image references (judged on the first 5 rows), or None.
    Values that resolve (URLs, existing files) beat values that only look like image names
    (`photo_id = 'cat.jpg'`); among equals, a column named like *url*/*path*/*file* beats
    *image*/*photo*, which beats any other name."""
    if not rows:
        return None
    sample = rows[:5]
    best, best_score = None, (0, 0)
    for i, name in enumerate(columns):
        vals = [r[i] for r in sample if i < len(r) and r[i] is not None]
        if not vals or not all(looks_like_image_ref(v) for v in vals):
            continue
        resolving = 2 if all(resolves(v) for v in vals) else 1
        naming = 2 if _STRONG_HINT.search(name or "") else (1 if _NAME_HINT.search(name or "") else 0)
        if resolving == 1 and naming == 0:
            continue  # an unnamed column of bare file names: too weak a guess
        score = (resolving, naming)
        if score > best_score:
            best, best_score = i, score
    return best
