"""Shared helpers for the tests of sqlext's text side (lexer, splitter, EMBED finder)."""
from __future__ import annotations

import pytest

from sqlext.errors import SQLSyntaxError

__all__ = ["assert_syntax_error"]


def assert_syntax_error(fn, text: str, line: int, col: int, what: str = "") -> SQLSyntaxError:
    """`fn(text)` raises SQLSyntaxError at `line`, `col` (1-based, of `text`) with `what` in its
    message. Returns the error, for further checks."""
    with pytest.raises(SQLSyntaxError) as info:
        fn(text)
    err = info.value
    assert (err.line, err.col) == (line, col), err.message
    assert what in err.message, err.message
    return err
