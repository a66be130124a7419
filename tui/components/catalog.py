"""The catalog sidebar: databases > tables > columns with types; vector columns show their
dimension, model and vector index, each on a line of its own under the column (readable in the
sidebar's width, which grows while the catalog has the focus). Selecting a table or column inserts
its name in the editor."""
from __future__ import annotations

from dataclasses import dataclass, field

from rich.markup import escape
from textual.message import Message
from textual.widgets import Tree

@dataclass
class ColumnInfo:
    """One column in the sidebar: `name`, ClickHouse `type`, and for a vector column its `dim`
    (elements), recorded `model` and vector `index` ('HNSW Cosine (name)'), each None when
    unknown."""

    name: str
    type: str
    dim: int | None = None
    model: str | None = None
    index: str | None = None  # "HNSW Cosine (name)" or None

    @property
    def is_vector(self) -> bool:
        """True for Array(Float32), Array(Float64) or Array(BFloat16) columns."""
        return self.type.replace(" ", "") in ("Array(Float32)", "Array(Float64)", "Array(BFloat16)")

    def label(self) -> str:
        """The tree label (markup): name and type."""
        return f"{escape(self.name)} [dim]{escape(self.type)}[/dim]"

    def facts(self) -> list[str]:
        """A vector column's dimension, model and vector index, one line each (plain text); []
        for other columns."""
        if not self.is_vector:
            return []
        return [f"dim {self.dim}" if self.dim else "dim ?",
                *([f"model {self.model}"] if self.model else []),
                f"index {self.index}" if self.index else "no index"]


@dataclass
class CatalogData:
    """What the sidebar shows: `databases` (database -> table -> its ColumnInfo list) and the
    server's function names (`functions`, for completion)."""

    databases: dict[str, dict[str, list[ColumnInfo]]] = field(default_factory=dict)
    functions: list[str] = field(default_factory=list)

    def names(self) -> list[str]:
        """Every name to complete, sorted: functions, databases, tables (bare and db.table) and
        columns."""
        out = set(self.functions)
        for db, tables in self.databases.items():
            out.add(db)
            for t, cols in tables.items():
                out.add(t)
                out.add(f"{db}.{t}")
                out.update(c.name for c in cols)
        return sorted(out)

    def vector_columns(self, table: str) -> list[ColumnInfo]:
        """The vector columns of `table` ('t' in any database, or 'db.t'); [] when the table is
        unknown."""
        db, _, t = table.rpartition(".")
        for dname, tables in self.databases.items():
            if db and db != dname:
                continue
            if t in tables:
                return [c for c in tables[t] if c.is_vector]
        return []


def load_catalog(session) -> CatalogData:
    """Read databases, tables, columns (+ vector column facts) and function names through the
    session's catalog (`LiveCatalog.load_all`: the same few queries whatever the number of tables).
    Blocking: call from a worker thread."""
    data = CatalogData()
    cat = session.catalog
    cat.invalidate()  # a refresh shows what is there now
    with session.unit_of_work():
        dbs, infos = cat.load_all()  # four queries, however many tables; cached for the facts below
        for db in dbs:
            data.databases[db] = {}
        for info in infos:
            data.databases.setdefault(info.database, {})[info.name] = [
                ColumnInfo(name, type_) for name, type_ in info.columns.items()]
        statuses: dict[tuple[str, str, str], str] = {}
        if any(c.is_vector for ts in data.databases.values() for cs in ts.values() for c in cs):
            try:  # MyScale's view; on ClickHouse the dialect bridge computes it from system tables
                for db, t, name, status in session.query(
                        "SELECT database, table, name, status FROM system.vector_indices").rows:
                    statuses[(db, t, name)] = status
            except Exception:  # no status is not an error for the sidebar
                pass
        for db, tables in data.databases.items():
            for t, cols in tables.items():
                for col in cols:
                    if not col.is_vector:
                        continue
                    name = f"{db}.{t}"
                    try:
                        col.dim = cat.column_dim(name, col.name)
                        col.model = cat.column_model(name, col.name)
                        idx = cat.vector_index(name, col.name)
                        if idx is not None:
                            status = statuses.get((db, t, idx.name))
                            col.index = f"{idx.type} {idx.metric} ({idx.name}{', ' + status if status else ''})"
                    except Exception:  # a catalog that cannot say is not an error for the sidebar
                        pass
        try:
            data.functions = sorted({r[0] for r in session.query("SELECT name FROM system.functions",
                                                                 verbatim=True).rows})
        except Exception:
            data.functions = []
    return data


class CatalogTree(Tree):
    """The catalog sidebar: databases > tables > columns. Selecting a table or column posts
    InsertName with its name (a table outside `default` as db.table)."""

    class InsertName(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, **kw) -> None:
        super().__init__("catalog", **kw)
        self.show_root = False
        self.auto_expand = False  # enter inserts the name; space folds and unfolds
        self.data: CatalogData | None = None

    def on_mount(self) -> None:
        self.root.add_leaf("[dim]loading…[/dim]")

    def show_error(self, message: str) -> None:
        """Replace the tree with one line saying `message` in red (the catalog could not be read)."""
        self.clear()
        self.root.add_leaf(f"[red]{escape(message)}[/red]")

    def load(self, data: CatalogData) -> None:
        """Show `data`: databases expanded, tables expanded when there are at most five, embedsql's
        own bookkeeping tables last and folded."""
        self.data = data
        self.clear()
        if not data.databases:
            self.root.add_leaf("[dim](no databases)[/dim]")
        for db, tables in data.databases.items():
            dnode = self.root.add(f"[b]{escape(db)}[/b]", data=("db", db), expand=bool(tables))
            if not tables:
                dnode.add_leaf("[dim](no tables)[/dim]")
            # embedsql's own bookkeeping tables (migration state and lock) go last, folded
            ordered = sorted(tables.items(), key=lambda kv: kv[0].startswith("embedsql_"))
            for t, cols in ordered:
                tnode = dnode.add(escape(t), data=("table", t if db == "default" else f"{db}.{t}"),
                                  expand=len(tables) <= 5 and not t.startswith("embedsql_"))
                for c in cols:
                    facts = c.facts()
                    if not facts:
                        tnode.add_leaf(c.label(), data=("column", c.name))
                        continue
                    cnode = tnode.add(c.label(), data=("column", c.name), expand=True)
                    for fact in facts:
                        cnode.add_leaf(f"[cyan]{escape(fact)}[/cyan]")
        self.root.expand()

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        event.stop()
        data = event.node.data
        if data and data[0] in ("table", "column"):
            self.post_message(self.InsertName(data[1]))
