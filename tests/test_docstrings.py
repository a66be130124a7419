"""Every public function and class of the packages has a docstring.

Public: a module-level function or class whose name has no leading underscore, and a public
method (or property) of such a class. Modules whose own name starts with an underscore count too:
their names are imported across their package.

The one exemption, in tui only: the methods Textual calls by their name's convention (`compose`,
`on_<event>` handlers, `action_<name>` key-binding targets, `watch_<attribute>` reactive
watchers). Their contract is Textual's; what an action does is said by its Binding's description
and the help screen, and a handler's by the message it handles. Any other tui method needs one.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("embed", "sqlext", "ingest", "migrations", "tui")
TEXTUAL_HOOK = re.compile(r"(compose|on_[a-z0-9_]+|action_[a-z0-9_]+|watch_[a-z0-9_]+)")
EXEMPT = {"tui": TEXTUAL_HOOK}


def public_definitions(path: Path):
    """(qualified name, line, node) of every public function, class and public method in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    for node in tree.body:
        if isinstance(node, kinds) and not node.name.startswith("_"):
            yield node.name, node.lineno, node
            if isinstance(node, ast.ClassDef):
                for m in node.body:
                    if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and not m.name.startswith("_"):
                        yield f"{node.name}.{m.name}", m.lineno, m


def coverage(package: str, root: Path = REPO) -> tuple[int, list[str]]:
    """(public definitions counted, `path:line: name` of those without a docstring)."""
    exempt = EXEMPT.get(package)
    counted, missing = 0, []
    for path in sorted((root / package).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        for name, line, node in public_definitions(path):
            if exempt is not None and "." in name and exempt.fullmatch(name.rpartition(".")[2]):
                continue
            counted += 1
            if not (ast.get_docstring(node) or "").strip():
                missing.append(f"{path.relative_to(root)}:{line}: {name}")
    return counted, missing


def test_the_counter_sees_a_missing_docstring(tmp_path):
    """The measure itself: a public function, class and method without docstrings are counted as
    missing; private ones and documented ones are not; tui's Textual hooks are exempt."""
    pkg = tmp_path / "tui"
    pkg.mkdir()
    (pkg / "m.py").write_text(
        "def f():\n    pass\n\n"
        "def _g():\n    pass\n\n"
        "class C:\n    \"\"\"Doc.\"\"\"\n\n"
        "    def meth(self):\n        pass\n\n"
        "    def on_mount(self):\n        pass\n\n"
        "    def _private(self):\n        pass\n\n"
        "class D:\n    def compose(self):\n        pass\n")
    counted, missing = coverage("tui", tmp_path)
    assert counted == 4  # f, C, C.meth, D
    assert [m.rpartition(": ")[2] for m in missing] == ["f", "C.meth", "D"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_definition_has_a_docstring(package):
    counted, missing = coverage(package)
    assert counted > 0
    share = 100 * (counted - len(missing)) / counted
    assert not missing, (f"{package}: {share:.1f} % of {counted} public functions, classes and methods "
                         f"have a docstring; these have none (say what it returns, in which units, "
                         f"what it raises):\n" + "\n".join(missing))
