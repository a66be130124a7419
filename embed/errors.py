"""Errors of the embedder: each names the input or model it is about."""
from __future__ import annotations


class UserFacingError(Exception):
    """An error reported to a person: a message, an optional hint (what to do), and the exit code
    the command line uses. The base of embed's errors and of sqlext's."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class EmbedError(UserFacingError):
    """Base class. `exit_code` 2: these are input or setup problems a user can fix."""

    exit_code = 2


class InputError(EmbedError):
    """An EMBED input that cannot be read: missing file, bad URL, not an image, too large..."""

    def __init__(self, input_value: str, reason: str, *, hint: str | None = None):
        super().__init__(f"cannot embed {input_value!r}: {reason}", hint=hint)
        self.input = input_value
        self.reason = reason


class ModelLoadError(EmbedError):
    """The CLIP model cannot be loaded (not cached offline, bad directory, not a CLIP model)."""
