"""`embedsql migrate`: status | up | down | plan | new. See the `migrations` package docstring."""
from __future__ import annotations

from pathlib import Path

ACTIONS = ("status", "up", "down", "plan", "new")
LOCK_TIMEOUT_DEFAULT = 30.0  # seconds: `up` / `down` without --lock-timeout



def _version(text: str) -> int:
    """A migration version for --to: an integer, 0 or more (argparse's error otherwise)."""
    import argparse

    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a migration version (an integer, 0 or more)") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"{v} is not a migration version: V must be 0 or more")
    return v

def add_parser(sub, common):
    """Add `embedsql migrate` (status | up | down | plan | new, with --dir, --cluster, ...) to the
    subparsers `sub`."""
    p = sub.add_parser(
        "migrate", parents=[common],
        help="create and evolve the vector tables: status, up, down, plan, new",
        description="Versioned schema migrations (built-in photo-search schema plus your own with --dir).",
    )
    msub = p.add_subparsers(dest="migrate_action", parser_class=type(p))

    def files_opts(q):
        q.add_argument("--dir", action="append", default=[], metavar="DIR",
                       help="a directory of your own migration files (repeatable); added to the built-in set")
        q.add_argument("--no-builtin", action="store_true", help="leave out the built-in photo-search migrations")

    def run_opts(q):
        q.add_argument("--cluster", metavar="NAME",
                       help="render for a ClickHouse cluster: ON CLUSTER, Replicated*MergeTree, Distributed tables")
        q.add_argument("--lock-timeout", type=float, default=None, metavar="S",
                       help=f"seconds to wait for another run's lock, and for the embedded database "
                            f"held by another process (default {LOCK_TIMEOUT_DEFAULT:g})")
        q.add_argument("--lock-ttl", type=float, default=60.0, metavar="S",
                       help="seconds a run's lock lives without renewal (default 60); it is renewed between "
                            "statements, so raise it above your longest single statement")
        q.add_argument("--allow-changed", action="store_true",
                       help="accept edits to applied migration files")

    q = msub.add_parser("status", parents=[common], help="list migrations and their state")
    files_opts(q)
    q.add_argument("--cluster", metavar="NAME",
                   help="the cluster a --cluster run migrated: its state is read under quorum, as that run wrote it")
    q = msub.add_parser("up", parents=[common], help="apply pending migrations (resumes a failed one)")
    files_opts(q)
    run_opts(q)
    q.add_argument("--to", type=int, metavar="V", help="apply up to and including version V")
    q.add_argument("--index-timeout", type=float, default=600.0, metavar="S",
                   help="seconds to wait for vector index builds (default 600)")
    q.add_argument("--no-wait", action="store_true", help="do not wait for vector index builds")
    q = msub.add_parser("down", parents=[common],
                        help="revert the latest applied migration (or all above --to V; --to 0 reverts all)")
    files_opts(q)
    run_opts(q)
    q.add_argument("--to", type=int, metavar="V", help="revert every migration above version V")
    q.add_argument("-y", "--yes", action="store_true",
                   help="revert without asking, even when a down part drops tables or columns "
                        "(without a terminal, such a revert needs it)")
    q = msub.add_parser("plan", parents=[common],
                        help="print the exact SQL per statement that `up` (or `down`) would run with the "
                             "same options; runs nothing (with --dialect: no database needed)",
                        description="Print, per statement, exactly what `migrate up` would run with the same "
                                    "options (with --down: what `migrate down` would run), nothing run. A failed "
                                    "or interrupted migration is shown from the statement the run resumes at. "
                                    "With --dialect no database is consulted: up plans every migration from an "
                                    "empty database, down plans from one where every migration is applied.")
    files_opts(q)
    q.add_argument("--cluster", metavar="NAME", help="render for a ClickHouse cluster")
    q.add_argument("--down", action="store_true",
                   help="show what `migrate down` would revert with the same --to: without --to the latest "
                        "applied migration only; --to V every one above V (--to 0: all)")
    q.add_argument("--to", type=_version, metavar="V",
                   help="as for up and down: up: versions up to V; down: versions above V")
    q.add_argument("--allow-changed", action="store_true",
                   help="plan as `up --allow-changed` / `down --allow-changed` would run: edits to applied files accepted")
    q = msub.add_parser("new", parents=[common], help="create the next-numbered migration file from a template")
    q.add_argument("name", help="what it does, e.g. add_tags")
    q.add_argument("--dir", action="append", default=[], metavar="DIR", required=True,
                   help="the directory of your migrations")
    q.add_argument("--no-builtin", action="store_true", help="number from 1 instead of after the built-in set")
    return p


def model_identity(ctx, spec=None):
    """(model reference, its embed.identity.ModelIdentity) for the configured model: --model,
    EMBEDSQL_MODEL, the config file, the default. Reads the model's files; loads nothing."""
    from embed.identity import identify
    from sqlext.db.config import model_setting

    ref = model_setting(ctx.opt("model"), spec if spec is not None else ctx.session().spec)
    return ref, identify(ref)


def _load(args, ctx, spec=None):
    from migrations.files import load

    model = model_identity(ctx, spec)[1] if not args.no_builtin else None
    return load([Path(d) for d in args.dir], builtin=not args.no_builtin, model=model)


def run(args, ctx) -> int:
    """`embedsql migrate ACTION`: run the action and print what it did. Returns the exit code;
    raises UsageFailure when no action is chosen, and the runner's errors (MigrationError,
    LockTimeout, ...) propagate to `main`."""
    from ..errors import UsageFailure

    action = getattr(args, "migrate_action", None)
    if action is None:
        raise UsageFailure("embedsql migrate: choose one of " + ", ".join(ACTIONS)
                           + " (e.g. `embedsql migrate up`)")
    return {"status": _status, "up": _up, "down": _down, "plan": _plan, "new": _new}[action](args, ctx)


def _printer(ctx):
    from rich.markup import escape

    styles = {"info": "bold", "step": "dim", "wait": "cyan", "warn": "yellow", "done": "green"}

    def on_event(kind, text):
        if kind == "warn":
            ctx.warn(text)
        else:
            ctx.err.print(f"[{styles.get(kind, '')}]{escape(text)}[/]", highlight=False)
    return on_event


def hint_options(args, ctx) -> list[str]:
    """The options of this run that say which files and database it acts on, as words for a
    command line: what a hint must repeat so the command it suggests acts on the same ones. A
    password in --dsn is left out (it is asked for, or read from EMBEDSQL_PASSWORD)."""
    out: list[str] = []
    for d in getattr(args, "dir", None) or []:
        out += ["--dir", d]
    if getattr(args, "no_builtin", False):
        out.append("--no-builtin")
    dsn = ctx.opt("dsn")
    if dsn:
        out += ["--dsn", _without_password(dsn)]
    for name, flag in (("connection", "-c"), ("dialect", "--dialect"), ("model", "--model"),
                       ("runtime", "--runtime")):
        if ctx.opt(name):
            out += [flag, ctx.opt(name)]
    if getattr(args, "cluster", None):
        out += ["--cluster", args.cluster]
    return out


def _without_password(dsn: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(dsn)
        if parts.password is None:
            return dsn
        host = parts.hostname or ""
        netloc = f"{parts.username}@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return dsn


def run_lock_timeout(args):
    """How long `up` / `down` wait for another run's lock and for the embedded database held by
    another process (seconds): --lock-timeout S, or its default, 30; other actions (no such
    option): EMBEDSQL_LOCK_TIMEOUT, as every other command. A `EngineWaitTimeout`, so the wait's
    messages name what set it."""
    from sqlext.db.engine import EngineWaitTimeout, lock_timeout

    if not hasattr(args, "lock_timeout"):
        return lock_timeout()
    if args.lock_timeout is None:
        return EngineWaitTimeout(LOCK_TIMEOUT_DEFAULT, "--lock-timeout", default=True)
    return EngineWaitTimeout(args.lock_timeout, "--lock-timeout")


def _runner(args, ctx, migrations):
    from migrations.runner import Runner

    return Runner(ctx.session(), migrations, cluster=getattr(args, "cluster", None), on_event=_printer(ctx),
                  lock_timeout=run_lock_timeout(args), lock_ttl=getattr(args, "lock_ttl", 60.0),
                  index_timeout=getattr(args, "index_timeout", 600.0),
                  wait_index=not getattr(args, "no_wait", False), options=hint_options(args, ctx))


def _status(args, ctx) -> int:
    from rich.table import Table

    from ..interrupts import ctrl_c_for

    migrations = _load(args, ctx)
    r = _runner(args, ctx, migrations)
    # Ctrl-C as in `embedsql query`: a wait for the embedded database ends at once; a statement
    # running in the engine finishes first (a second Ctrl-C exits)
    with ctrl_c_for(ctx.session()):
        statuses = r.status()
    t = Table(title=f"migrations on {ctx.session().describe()}", title_justify="left")
    for col in ("version", "name", "state", "applied at", "ms", "note"):
        t.add_column(col, overflow="fold")
    from rich.text import Text

    colours = {"applied": "green", "pending": "yellow", "failed": "red", "interrupted": "red",
               "revert_failed": "red", "running": "cyan", "reverting": "cyan", "reverted": "dim"}
    for s in statuses:
        state = s.state + (" (changed)" if s.changed else "")
        row = s.row
        when = str(row.applied_at)[:19] if row is not None and s.state != "pending" else ""
        ms = str(row.duration_ms) if row is not None and s.state == "applied" else ""
        # names and notes (server errors) are text, never markup
        t.add_row(f"{s.version:04d}", Text(s.name), Text(state, style=colours.get(s.state, "")), when, ms,
                  Text(s.note or ""))
    ctx.out.print(t)
    pending = sum(s.state == "pending" for s in statuses)
    reverted = sum(s.state == "reverted" for s in statuses)
    bad = [s for s in statuses if s.state in ("failed", "interrupted", "revert_failed") or s.changed]
    ctx.out.print(f"{len(statuses) - pending - reverted} applied or started, {pending} pending"
                  + (f", {reverted} reverted (file not in this set)" if reverted else "")
                  + (f", {len(bad)} need attention" if bad else ""), highlight=False)
    return 1 if bad else 0


def _finish(ctx, report) -> int:
    for w in report.warnings:
        if "(ignored" not in w:
            ctx.warn(w)
    return 0


def check_model(args, ctx) -> None:
    """Refuse (ModelMismatch) when the built-in table exists for another model than the configured one."""
    if getattr(args, "no_builtin", False):
        return
    from migrations.model import check_table

    ref, ident = model_identity(ctx)
    # the first touch of the database in `up`: its wait for an engine another process holds is
    # bounded by --lock-timeout, as the run's (it waited EMBEDSQL_LOCK_TIMEOUT's 10 s)
    with ctx.session().unit_of_work(timeout=run_lock_timeout(args)):
        check_table(ctx.session(), ident, model_ref=ref)


# the first Ctrl-C during `migrate up/down` (the second exits at once: tui.interrupts)
MIGRATE_STOP_NOTICE = ("interrupted: the running statement finishes and its progress is recorded; no further "
               "statement or migration starts, and the migration lock is released (a wait for the "
               "migration lock ends at once). `embedsql migrate status` then shows where it stopped "
               "and the same command resumes there. Press Ctrl-C again to exit now (the statement "
               "running is abandoned and the run shows as interrupted; a killed run's lock expires "
               "after --lock-ttl).")


def _run_stoppable(ctx, runner, work):
    """Run `work()` (the runner's up or down) under a two-stage Ctrl-C: the first sets
    `runner.stop`, which the runner honours between statements (MigrationInterrupted: printed
    here, and None is returned: exit 130); the second exits at once."""
    import threading

    from migrations.runner import MigrationInterrupted

    from ..interrupts import two_stage_ctrl_c

    runner.stop = threading.Event()
    try:
        with two_stage_ctrl_c(MIGRATE_STOP_NOTICE, stop=runner.stop):
            return work()
    except MigrationInterrupted as exc:  # where it stopped and how to resume; not an error
        ctx.err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        return None


def _up(args, ctx) -> int:
    migrations = _load(args, ctx)
    check_model(args, ctx)
    runner = _runner(args, ctx, migrations)
    report = _run_stoppable(ctx, runner, lambda: runner.up(args.to, allow_changed=args.allow_changed))
    return 130 if report is None else _finish(ctx, report)


def _down(args, ctx) -> int:
    migrations = _load(args, ctx)
    runner = _runner(args, ctx, migrations)
    expect = None
    if not args.yes:
        targets = runner.down_targets(args.to)
        if not _confirm_losses(args, ctx, runner, targets):
            ctx.err.print("nothing reverted", highlight=False)
            return 1
        expect = [s.label for s in targets]
    report = _run_stoppable(ctx, runner,
                            lambda: runner.down(args.to, allow_changed=args.allow_changed, expect=expect))
    return 130 if report is None else _finish(ctx, report)


def _confirm_losses(args, ctx, runner, targets) -> bool:
    """Ask before a revert whose down parts drop tables or columns: on a terminal, a y/N question;
    without one, refuse (UsageFailure) and say to add --yes. True when there is nothing to ask."""
    import sys

    from migrations.runner import data_losses
    from ..errors import UsageFailure

    losses = [f"{s.label} {what}" for s in reversed(targets) if s.migration is not None
              for what in data_losses(s.migration)]
    if not losses:
        return True
    listing = "; ".join(losses)
    if not sys.stdin.isatty():
        raise UsageFailure(
            f"this revert deletes data ({listing}) and there is no terminal to confirm it on\n"
            f"  hint: check {runner.how('status')}; to revert anyway, run {runner.how('down', *_down_extra(args), '--yes')}")
    ctx.err.print("this revert deletes data:", highlight=False)
    for line in losses:
        ctx.err.print(f"  {line}", markup=False, highlight=False)
    try:
        answer = input("revert? [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def _down_extra(args) -> list[str]:
    out = []
    if args.to is not None:
        out += ["--to", str(args.to)]
    if args.allow_changed:
        out.append("--allow-changed")
    return out


def _plan(args, ctx) -> int:
    """`migrate plan`: what `up` (or with --down, `down`) would run with the same options, per
    statement, nothing run. With --dialect no database is consulted: up plans every migration
    from an empty database; down plans from a database where every migration is applied."""
    from migrations.runner import Runner, plan, resumed, reverts_best_effort
    from sqlext.db.config import resolve

    dialect = ctx.opt("dialect")
    direction = "down" if args.down else "up"
    catalog = None
    starts: dict[int, tuple[int, int]] = {}
    remarks: dict[int, list[str]] = {}
    notices: list[str] = []
    spec = resolve(ctx.opt("dsn"), connection=ctx.opt("connection"), dialect=dialect) if dialect else None
    migrations = _load(args, ctx, spec)
    statuses = []
    if dialect:   # offline: from an empty database (up), or from one with everything applied (down)
        database = spec.database if spec.kind == "http" else "default"
        if args.down:
            chosen = migrations[-1:] if args.to is None else [m for m in migrations if m.version > args.to]
            header = "no database consulted; as if every migration were applied"
        else:
            chosen = [m for m in migrations if args.to is None or m.version <= args.to]
            header = "no database consulted; all migrations"
    else:         # ask the database: exactly what `up` / `down` would do now
        session = ctx.session()
        runner = Runner(session, migrations, options=hint_options(args, ctx))
        statuses = runner.status()
        dialect = session.dialect
        database = session.database
        catalog = session.catalog
        targets = (Runner._down_targets(statuses, args.to) if args.down
                   else Runner._up_targets(statuses, args.to))
        notices = _plan_refusals(args, runner, statuses, targets)
        chosen, starts = resumed(targets, direction)
        for s in targets:
            if s.migration is None:
                continue
            if args.down and reverts_best_effort(s):
                remarks.setdefault(s.version, []).append(
                    f"partly applied ({s.state}): `down` runs its whole down part and ignores errors")
            if not args.down and starts.get(s.version, (0, 0))[0] >= len(s.migration.up):
                notices.append(f"{s.label}: all {len(s.migration.up)} statements ran before; `up` only waits "
                               f"for its vector index and records it as applied")
        header = (f"what `down` reverts on {session.describe()}" if args.down
                  else f"pending on {session.describe()}")
    model = next((m.model for m in migrations if m.model is not None), None)
    applied_for = next((s.for_model for s in statuses if s.for_model is not None), None)
    if applied_for is not None:   # the database's built-in migrations are another model's
        header += (f"; built-in migrations applied for model {applied_for.describe()} "
                   f"(this run's model: {model.describe()})")
    elif model is not None:
        header += f"; built-in migrations for model {model.describe()}"
    state_sql, steps = plan(chosen, dialect, direction=direction, cluster=args.cluster, database=database,
                            catalog=catalog, starts=starts, learn_from=migrations)
    print_plan(ctx.out, dialect, header, state_sql, steps, cluster=args.cluster, direction=direction,
               remarks=remarks, notices=notices)
    return 0


def _plan_refusals(args, runner, statuses, targets) -> list[str]:
    """Why `up` / `down` with these options would refuse to run the plan (the runner's checks, in
    words), for the plan's notes; [] when they would run it."""
    out = []
    if args.down:
        for s in reversed(targets):
            if s.migration is None:
                out.append(f"`down` refuses: {s.label}'s file is missing (its down part is needed)")
            elif s.migration.down is None:
                out.append(f"`down` refuses: {s.label} has no '-- +down' part")
            elif s.changed and not args.allow_changed:
                out.append(f"`down` refuses: {s.label} changed since it was applied "
                           f"(restore it, or run {runner.how('down', '--allow-changed')})")
        return out
    changed = [s.label for s in statuses if s.changed and (args.to is None or s.version <= args.to)]
    if changed and args.allow_changed:
        out.append(f"`up --allow-changed` records the edits to {', '.join(changed)} (their statements are not rerun)")
    elif changed:
        out.append(f"`up` refuses: {', '.join(changed)} changed since applied (restore the file(s), "
                   f"or run {runner.how('up', '--allow-changed')})")
    broken = [s.label for s in statuses if s.state == "revert_failed"]
    if broken:
        out.append(f"`up` refuses: {broken[0]} is half reverted ({runner.how('down')} finishes it)")
    other = next((s for s in statuses if s.for_model is not None), None)
    if other is not None and any(s.migration is not None and s.migration.model is not None for s in targets):
        out.append(f"`up` refuses: {other.label} was applied for model {other.for_model.describe()} "
                   f"({runner.how('status')} says what to do)")
    return out


def _ran_before(k: int, part: int) -> str:
    """'1-2 ran before' for a resume at statement k (1-based), part `part` (0-based) of it."""
    done = "1" if k == 2 else f"1-{k - 1}"
    said = f"statement{'s' * (k > 2)} {done}" if k > 1 else ""
    if part:
        said += (" and " if said else "") + f"part{'s' * (part > 1)} 1{f'-{part}' if part > 1 else ''} of statement {k}"
    return said + " ran before"


def format_plan(dialect, header, state_sql, steps, *, cluster=None, direction="up", remarks=None,
                notices=None) -> str:
    """The text `migrate plan` prints: a header (direction, dialect, cluster), `notices` (why the
    run would refuse, ...) as comments, the state and lock tables' DDL (up only), then each
    PlannedStep under its migration with its line, translations and warnings as comments,
    statements ending in ';'. A migration that resumes says where, and what ran before;
    `remarks` (version -> lines) are comments under a migration's heading."""
    lines = [f"-- embedsql migrate plan ({direction}): dialect {dialect}"
             + (f", cluster {cluster}" if cluster else "") + f"; {header}"]
    for n in notices or []:
        lines.append(f"-- note: {n}")
    if state_sql and direction == "up":
        lines.append("")
        lines.append("-- state and lock tables (created if missing)")
        lines += [s + ";" for s in state_sql]
    current = None
    for st in steps:
        if st.migration is not current:
            current = st.migration
            part = current.steps(direction)
            lines.append("")
            lines.append(f"-- {current.label} ({direction}): {len(part)} statement"
                         f"{'s' * (len(part) != 1)} from {current.path.name}")
            if st.index or st.part:
                what = "resuming" if direction == "up" else "resuming the revert"
                lines.append(f"-- {what} at statement {st.index + 1} of {len(part)}: "
                             + _ran_before(st.index + 1, st.part))
            for r in (remarks or {}).get(current.version, []):
                lines.append(f"-- {r}")
        lines.append(f"-- statement {st.index + 1} (line {st.line})"
                     + (f", from part {st.part + 1}" if st.part else ""))
        for n in st.notes:
            lines.append(f"-- translated: {n}")
        for w in st.warnings:
            lines.append(f"-- warning: {w}")
        lines += [s + ";" for s in st.sql]
    if not steps:
        lines.append("")
        lines.append("-- nothing to do")
    return "\n".join(lines) + "\n"


def print_plan(console, *a, **kw):
    """Print `format_plan(*a, **kw)` on the rich `console` as plain text (no markup, no wrapping)."""
    console.print(format_plan(*a, **kw), markup=False, highlight=False, end="", soft_wrap=True)


def _new(args, ctx) -> int:
    from migrations.files import load, new_file

    target = Path(args.dir[0])
    # the built-in set; the files in `target` count by their names only (new_file)
    path = new_file(target, args.name, load([], builtin=not args.no_builtin))
    ctx.out.print(str(path), markup=False, highlight=False, soft_wrap=True)
    return 0
