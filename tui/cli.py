"""The `embedsql` command line. One place maps exceptions to messages and exit codes:
0 ok, 1 SQL or server error, 2 usage or input error. No traceback unless --debug."""
from __future__ import annotations

import argparse
import getpass
import importlib
import os
import sys
from pathlib import Path

from .errors import UsageFailure

EXIT_OK, EXIT_SERVER, EXIT_USAGE = 0, 1, 2

# Subcommands living in their own modules: name -> module with add_parser(sub, common) and run(args, ctx)
PLUGINS = {
    "migrate": "tui.commands.migrate",
    "ingest": "tui.commands.ingest",
    "demo": "tui.commands.demo",
    "model": "tui.commands.model",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 itself; keep its message, our format
        raise UsageFailure(f"{self.prog}: {message}")


def common_options() -> argparse.ArgumentParser:
    """The options every command takes (--dsn, -c/--connection, --dialect, --model, --runtime,
    --debug), as an argparse parent parser; unset options stay absent from the namespace so a
    subcommand's value wins over the top-level one."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("connection")
    g.add_argument("--dsn", default=argparse.SUPPRESS,
                   help="chdb:///path (embedded) or http(s)://user@host:port/db; default: EMBEDSQL_DSN, "
                        "the config file, then the embedded database")
    g.add_argument("-c", "--connection", default=argparse.SUPPRESS, help="a named connection from the config file")
    g.add_argument("--dialect", choices=["myscale", "clickhouse"], default=argparse.SUPPRESS,
                   help="override the detected dialect")
    g.add_argument("--model", default=argparse.SUPPRESS,
                   help="embedding model: hub id or local directory (default: EMBEDSQL_MODEL, the config file's "
                        "model, else openai/clip-vit-base-patch32)")
    g.add_argument("--runtime", choices=["auto", "torch", "onnx", "onnx-fp32", "onnx-int8"], default=argparse.SUPPRESS,
                   help="model runtime (default: EMBEDSQL_RUNTIME, else auto: the ONNX fast path when the model "
                        "is exported, else torch)")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    return p


def build_parser() -> argparse.ArgumentParser:
    """The `embedsql` argument parser: `query`, `tui` and every subcommand module of `tui.commands`
    that imports (each adds its own with `add_parser`). Bad arguments raise UsageFailure (exit 2)
    instead of exiting."""
    common = common_options()
    parser = _Parser(prog="embedsql", parents=[common],
                     description="SQL-first multimodal search on MyScale and ClickHouse, with EMBED() in SQL.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    q = sub.add_parser("query", parents=[common], help="run SQL with EMBED() and print the result")
    q.add_argument("sql", nargs="?", help="the SQL text (or use -f)")
    q.add_argument("-f", "--file", help="a script file with several statements (use - for stdin)")
    q.add_argument("--ignore-error", action="store_true",
                   help="with several statements: report each failure and go on (exit 1 at the end if any failed)")
    q.add_argument("--format", choices=["table", "csv", "tsv", "json", "jsoneachrow", "jsonl", "vertical", "markdown"],
                   default="table", type=str.lower,
                   help="table (default); or ClickHouse's own CSVWithNames, TSVWithNames, JSON, JSONEachRow "
                        "(jsonl), Vertical, Markdown (a statement's own FORMAT clause wins: its bytes are printed "
                        "as the server sends them)")
    q.add_argument("--full-vectors", action="store_true", help="print vectors in full instead of [512 x Float32]")
    q.add_argument("--explain", action="store_true",
                   help="print the SQL that would be sent (vectors elided), translations, lints, the vector plan and "
                        "timings; run nothing but the planner's count of the filtered rows")
    t = sub.add_parser("tui", parents=[common], help="open the terminal UI (the default with no command)")
    t.add_argument("--sql", help="text to put in the editor")
    for name, modname in PLUGINS.items():
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        mod.add_parser(sub, common)
    return parser


# the width of a console writing to a pipe or file: no terminal to fit, so nothing is wrapped
# (tables take their natural width; text is not broken into lines)
PIPE_WIDTH = 10_000


def make_console(stream, **kw):
    """A Rich console for stdout or stderr. On a terminal: the terminal's width. Otherwise (a pipe,
    a file: `embedsql migrate status | cat`) nothing is wrapped to 80 columns: lines keep their
    length and tables their natural width, unless COLUMNS sets a width."""
    from rich.console import Console

    stderr = stream is sys.stderr
    tty = stream.isatty() if hasattr(stream, "isatty") else False
    if tty or os.environ.get("COLUMNS", "").isdigit():
        return Console(stderr=stderr, soft_wrap=False, **kw)
    return Console(stderr=stderr, width=PIPE_WIDTH, soft_wrap=True, **kw)


class Context:
    """What every command needs: the parsed options and a lazily opened session."""

    def __init__(self, args):
        self.args = args
        self._session = None
        self.out = make_console(sys.stdout)
        self.err = make_console(sys.stderr, highlight=False)

    def opt(self, name, default=None):
        """The value of option `name` as parsed, or `default` when it was not given."""
        return getattr(self.args, name, default)

    def session(self):
        """The `sqlext.Session` for the options (--dsn, -c, --dialect, --model), opened on first
        call and kept: a server with no password asks for one on a terminal (empty otherwise); a
        password in --dsn draws a warning. Raises ConfigError for a bad DSN or config file."""
        if self._session is None:
            import sqlext
            from sqlext.db.config import resolve

            spec = resolve(self.opt("dsn"), connection=self.opt("connection"), dialect=self.opt("dialect"))
            if self.opt("dsn") and "@" in self.opt("dsn") and _dsn_has_password(self.opt("dsn")):
                self.warn("the password in --dsn is visible in the process list and shell history; "
                          "use EMBEDSQL_PASSWORD instead")
            if spec.kind == "http" and spec.password is None:
                from dataclasses import replace

                pw = ""
                if sys.stdin.isatty():
                    pw = getpass.getpass(f"Password for {spec.display()}: ")
                spec = replace(spec, password=pw)
            self._session = sqlext.Session(spec, model=self.opt("model"))
            from .commands.ingest import migrate_up_command

            # a missing-table error's hint names `migrate up` with this run's --dsn, -c, --model ...
            self._session.migrate_up = migrate_up_command(self.args, self)
        return self._session

    def warn(self, text: str):
        """Print `warning: <text>` (yellow, markup escaped) on stderr."""
        from rich.markup import escape

        self.err.print(f"[yellow]warning:[/yellow] {escape(text)}")

    def close(self):
        """Close the session if one was opened."""
        if self._session is not None:
            self._session.close()


def _dsn_has_password(dsn: str) -> bool:
    from urllib.parse import urlsplit

    try:
        return urlsplit(dsn).password is not None
    except ValueError:
        return False


def cmd_query(args, ctx: Context) -> int:
    """`embedsql query`: run the SQL given as an argument or in -f FILE ('-': stdin) and print each
    result in --format; --explain prints what would be sent instead. Returns the exit code: 0, or
    1 when statements failed with --ignore-error. Raises UsageFailure for missing or unreadable
    SQL, and the first statement's error otherwise (its number and line named when there are
    several)."""
    from embed.errors import UserFacingError
    from sqlext.text.split import split_statements

    if args.file and args.sql is not None:
        raise UsageFailure(f"embedsql query: give the SQL as an argument or with -f {args.file}, not both")
    if args.file:
        try:
            text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageFailure(f"cannot read {args.file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageFailure(f"cannot read {args.file}: not UTF-8 text") from None
    elif args.sql is not None:
        text = args.sql
    else:
        raise UsageFailure("embedsql query: give the SQL as an argument or with -f FILE")
    statements = split_statements(text)
    if not statements:
        raise UsageFailure("embedsql query: no SQL statement given")
    s = ctx.session()
    if args.explain:
        for n, st in enumerate(statements, 1):
            p = s.explain(st)
            if len(statements) > 1:
                ctx.out.print(f"-- statement {n} (line {st.head_line})", markup=False, highlight=False)
            _print_explain(ctx, p)
        return EXIT_OK
    failed = 0
    from .interrupts import ctrl_c_for, only_reads

    running = [None]  # the statement being run: Ctrl-C exits at once when it only reads
    with ctrl_c_for(s, reading=lambda: only_reads(getattr(running[0], "kind", None))), s.unit_of_work():
        for n, st in enumerate(statements, 1):
            running[0] = st
            try:
                _run_statement(ctx, s, st, args)
            except UserFacingError as exc:
                if len(statements) > 1:  # say which one: the statements before it have run
                    exc.message = f"statement {n} of {len(statements)} (line {st.head_line}): {exc.message}"
                if not args.ignore_error:
                    raise
                failed += 1
                _print_error(str(exc))
    if failed:
        _print_error(f"{failed} of {len(statements)} statements failed")
        return EXIT_SERVER
    return EXIT_OK


def _run_statement(ctx: Context, s, st, args) -> None:
    """Run one statement of `embedsql query` and print what it returns: rows in --format, the
    server's bytes for a statement with its own FORMAT clause, a command's answer on stderr."""
    from .output import write_statement

    if st.kind.raw_output:
        # its own FORMAT (or INTO OUTFILE): the server's bytes as they are, like clickhouse-client
        sys.stdout.flush()
        out = sys.stdout.buffer
        with s.raw_stream(st) as chunks:
            for chunk in chunks:
                out.write(chunk)
            for w in chunks.stats.warnings:
                ctx.warn(w)
        out.flush()
        return
    if st.kind.returns_rows:  # rows: in the format asked for, as ClickHouse writes it
        sys.stdout.flush()
        write_statement(s, st, args.format, full_vectors=args.full_vectors, console=ctx.out, warn=ctx.warn)
        return
    r = s.execute(st)
    for w in r.stats.warnings:
        ctx.warn(w)
    if r.message and args.format == "table":
        ctx.err.print(f"[dim]{r.message}[/dim]", highlight=False)


def _print_explain(ctx: Context, p):
    from rich.markup import escape

    st = p.stats
    sys.stdout.write(p.stats.sent_sql.rstrip() + "\n\n")
    sys.stdout.flush()
    for k in getattr(p, "kinds", []):
        what = (f"its own FORMAT {k.format} (the server's bytes are printed as sent)" if k.format
                else "INTO OUTFILE (written by the statement)" if k.into_outfile
                else "returns rows" if k.returns_rows else "returns no rows")
        explained = f" of {k.explained}" if k.explained else ""
        ctx.out.print(f"-- statement: {k.name}{explained}, {what}", highlight=False, markup=False)
    for note in st.translations:
        ctx.out.print(f"-- translated: {escape(note)}", highlight=False)
    for w in st.warnings:
        ctx.out.print(f"-- warning: {escape(w)}", highlight=False)
    if st.embed_calls:
        ctx.out.print(f"-- embedding: {st.embed_calls} EMBED call(s), {st.embed_ms:.1f} ms, "
                      f"cache {st.cache_hits} hit(s) / {st.cache_misses} miss(es)", highlight=False)
        rt = ctx.session().embedder.runtime
        ctx.out.print(f"-- model: {escape(rt.describe())}", highlight=False)
        ctx.out.print(f"-- runtime: {escape(rt.choice_reason or rt.kind)}", highlight=False)
    else:
        ctx.out.print("-- embedding: no EMBED calls", highlight=False)
    if st.plan is not None:
        for line in st.plan.describe():  # one line each, whatever the width: scripts grep them
            ctx.out.print(f"-- {escape(line)}", highlight=False, soft_wrap=True)
    ctx.out.print("-- server: not run (--explain)" + (
        "; the planner's row count ran" if st.plan is not None and any(
            s.matching is not None for s in st.plan.searches) else ""), highlight=False)


def cmd_tui(args, ctx: Context) -> int:
    """`embedsql tui`: open the terminal UI (with --sql in the editor); returns its exit code.
    Raises UsageFailure when stdin or stdout is not a terminal, or when the UI cannot be
    imported."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageFailure("the terminal UI needs a terminal (stdin and stdout are not one); "
                           "for scripts use `embedsql query \"SQL\"` or `embedsql query -f FILE`")
    try:
        from .app import run_app
    except ImportError as exc:
        raise UsageFailure(f"the terminal UI is not available: {exc}") from None
    return run_app(ctx, initial_sql=getattr(args, "sql", None))


def main(argv: list[str] | None = None) -> int:
    """The `embedsql` command: parse `argv` (default sys.argv[1:]), run the command, return the exit
    code (0 ok, 1 a server or runtime error, 2 a usage error, 130 Ctrl-C). Every error is printed
    as one `error: ...` line with its hint; a traceback only with --debug."""
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    from .output import ReaderGone
    _quiet_libraries(debug)
    ctx = None
    from sqlext.db.engine import EMBEDDED

    saved_hook, saved_runtime = EMBEDDED.on_lock_wait, os.environ.get("EMBEDSQL_RUNTIME")
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if getattr(args, "runtime", None):  # read by embed.choice when the session's Embedder is built
            os.environ["EMBEDSQL_RUNTIME"] = args.runtime
        ctx = Context(args)
        cmd = args.command or "tui"
        if cmd != "tui":  # (stderr belongs to the TUI's screen there: a lock wait shows as "running…")
            _report_lock_waits()
        if cmd == "query":
            return cmd_query(args, ctx)
        if cmd == "tui":
            return cmd_tui(args, ctx)
        mod = importlib.import_module(PLUGINS[cmd])
        return mod.run(args, ctx)
    except KeyboardInterrupt as exc:  # a wait for the embedded database says whose it was
        from sqlext.errors import LockWaitInterrupted

        print(str(exc) if isinstance(exc, LockWaitInterrupted) else "interrupted", file=sys.stderr)
        return 130
    except (BrokenPipeError, ReaderGone):  # `embedsql query ... | head`: the reader has what it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # the one place errors become messages
        if debug:
            raise
        _name_model_origin(exc, ctx)
        code, msg = describe_error(exc)
        _print_error(msg)
        return code
    finally:
        if ctx is not None:
            ctx.close()
        # main() may run inside another program (tests, a notebook): leave no process-wide state
        EMBEDDED.on_lock_wait = saved_hook
        if saved_runtime is None:
            os.environ.pop("EMBEDSQL_RUNTIME", None)
        else:
            os.environ["EMBEDSQL_RUNTIME"] = saved_runtime


def _name_model_origin(exc: Exception, ctx: "Context | None") -> None:
    """A model that cannot be loaded, named by a setting the user may not have in mind
    (EMBEDSQL_MODEL, the config file, the default): add which, so they know what to change."""
    from embed.errors import ModelLoadError

    if not isinstance(exc, ModelLoadError) or ctx is None:
        return
    from sqlext.db.config import model_choice, resolve

    try:
        spec = ctx._session.spec if ctx._session is not None else resolve(
            ctx.opt("dsn"), connection=ctx.opt("connection"), dialect=ctx.opt("dialect"))
    except Exception:  # noqa: BLE001 - the origin is a detail; the error itself is what matters
        spec = None
    ref, origin = model_choice(ctx.opt("model"), spec)
    named = f"model {ref!r}"
    if origin != "--model" and named in exc.message and f"{named} (from " not in exc.message:
        exc.message = exc.message.replace(named, f"{named} (from {origin})", 1)


def _report_lock_waits():
    """Say on stderr when the embedded database is held by another process for more than a
    second (the wait itself lasts up to EMBEDSQL_LOCK_TIMEOUT)."""
    from sqlext.db.engine import EMBEDDED

    def say(message: str, info):
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    EMBEDDED.on_lock_wait = say


def _quiet_libraries(debug: bool):
    """Libraries log their own tracebacks and progress bars (clickhouse-connect, transformers).
    Our errors are reported once, by `describe_error`; their logs only show with --debug."""
    import logging
    import warnings

    if debug:
        logging.basicConfig(level=logging.DEBUG)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for name in ("clickhouse_connect", "transformers", "urllib3", "chdb", "huggingface_hub", "filelock"):
        lg = logging.getLogger(name)  # propagate=False: a later import may reset the level, not this
        lg.setLevel(logging.CRITICAL + 1)
        lg.propagate = False
        lg.addHandler(logging.NullHandler())
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore")


def describe_error(exc: BaseException) -> tuple[int, str]:
    """(exit code, message) for an exception reaching the top: UsageFailure -> 2, a UserFacingError
    -> its own code and text, SystemExit -> its code, anything else -> 1 with 'unexpected error'
    and a hint to rerun with --debug."""
    from embed.errors import UserFacingError

    if isinstance(exc, UsageFailure):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, UserFacingError):
        return exc.exit_code, str(exc)
    if isinstance(exc, SystemExit):
        return int(exc.code or 0), ""
    return EXIT_SERVER, (f"unexpected error: {type(exc).__name__}: {exc}\n"
                         "  hint: rerun with --debug for details and report it")


def _print_error(msg: str):
    if msg:
        sys.stderr.write("error: " + msg + "\n")


if __name__ == "__main__":
    sys.exit(main())
