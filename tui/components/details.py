"""Query details: the SQL actually sent (vectors elided), embedding time and cache hits, server
time, rows read, the vector plan and why it was chosen, translations and lints from the dialect
bridge; for a HybridSearch, how its score was fused (formula, weights, candidates per side)."""
from __future__ import annotations

from rich.console import Group
from rich.markup import escape
from rich.syntax import Syntax
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static


FUSION_HELP = ("the score column is the fused score (Float32, higher is better): each side's "
               "candidates are ranked (RRF) or min-max normalised (RSF) before they are added")


def _ms(v) -> str:
    return "n/a" if v is None else f"{v:.1f} ms"


def details_text(stats, *, rows: int | None = None, shown: int | None = None, note: str = "") -> str:
    """The Details tab's text for a statement's Stats: embedding (calls, ms, cache hits and misses),
    server time and rows read (ms; n/a when unknown), total ms, `rows` returned (and `shown` when
    fewer), the vector plan, translations, warnings, then `note`. One item per line."""
    lines = []
    if stats.embed_calls:
        lines.append(f"embedding: {stats.embed_calls} EMBED call(s), {_ms(stats.embed_ms)}, "
                     f"cache {stats.cache_hits} hit(s) / {stats.cache_misses} miss(es)")
    else:
        lines.append("embedding: no EMBED calls")
    lines.append(f"server: {_ms(stats.server_ms)}, rows read: "
                 f"{'n/a' if stats.rows_read is None else stats.rows_read}, total: {_ms(stats.total_ms)}")
    if rows is not None:
        lines.append(f"rows returned: {rows}" + (f" (showing the first {shown})" if shown is not None and shown < rows else ""))
    plan = getattr(stats, "plan", None)
    if plan is not None:
        lines.extend(plan.describe())
    for t in stats.translations:
        if t.startswith("HybridSearch("):
            lines.append(f"fusion: {t}")
            lines.append("  " + FUSION_HELP)
        else:
            lines.append(f"translated: {t}")
    for w in stats.warnings:
        lines.append(f"warning: {w}")
    if note:
        lines.append(note)
    return "\n".join(lines)


class QueryDetails(VerticalScroll):
    """The Details tab: the SQL sent (vectors included) and `details_text`, or the failed statement
    and its error; `text` holds the plain text shown."""

    text = "No query run yet."  # plain text of what is shown

    def compose(self):
        yield Static("No query run yet.", id="details-body")

    def show(self, stats, *, rows: int | None = None, shown: int | None = None, note: str = "") -> None:
        """Show what a statement sent and cost (`stats`: an sqlext Stats; `rows`, `shown`, `note` as
        for `details_text`)."""
        sql = stats.sent_sql or ""
        self.text = f"SQL sent\n{sql}\n\n{details_text(stats, rows=rows, shown=shown, note=note)}"
        body = Group(
            Text("SQL sent", style="bold"),
            Syntax(sql, "sql", word_wrap=True, theme="ansi_dark") if sql else Text("(nothing sent)"),
            Text(""),
            Text(details_text(stats, rows=rows, shown=shown, note=note)),
        )
        self.query_one("#details-body", Static).update(body)

    def show_error(self, sql: str, message: str) -> None:
        """Show the statement `sql` and its error `message`."""
        self.text = f"Statement\n{sql}\n\nerror: {message}"
        self.query_one("#details-body", Static).update(
            f"[bold]Statement[/bold]\n{escape(sql)}\n\n[red]error:[/red] {escape(message)}")
