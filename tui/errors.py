"""How the command line and the app put failures into words (one place for both)."""
from __future__ import annotations

from embed.errors import UserFacingError


class UsageFailure(Exception):
    """A command line that cannot be run as given (exit 2): the message says what is wrong."""


def error_text(exc: BaseException) -> str:
    """One message for a person: embedsql's own errors (`UserFacingError`: what, why and a
    hint) as they are; anything else labelled as unexpected, with its type."""
    if isinstance(exc, UserFacingError):
        return str(exc)
    return f"unexpected error: {type(exc).__name__}: {exc}"
