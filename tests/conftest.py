"""Fixtures shared by every test folder, and the guards that keep tests independent of each other
and of the order they run in (pytest-randomly shuffles it on every run; see README, Tests).

Helpers live in importable modules (tests/support.py, tests/<folder>/*_support.py), imported as
`tests.support` etc.; conftest files hold fixtures and hooks only."""
from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.support import ImageServer, build_tiny_clip
from tests.tui.interrupt_support import HeldImages, SlowCSV

# Test switches, read by the tests themselves (not by embedsql): kept when a test starts.
TEST_SWITCHES = {"EMBEDSQL_FUZZ_EXAMPLES", "EMBEDSQL_UPDATE_GOLDEN"}

# The module holding the process-wide embedded engine (one chdb data directory per process).
ENGINE_MODULE = "sqlext.db.engine"


def pytest_configure(config):
    # pytest-textual-snapshot writes its mismatch report to ./snapshot_report.html (the repo, when
    # run from there); send it to the temp dir unless --snapshot-report says where.
    if config.getoption("--snapshot-report", default=None) == "snapshot_report.html":
        config.option.snapshot_report = str(Path(tempfile.gettempdir()) / f"embedsql-snapshot-report-{os.getpid()}.html")


def _untracked(root: Path) -> set[str] | None:
    """Files in the repository that git does not track and does not ignore (None: not a git
    checkout, e.g. tests run from an unpacked sdist)."""
    import subprocess

    try:
        r = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root,
                           capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    if r.returncode != 0:
        return None
    return {line[3:] for line in r.stdout.splitlines() if line.startswith("?? ")}


REPO = Path(__file__).resolve().parent.parent


def pytest_sessionstart(session):
    session.config._untracked_before = _untracked(REPO)


def pytest_sessionfinish(session, exitstatus):
    """Tests leave no files in the repository: a run that created one fails, naming it."""
    before = getattr(session.config, "_untracked_before", None)
    if before is None or getattr(session.config, "workerinput", None) is not None:
        return
    after = _untracked(REPO) or set()
    new = sorted(after - before)
    if new:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"error: the tests left files in the repository: {', '.join(new[:20])}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, config):
    # -q hides pytest-randomly's header line: say which order ran, and how to run it again
    if config.pluginmanager.hasplugin("randomly") and isinstance(config.getoption("randomly_seed", None), int):
        seed = config.getoption("randomly_seed")
        terminalreporter.write_line(f"test order: pytest-randomly seed {seed} (the same order again, in one "
                                    f"process: -n 0 -p randomly --randomly-seed={seed}; file order: -p no:randomly)")


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> Path:
    """Directory holding a tiny random CLIP (512-d projection) saved with save_pretrained.

    The directory is named like the default model, as a user's local copy of it would be; embedsql
    recognises a model by its weights, not its folder name (embed.identity)."""
    return build_tiny_clip(tmp_path_factory.mktemp("tiny-clip") / "clip-vit-base-patch32")


@pytest.fixture(scope="session")
def image_server():
    with ImageServer(slow_seconds=30) as srv:
        yield srv


@pytest.fixture
def slow():
    """A CSV server whose answer waits for `slow.release` (SlowCSV; the Ctrl-C tests)."""
    with SlowCSV() as srv:
        yield srv


@pytest.fixture
def held():
    """Images for ingest, served from the fourth on once `held.release` is set (HeldImages)."""
    with HeldImages() as srv:
        yield srv


@pytest.fixture(autouse=True)
def _isolated_environment():
    """Whatever a test does to os.environ is undone after it (code under test may set variables
    directly, e.g. the CLI's main() quietens transformers through the environment)."""
    saved = dict(os.environ)
    yield
    for k in set(os.environ) - set(saved):
        del os.environ[k]
    for k, v in saved.items():
        if os.environ.get(k) != v:
            os.environ[k] = v


@pytest.fixture(autouse=True)
def _isolated_logging():
    """The root logger and every logger that existed before a test are restored after it (the
    CLI's main(), run in process, puts a handler on the root logger that writes to that test's
    captured stderr, and silences library loggers)."""
    manager = logging.Logger.manager
    loggers = [logging.getLogger()] + [lg for lg in manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    saved = [(lg, lg.level, lg.propagate, lg.disabled, list(lg.handlers)) for lg in loggers]
    saved_disable = manager.disable
    yield
    for lg, level, propagate, disabled, handlers in saved:
        if lg.level != level:
            lg.setLevel(level)
        lg.propagate, lg.disabled = propagate, disabled
        if lg.handlers != handlers:
            lg.handlers[:] = handlers
    logging.disable(saved_disable)


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path, monkeypatch):
    """Never touch the real ~/.local/share or ~/.config: each test gets its own, and no EMBEDSQL_*
    setting of the shell running the tests reaches the code under test."""
    for var in list(os.environ):
        if var.startswith("EMBEDSQL_") and var not in TEST_SWITCHES:
            monkeypatch.delenv(var)
    monkeypatch.setenv("EMBEDSQL_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "config.toml").touch()  # an empty config file (a named one must exist)
    monkeypatch.setenv("EMBEDSQL_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("EMBEDSQL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True, scope="module")
def _embedded_engine_released():
    """Each test module starts and ends with the process's embedded engine closed (one chdb data
    directory per process): a module never inherits another's open database, whatever the order.
    Background work still holding it (an app worker finishing a statement) gets 30 s to finish."""
    yield
    engine = sys.modules.get(ENGINE_MODULE)
    if engine is None:
        return
    manager = engine.EMBEDDED
    deadline = time.monotonic() + 30
    while manager.depth and time.monotonic() < deadline:
        time.sleep(0.05)
    assert manager.depth == 0, f"the embedded database at {manager.path} is still in use after the module's tests"
    manager.release_now()
