"""What an ingestion run did, and the failure report file (TSV: input, reason)."""
from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class IngestReport:
    """Counts of one run. `failures`: (input, reason) for every input that could not be ingested."""

    ingested: int = 0
    skipped_existing: int = 0  # already in the table
    skipped: int = 0  # files of a folder that are not images (listed in `failures` with the reason)
    repeated: int = 0  # inputs with the key of an earlier input of this run (listed in `failures`)
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    inputs: int = 0  # inputs read from the source
    report_path: Path | None = None  # where the failures were written, if anywhere
    interrupted: bool = False

    @property
    def rate(self) -> float:
        """Rows ingested per second of the run (0.0 before any time has passed)."""
        return self.ingested / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        """False when there was something to ingest and nothing was ingested."""
        return self.ingested > 0 or self.inputs - self.skipped_existing - self.skipped - self.repeated <= 0

    def summary(self) -> str:
        """One line: `ingested N, already present N[, skipped N (not images)], failed N in S s (R rows/s)`."""
        skipped = f", skipped {self.skipped} (not images)" if self.skipped else ""
        repeated = f", repeated {self.repeated} (the key of an earlier input)" if self.repeated else ""
        text = (f"ingested {self.ingested}, already present {self.skipped_existing}{skipped}{repeated}, "
                f"failed {self.failed} in {self.seconds:.1f} s ({self.rate:.1f} rows/s)")
        if (self.failed or self.skipped or self.repeated) and self.report_path is not None:
            text += f"; failures and skipped files listed in {self.report_path}"
        return text


def default_report_path() -> Path:
    """Where a run's failure report goes when no --report is given: the data directory's
    `ingest-reports/ingest-failures-<date>-<time>-<pid>.tsv` (the data directory is
    EMBEDSQL_DATA_DIR, else the platform's user data directory; see sqlext.db.paths). Nothing is
    created here: the file appears on the first failure."""
    from sqlext.db.paths import data_dir

    return data_dir() / "ingest-reports" / f"ingest-failures-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.tsv"


def _clean(text: str) -> str:
    return str(text).replace("\t", " ").replace("\r", " ").replace("\n", " ")


def check_report_path(path: str | os.PathLike) -> Path:
    """`path` as a Path, once it is known that a report file can be created there (nothing is
    created now). Raises UsageError, naming the path and why, when it is a folder, when a part
    of it is a file rather than a folder, or when it (or the folder it would go in) is not
    writable."""
    from sqlext.errors import UsageError

    p = Path(path).expanduser()
    where = f"cannot write the failure report to {path}"
    hint = "give --report a file path in a writable folder, e.g. --report failures.tsv"
    if p.is_dir() or str(path).endswith(("/", os.sep)):
        raise UsageError(f"{where}: it is a folder, not a file",
                         hint=f"name a file in it, e.g. --report {p / 'failures.tsv'}")
    if p.exists():
        if not os.access(p, os.W_OK):
            raise UsageError(f"{where}: the file is not writable", hint=hint)
        return p
    parent = p.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{where}: {parent} is a file, not a folder", hint=hint)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{where}: the folder {parent} is not writable", hint=hint)
    return p


class FailureLog:
    """Collects failures in the report and appends them to a TSV file as they happen (created on the
    first failure, so a clean run leaves no file; flushed per line, so a crash keeps what was seen).
    The path is checked when the log is made (UsageError: see `check_report_path`); a file that
    cannot be written later on costs no rows: a warning goes to stderr, and the failures stay in
    the report."""

    def __init__(self, report: IngestReport, path: str | os.PathLike | None):
        self.report = report
        self.path = check_report_path(path) if path else None
        self._fh = None
        self._lock = threading.Lock()

    def add(self, input_value: str, reason: str, *, skipped: bool = False, repeated: bool = False) -> None:
        """Record one input that was not ingested: a failure, (skipped=True) a file skipped as
        not an image, or (repeated=True) an input with the key of an earlier one; each goes to
        `failures` and the TSV with its reason."""
        with self._lock:
            if skipped:
                self.report.skipped += 1
            elif repeated:
                self.report.repeated += 1
            else:
                self.report.failed += 1
            self.report.failures.append((input_value, reason))
            if self.path is None:
                return
            try:
                if self._fh is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._fh = open(self.path, "w", encoding="utf-8")
                    self._fh.write("input\treason\n")
                    self.report.report_path = self.path
                self._fh.write(f"{_clean(input_value)}\t{_clean(reason)}\n")
                self._fh.flush()
            except OSError as e:  # the rows still go in: say so and keep the failures in the report
                sys.stderr.write(f"warning: cannot write the failure report {self.path} "
                                 f"({e.strerror or e}); the run goes on without it, and the summary names "
                                 f"the first failure\n")
                self.report.report_path = None
                self.path = None
                if self._fh is not None:
                    try:
                        self._fh.close()
                    except OSError:
                        pass
                    self._fh = None

    def close(self) -> None:
        """Close the TSV file, if one was opened. Safe to call twice."""
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
