"""Progress display for ingestion: a rich progress bar on a terminal, plain log lines otherwise."""
from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO


class Progress(Protocol):
    """What ingestion reports its progress to. `start` once, `update` after each batch, `finish`
    once at the end (also after an error or Ctrl-C)."""

    def start(self, total: int | None, description: str) -> None:
        """Ingestion begins: `total` inputs (None when the source cannot say), labelled
        `description`."""

    def update(self, done: int, ingested: int, failed: int, skipped: int) -> None:
        """Counts so far: `done` inputs handled, of which `ingested` inserted, `failed` failed and
        `skipped` already present."""

    def finish(self) -> None:
        """Ingestion ended; show the final counts and release the display."""


class NoProgress:
    """A `Progress` that shows nothing (library use, tests)."""

    def start(self, total, description):
        """Nothing: no progress is shown."""
        pass

    def update(self, done, ingested, failed, skipped):
        """Nothing: no progress is shown."""
        pass

    def finish(self):
        """Nothing: no progress is shown."""
        pass


class LineProgress:
    """`ingest: 1200/25000 done, 1180 ingested, 20 failed, 0 already present, 35.1/s, ETA 11m` every
    `interval` seconds (0: on every update)."""

    def __init__(self, stream: TextIO | None = None, interval: float = 5.0):
        self.stream = stream or sys.stderr
        self.interval = interval
        self.total = None
        self.t0 = self.last = 0.0
        self.state = (0, 0, 0, 0)

    def start(self, total, description):
        """Print `<description>: <total> inputs` and start the clock the rate and ETA are measured
        on."""
        self.total, self.desc = total, description
        self.t0 = self.last = time.monotonic()
        self._print(f"{description}: {total if total is not None else 'unknown number of'} inputs")

    def update(self, done, ingested, failed, skipped):
        """Keep the counts; print a progress line when `interval` seconds have passed since the last
        one."""
        self.state = (done, ingested, failed, skipped)
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._line()

    def _line(self):
        if self.state == getattr(self, "_printed", None):
            return
        self._printed = self.state
        done, ingested, failed, skipped = self.state
        el = max(time.monotonic() - self.t0, 1e-9)
        rate = (done - skipped) / el
        of = f"/{self.total}" if self.total is not None else ""
        eta = ""
        if self.total is not None and rate > 0:
            eta = f", ETA {_fmt_s((self.total - done) / rate)}"
        self._print(f"{self.desc}: {done}{of} done, {ingested} ingested, {failed} failed, "
                    f"{skipped} already present, {rate:.1f}/s{eta}")

    def finish(self):
        """Print the final counts (unless the last line already showed them)."""
        self._line()

    def _print(self, text):
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass


def _fmt_s(s: float) -> str:
    s = int(s)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


class RichProgress:
    """A rich progress bar: items/s, ETA, counts of ingested / failed / already present."""

    def __init__(self, console=None):
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RP, TaskProgressColumn,
                                   TextColumn, TimeElapsedColumn, TimeRemainingColumn)

        self._p = RP(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                     TaskProgressColumn(), TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                     TextColumn("ETA"), TimeRemainingColumn(),
                     TextColumn("[green]{task.fields[ok]} ok[/] [red]{task.fields[bad]} failed[/] "
                                "[dim]{task.fields[skip]} present[/]"),
                     console=console, transient=False)
        self._task = None
        self.t0 = 0.0

    def start(self, total, description):
        """Show the bar for `total` inputs (None: no bound) labelled `description`; starts the rate
        clock."""
        self.t0 = time.monotonic()
        self._p.start()
        self._task = self._p.add_task(description, total=total, rate="", ok=0, bad=0, skip=0)

    def update(self, done, ingested, failed, skipped):
        """Move the bar to `done` and show the rate (inputs per second, those already present
        excluded) and the counts."""
        el = max(time.monotonic() - self.t0, 1e-9)
        self._p.update(self._task, completed=done, rate=f"{(done - skipped) / el:.1f}/s",
                       ok=ingested, bad=failed, skip=skipped)

    def finish(self):
        """Stop the bar, leaving its last state on the terminal."""
        self._p.stop()


def auto_progress(stream: TextIO | None = None, interval: float = 5.0, console=None) -> Progress:
    """A rich progress bar when `stream` (default stderr) is a terminal, else `LineProgress` writing
    a line to it every `interval` seconds. `console`: the rich Console to draw on."""
    stream = stream or sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return RichProgress(console) if tty else LineProgress(stream, interval)
