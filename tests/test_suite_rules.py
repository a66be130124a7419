"""The test suite's own rules: every test folder is a package (so its conftest and helpers are
imported by a unique name and any subset of folders collects), and the guards in tests/conftest.py
point at what they guard."""
from __future__ import annotations

import importlib
from pathlib import Path

import tests.conftest as root_conftest

TESTS = Path(__file__).resolve().parent


def test_every_test_folder_is_a_package():
    folders = {p.parent for p in TESTS.rglob("*.py") if "__snapshots__" not in p.parts}
    missing = sorted(str(d.relative_to(TESTS.parent)) for d in folders if not (d / "__init__.py").exists())
    assert not missing, f"add an empty __init__.py to: {', '.join(missing)}"


def test_no_helper_is_imported_from_a_conftest():
    bad = [str(p.relative_to(TESTS.parent)) for p in TESTS.rglob("*.py")
           if any(line.startswith(("from conftest import", "import conftest")) for line in p.read_text().splitlines())]
    assert not bad, f"import helpers from a support module (tests.support, ...), not conftest: {bad}"


def test_the_engine_guard_finds_the_embedded_engine():
    engine = importlib.import_module(root_conftest.ENGINE_MODULE)
    assert hasattr(engine.EMBEDDED, "depth") and callable(engine.EMBEDDED.release_now)



def test_helpers_are_imported_by_their_package_name():
    helpers = {p.stem for p in TESTS.rglob("*.py") if not p.stem.startswith(("test_", "__", "conftest"))}
    bad = [f"{p.relative_to(TESTS.parent)}: {line.strip()}" for p in TESTS.rglob("*.py")
           for line in p.read_text().splitlines()  # imports inside functions count too
           if line.lstrip().startswith(("from ", "import ")) and line.split()[1] in helpers]
    assert not bad, "import test helpers as tests.<module> (a bare name resolves only when tests/ " \
                    f"happens to be on sys.path): {bad}"


def test_no_undefined_or_shadowed_names():
    """pyflakes' checks that find code that cannot run (a name never imported, a redefinition
    that hides a function), over every package and the tests: a path no test takes still fails
    here instead of in a user's hands."""
    import subprocess
    import sys

    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        import pytest

        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    root = TESTS.parent
    dirs = [d for d in ("embed", "sqlext", "tui", "ingest", "migrations", "benchmarks", "harlequin_embedsql", "tests")
            if (root / d).exists()]
    r = subprocess.run([str(ruff), "check", "--no-cache", "--isolated", "--select", "F821,F822,F823,F811,F632",
                        "--output-format", "concise", *dirs], cwd=root, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
