"""The layout's rules, checked on the code's own imports (every `import`, at any depth).

Dependencies point one way: tui -> migrations, ingest -> sqlext -> embed; the Harlequin adapter
(harlequin_embedsql) sits beside tui and uses sqlext and embed only. Inside sqlext, the text
side (sqlext/text) is pure: it imports neither the db side nor a database driver. Only the db side
(sqlext/db) talks to clickhouse-connect or chdb.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("embed", "sqlext", "ingest", "migrations", "tui", "harlequin_embedsql")
DRIVERS = ("clickhouse_connect", "chdb")

# package -> the packages of ours it may import
ALLOWED = {
    "embed": set(),
    "sqlext": {"embed"},
    "ingest": {"sqlext", "embed"},
    "migrations": {"sqlext", "embed"},
    "tui": {"migrations", "ingest", "sqlext", "embed"},
    "harlequin_embedsql": {"sqlext", "embed"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
            if node.module is None or node.level:  # `from . import x` may name submodules
                out += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
    return out


def sources(package: str) -> list[Path]:
    return sorted(p for p in (REPO / package).rglob("*.py") if "__pycache__" not in p.parts)


def test_imports_of_resolves_relative_imports(tmp_path):
    """The checker itself: relative imports resolve to the package they name."""
    assert ("sqlext.errors" in {m for _, m in imports_of(REPO / "sqlext" / "db" / "session.py")})


@pytest.mark.parametrize("package", PACKAGES)
def test_dependencies_point_one_way(package):
    bad = []
    for path in sources(package):
        for line, mod in imports_of(path):
            top = mod.split(".")[0]
            if top in PACKAGES and top != package and top not in ALLOWED[package]:
                bad.append(f"{path.relative_to(REPO)}:{line} imports {mod}")
    assert not bad, f"{package} may import only {sorted(ALLOWED[package]) or 'none of ours'}:\n" + "\n".join(bad)


def test_sql_text_side_is_pure():
    bad = []
    for path in sources("sqlext/text"):
        for line, mod in imports_of(path):
            if mod.startswith("sqlext.db") or mod.split(".")[0] in DRIVERS:
                bad.append(f"{path.relative_to(REPO)}:{line} imports {mod}")
    assert not bad, "sqlext/text is text in, text out: no database side, no driver:\n" + "\n".join(bad)


def test_only_the_db_side_talks_to_the_driver():
    bad = []
    for package in PACKAGES:
        for path in sources(package):
            if path.is_relative_to(REPO / "sqlext" / "db"):
                continue
            for line, mod in imports_of(path):
                if mod.split(".")[0] in DRIVERS:
                    bad.append(f"{path.relative_to(REPO)}:{line} imports {mod}")
    assert not bad, "only sqlext/db may import clickhouse_connect or chdb:\n" + "\n".join(bad)


def test_no_import_cycles_between_modules():
    """No two modules of ours import each other (at any depth of the import graph)."""
    graph: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in sources(package):
            name = _module_name(path)
            graph[name] = {m for _, m in imports_of(path) if m in graph or m.split(".")[0] in PACKAGES}
    modules = set(graph)
    graph = {k: {m for m in v if m in modules and m != k} for k, v in graph.items()}
    # Tarjan-free check: a module reachable from itself through others
    cycles = []
    for start in sorted(graph):
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start and len(path) > 1:
                    # a package __init__ re-exporting its submodules is not a cycle of logic
                    if not any(p == q.rpartition(".")[0] for p in path for q in path):
                        cycles.append(" -> ".join(path + [start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    assert not cycles, "import cycles:\n" + "\n".join(sorted(set(cycles))[:20])


def test_command_modules_do_not_import_the_cli_back():
    """tui/cli.py dispatches to tui/commands/*; a command module importing tui.cli would close a
    circle (shared things live in tui/errors.py and the like)."""
    bad = [f"{p.relative_to(REPO)}:{line}" for p in sources("tui") if "commands" in p.parts
           for line, m in imports_of(p) if m == "tui.cli" or m.startswith("tui.cli.")]
    assert not bad, bad
