"""Error types of the SQL layer. Each carries what a person needs to act: the input, the
position (line:column), and a hint. The CLI maps them to exit codes in one place
(`exit_code`): 1 for SQL or server errors, 2 for usage or input errors."""
from __future__ import annotations

from embed.errors import UserFacingError


class EmbedSQLError(UserFacingError):
    """Base of every error the SQL layer reports to a user."""

    exit_code = 1


class UsageError(EmbedSQLError):
    """Bad command-line usage, configuration or input (exit 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """A DSN, config file or option that cannot be used."""


class SQLSyntaxError(UsageError):
    """A problem in the SQL text found before sending it, with its position."""

    def __init__(self, message: str, *, line: int | None = None, col: int | None = None,
                 hint: str | None = None):
        if line is not None:
            message = f"{message} (at line {line}, column {col})"
        super().__init__(message, hint=hint)
        self.line = line
        self.col = col


class RewriteError(SQLSyntaxError):
    """An EMBED call that cannot be resolved (bad argument, wrong dimension, ...)."""


class TranslationError(SQLSyntaxError):
    """A statement that has no equivalent in the target dialect."""


class ServerError(EmbedSQLError):
    """The database refused the statement or could not be reached (exit 1)."""

    def __init__(self, message: str, *, code: int | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.code = code


class ConnectionFailed(ServerError):
    """The server could not be reached, or refused our credentials."""


class EngineBusy(ServerError):
    """The embedded database is held by another embedsql process."""


class LockWaitInterrupted(KeyboardInterrupt):
    """Ctrl-C (or `EMBEDDED.interrupt_wait`) ended a wait for the embedded database held by another
    process. A KeyboardInterrupt, so code that handles Ctrl-C handles it too; `str()` is the one
    line to show: where, who held it, and what did not run. `path`: the data directory;
    `holder`: the holder's lock record ({"pid", "command"}) or None; `ran_before`: this process
    had that database open earlier (what it ran then stays), so "nothing was run" is not said."""

    def __init__(self, message: str, *, path=None, holder: dict | None = None, ran_before: bool = False):
        super().__init__(message)
        self.path, self.holder, self.ran_before = path, holder, ran_before
