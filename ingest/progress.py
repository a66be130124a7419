"""Progress display for ingestion: a rich progress bar on a terminal, plain log lines otherwise."""
from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO


class Progress(Protocol):
    def start(self, total: int | None, description: str) -> None: ...

    def update(self, done: int, ingested: int, failed: int, skipped: int) -> None: ...

    def finish(self) -> None: ...


class NoProgress:
    def start(self, total, description):
        pass

    def update(self, done, ingested, failed, skipped):
        pass

    def finish(self):
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
        self.total, self.desc = total, description
        self.t0 = self.last = time.monotonic()
        self._print(f"{description}: {total if total is not None else 'unknown number of'} inputs")

    def update(self, done, ingested, failed, skipped):
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
        self.t0 = time.monotonic()
        self._p.start()
        self._task = self._p.add_task(description, total=total, rate="", ok=0, bad=0, skip=0)

    def update(self, done, ingested, failed, skipped):
        el = max(time.monotonic() - self.t0, 1e-9)
        self._p.update(self._task, completed=done, rate=f"{(done - skipped) / el:.1f}/s",
                       ok=ingested, bad=failed, skip=skipped)

    def finish(self):
        self._p.stop()


def auto_progress(stream: TextIO | None = None, interval: float = 5.0, console=None) -> Progress:
    stream = stream or sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return RichProgress(console) if tty else LineProgress(stream, interval)
