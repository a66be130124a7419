"""Decide whether an EMBED input is text or an image (URL or local path)."""
from __future__ import annotations

import os
import re
from typing import Literal

from .errors import InputError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".jfif", ".png", ".gif", ".webp", ".avif", ".bmp", ".tif", ".tiff",
                    ".heic", ".heif")
URL_PREFIXES = ("http://", "https://", "file://")
_PATHLIKE = re.compile(r"^(\./|\.\./|/|~[\w.-]*(/|$))")
_HINT = "if you meant text, write text('...')"


def is_url(value: str) -> bool:
    """True for http://, https:// and file:// references (any case)."""
    return value[:8].lower().startswith(URL_PREFIXES)


def resolve_kind(value: str) -> Literal["text", "image"]:
    """"image" for http(s):// and file:// URLs and existing files; "text" otherwise.

    A string that looks like a path (ends in an image extension, or starts with ./ ../ / ~)
    but names no file raises InputError rather than silently embedding the path as text.
    """
    if is_url(value):
        return "image"
    if not value or "\n" in value or "\0" in value or len(value) > 4096:
        return "text"
    stripped = value.strip()
    looks_like_image = stripped.lower().endswith(IMAGE_EXTENSIONS)
    looks_like_path = bool(_PATHLIKE.match(stripped))
    if not (looks_like_image or looks_like_path or os.sep in value or "." in value):
        return "text"  # plain words: skip the filesystem
    path = os.path.expanduser(value)
    try:
        if os.path.isfile(path):
            return "image"
        is_dir = os.path.isdir(path)
    except (OSError, ValueError):
        is_dir = False
    if is_dir and (looks_like_path or looks_like_image):
        raise InputError(value, "is a directory, not an image file", hint=_HINT)
    if looks_like_image or looks_like_path:
        raise InputError(value, "file not found", hint=_HINT)
    return "text"
