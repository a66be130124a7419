"""One name, one thing: a public class, function or constant name is defined in one module of the
packages.

A name defined at the top level of two modules (`Result` in the session and in a dialect, `Stats`
in the embedder and in the session) makes a reader, a search and an import guess which one is
meant. The allowlist holds the names that are one thing by contract: a protocol that several
modules implement on purpose, each entry with its reason.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("embed", "sqlext", "ingest", "migrations", "tui")

# name -> (the modules that may define it, why it is one thing)
ALLOWED = {
    "connect": ({"sqlext.db.session", "sqlext.dbapi"},
                "PEP 249 requires a module-level `connect` in the DB-API module; `sqlext.connect` "
                "is the session's. Both open a connection from the same DSN and config."),
    "load_ipython_extension": ({"sqlext", "sqlext.magic"},
                               "IPython's extension hook; `sqlext`'s delegates to `sqlext.magic`'s so "
                               "that both `%load_ext sqlext` and `%load_ext sqlext.magic` work."),
    "unload_ipython_extension": ({"sqlext", "sqlext.magic"}, "the pair of load_ipython_extension."),
    "add_parser": ({f"tui.commands.{m}" for m in ("demo", "ingest", "migrate", "model")},
                   "the subcommand protocol: each `tui.commands` module adds its argparse parser."),
    "run": ({f"tui.commands.{m}" for m in ("demo", "ingest", "migrate", "model")},
            "the subcommand protocol: each `tui.commands` module runs its subcommand."),
    "ACTIONS": ({"tui.commands.migrate", "tui.commands.model"},
                "the subcommand protocol: a `tui.commands` module with actions lists them."),
    "UNSPLASH_THUMB": ({"ingest.sources", "tui.commands.ingest"},
                       "one value: the CLI keeps a copy for its --help so that `embedsql` starts "
                       "without importing ingest (test_unsplash_thumb_copies_agree checks it)."),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def public_definitions() -> dict[str, set[str]]:
    """name -> the modules (dotted) that define a public class, function or module-level variable
    of that name at their top level (inside `if` / `try` blocks too)."""
    defs: dict[str, set[str]] = defaultdict(set)
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            stack = list(tree.body)
            while stack:
                node = stack.pop()
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    if not node.name.startswith("_"):
                        defs[node.name].add(_module_name(path))
                elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for t in targets:
                        for name in ast.walk(t):
                            if isinstance(name, ast.Name) and not name.id.startswith("_"):
                                defs[name.id].add(_module_name(path))
                elif isinstance(node, (ast.If, ast.Try)):
                    stack += node.body + node.orelse + getattr(node, "finalbody", [])
                    stack += [s for h in getattr(node, "handlers", []) for s in h.body]
    return defs


def test_public_definitions_sees_what_it_should():
    """The scanner itself: it finds names known to be defined, and where."""
    defs = public_definitions()
    assert defs["Session"] == {"sqlext.db.session"}
    assert "sqlext.text.dialects" in defs["translate"]
    assert defs["IMAGE_EXTENSIONS"] == {"embed.modality"}  # a constant (ingest imports it)
    assert not any(name.startswith("_") for name in defs)


def test_each_public_name_means_one_thing():
    twice = {}
    for name, modules in public_definitions().items():
        if len(modules) < 2:
            continue
        allowed = ALLOWED.get(name, (set(), ""))[0]
        if not modules <= allowed:
            twice[name] = sorted(modules)
    assert not twice, ("public names defined in more than one module (rename the less public "
                       "side, or allowlist a deliberate protocol with its reason):\n"
                       + "\n".join(f"  {n}: {', '.join(m)}" for n, m in sorted(twice.items())))


def test_allowlist_is_not_stale():
    """Every allowlisted name is still defined in more than one module: a rename removes its entry."""
    defs = public_definitions()
    stale = [n for n in ALLOWED if len(defs.get(n, ())) < 2]
    assert not stale, f"allowlisted names no longer defined twice (remove them): {stale}"


def test_unsplash_thumb_copies_agree():
    import ingest.sources
    import tui.commands.ingest

    assert tui.commands.ingest.UNSPLASH_THUMB == ingest.sources.UNSPLASH_THUMB
