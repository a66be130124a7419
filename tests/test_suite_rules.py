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

