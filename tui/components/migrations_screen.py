"""F4: migrations through the runner (migrations.Runner): status, plan (the exact SQL of what is
pending), apply (`up`, progress streamed into the log). Built-in set plus an optional directory."""
from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, RichLog, Static

from ..errors import error_text

STATE_STYLE = {"applied": "green", "pending": "yellow", "failed": "red", "interrupted": "red",
               "revert_failed": "red", "running": "cyan", "reverting": "cyan", "reverted": "dim"}


class MigrationsScreen(ModalScreen[bool]):
    """The modal migrations screen on `session`: status, plan and apply (up) of the built-in
    migrations plus an optional directory, run in a worker; dismissed with True when something
    was applied (the catalog is then reread)."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("s", "status", "Status"),
        Binding("p", "plan", "Plan"),
        Binding("a", "apply", "Apply"),
    ]

    def __init__(self, session) -> None:
        super().__init__()
        self.session = session
        self.changed = False
        self.busy = False
        self.statuses = []

    def compose(self) -> ComposeResult:
        with Vertical(id="migrations-box", classes="dialog"):
            yield Static("[b]Migrations[/b]  s: status  p: plan  a: apply (up), asks first  escape: close  "
                         "(enter in the directory field: status)", id="migrations-title")
            yield Input(placeholder="extra migrations directory (optional; the built-in set is always included)",
                        id="migrations-dir")
            with Horizontal(id="migrations-buttons"):
                yield Button("Status", id="mig-status")
                yield Button("Plan", id="mig-plan")
                yield Button("Apply", id="mig-apply", variant="warning")
            yield DataTable(id="migrations-table", cursor_type="row")
            yield RichLog(id="migrations-output", wrap=True, markup=True, highlight=False)

    def on_mount(self) -> None:
        t = self.query_one("#migrations-table", DataTable)
        t.add_columns("migration", "state", "note")
        t.styles.height = 8
        self.query_one("#migrations-table").focus()
        self.action_status()

    @property
    def log_widget(self) -> RichLog:
        """The log pane the screen writes plans and progress to."""
        return self.query_one("#migrations-output", RichLog)

    def _dirs(self) -> list[Path]:
        text = self.query_one("#migrations-dir", Input).value.strip()
        return [Path(text).expanduser()] if text else []

    def _runner(self, on_event=None):
        import migrations

        # the built-in files are filled in for the model this session embeds with, as `migrate up` does
        migs = migrations.load(self._dirs(), builtin=True, model=self.session.embedder.identity)
        return migrations.Runner(self.session, migs, on_event=on_event), migs

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the directory field: the status with that directory."""
        self.action_status()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        {"mig-status": self.action_status, "mig-plan": self.action_plan,
         "mig-apply": self.action_apply}[event.button.id]()

    def _start(self, what: str) -> bool:
        if self.busy:
            self.app.notify("migrations: wait for the running step to finish", severity="warning")
            return False
        self.busy = True
        self.log_widget.write(f"[b]{what}…[/b]")
        return True

    def _on_ui(self, fn, *args) -> None:
        """From a worker thread: run fn on the UI thread, unless the screen has been closed."""
        def safe():
            if self.is_attached:
                fn(*args)

        try:
            self.app.call_from_thread(safe)
        except RuntimeError:
            pass  # the app has exited

    def _emit(self, text: str) -> None:
        self._on_ui(lambda: self.log_widget.write(text))

    def _finish(self, fn, *args) -> None:
        def run():
            self.busy = False
            fn(*args)

        self._on_ui(run)

    # -- status --------------------------------------------------------------------------------
    def action_status(self) -> None:
        if self._start("status"):
            self._status_worker(self._show_status)

    @work(thread=True, group="migrations")
    def _status_worker(self, then) -> None:
        """Read the status (with the directory as typed), then `then(statuses)` on the UI thread."""
        try:
            runner, _ = self._runner()
            statuses = runner.status()
        except Exception as exc:
            self._finish(self._failed, exc)
            return
        self._finish(then, statuses)

    def _show_status(self, statuses) -> None:
        self.statuses = statuses
        t = self.query_one("#migrations-table", DataTable)
        t.clear()
        for s in statuses:
            style = STATE_STYLE.get(s.state, "")
            state = f"[{style}]{s.state}[/{style}]" if style else s.state
            if s.changed:
                state += " [red](changed)[/red]"
            t.add_row(s.label, state, escape(s.note or ""))
        pending = sum(1 for s in statuses if s.state != "applied")
        self.log_widget.write(f"{len(statuses)} migration(s), {pending} not applied")

    # -- plan ------------------------------------------------------------------------------------
    def action_plan(self) -> None:
        if self._start("plan (pending migrations, the exact SQL; nothing is run)"):
            self._plan_worker()

    @work(thread=True, group="migrations")
    def _plan_worker(self) -> None:
        try:
            import migrations

            from migrations.runner import Runner, resumed
            from tui.commands.migrate import format_plan

            runner, migs = self._runner()
            # what `up` runs, as `embedsql migrate plan` shows it: a failed migration from the
            # statement it resumes at
            pending, starts = resumed(Runner._up_targets(runner.status(), None), "up")
            _state, steps = migrations.plan(pending, self.session.dialect, catalog=self.session.catalog,
                                            include_state=False, starts=starts, learn_from=migs)
            text = format_plan(self.session.dialect, f"pending on {self.session.describe()}", [], steps)
        except Exception as exc:
            self._finish(self._failed, exc)
            return
        self._finish(self._show_plan, pending, text)

    def _show_plan(self, pending, text: str) -> None:
        log = self.log_widget
        if not pending:
            log.write("nothing to apply: the database is up to date")
            return
        for line in text.splitlines()[1:]:  # (the header: the screen's own title says it)
            if line.startswith("-- warning:"):
                log.write(f"[yellow]{escape(line)}[/yellow]")
            elif line.startswith("-- "):
                log.write(f"[dim]{escape(line)}[/dim]")
            elif line:
                log.write(escape(line))

    # -- apply -----------------------------------------------------------------------------------
    def action_apply(self) -> None:
        """`a` / Apply: read what `up` would apply now (with the directory as typed), ask to
        confirm it (one stray key must not change the database), then apply it."""
        if self._start("apply (migrate up): what is pending"):
            self._status_worker(self._confirm_apply)

    def _confirm_apply(self, statuses) -> None:
        from .prompt_screen import ConfirmScreen

        self._show_status(statuses)
        pending = [s for s in statuses if s.state != "applied"]
        if not pending:
            self.log_widget.write("nothing to apply: the database is up to date")
            return
        names = "\n".join(f"  {escape(s.label)} ({s.state})" for s in pending)

        def answered(yes: bool | None) -> None:
            if not yes:
                self.log_widget.write("apply cancelled: nothing was run")
            elif self._start("apply (migrate up)"):
                self._apply_worker()

        self.app.push_screen(ConfirmScreen(
            f"[b]Apply {len(pending)} migration(s) to {escape(self.session.describe())}?[/b]\n{names}",
            id="confirm-apply"), answered)

    @work(thread=True, group="migrations")
    def _apply_worker(self) -> None:
        def on_event(kind: str, text: str) -> None:
            color = {"warn": "yellow", "done": "green", "wait": "cyan"}.get(kind)
            self._emit(f"[{color}]{escape(text)}[/{color}]" if color else escape(text))

        try:
            runner, _ = self._runner(on_event)
            report = runner.up()
            statuses = runner.status()
        except Exception as exc:
            self.changed = True
            self._finish(self._failed, exc)
            self._refresh_after()
            return
        self.changed = self.changed or bool(report.applied)
        self._finish(self._applied, report, statuses)

    def _refresh_after(self) -> None:
        self._on_ui(self.action_status)

    def _applied(self, report, statuses) -> None:
        for w in report.warnings:
            self.log_widget.write(f"[yellow]warning: {escape(w)}[/yellow]")
        self.log_widget.write(f"[green]applied {len(report.applied)} migration(s)[/green]")
        self._show_status(statuses)

    def _failed(self, exc: BaseException) -> None:
        msg = error_text(exc)
        self.log_widget.write(f"[red]error:[/red] {escape(msg)}")
        self.app.notify(msg.splitlines()[0][:300], title="migrations", severity="error")

    def action_close(self) -> None:
        self.dismiss(self.changed)
