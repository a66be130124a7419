"""The gallery: the top results' images side by side (five in a row), captions below."""
from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from ..thumbs import image_widget_class

PER_ROW = 5
MAX_TILES = 20


class Tile(Vertical):
    """One result's image (or why there is none) above its caption. The image can arrive before
    the tile's own children are mounted (a cached thumbnail, on a busy machine): it is kept and
    shown once they are."""

    def __init__(self, ref: str, caption: str, **kw) -> None:
        super().__init__(classes="tile", **kw)
        self.ref = ref
        self.caption = caption
        self.state = "loading"
        self._pending: tuple[str, object] | None = None  # ("image", PIL image) | ("error", message)

    def compose(self) -> ComposeResult:
        yield Static("[dim]loading…[/dim]", classes="tile-body")
        yield Static(escape(self.caption), classes="tile-caption")

    def on_mount(self) -> None:
        if self._pending is not None:
            kind, value = self._pending
            self._pending = None
            self.set_image(value) if kind == "image" else self.set_error(value)

    def set_image(self, image) -> None:
        """Show `image` (a PIL image) in place of the placeholder; a later image (a cached
        thumbnail and a fetch may both arrive) replaces it in the same widget. Before the tile's
        children are mounted it is kept, and shown on mount."""
        shown, body = self.query(".tile-image"), self.query(".tile-body")
        if shown:
            shown.first().image = image
        elif body:
            self.mount(image_widget_class()(image, classes="tile-image"), before=body.first())
            body.first().remove()
        else:
            self._pending = ("image", image)
        self.state = "image"

    def set_error(self, message: str) -> None:
        """Show `message` in red in place of the image (kept until mounted when the tile is not
        yet)."""
        self.state = "error"
        body = self.query(".tile-body")
        if body:
            body.first(Static).update(f"[red]{escape(message)}[/red]")
        else:
            self._pending = ("error", message)


class Gallery(VerticalScroll):
    """The Gallery tab: a grid of image tiles (PER_ROW a row, at most MAX_TILES) for a result's
    image column."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.tiles: list[Tile] = []

    def compose(self) -> ComposeResult:
        yield Static("Run a query with an image URL or path column to see its images here.", id="gallery-note")
        yield Vertical(id="gallery-rows")

    def set_items(self, items: list[tuple[str, str]], note: str = "") -> list[Tile]:
        """Replace the tiles with one per (image reference, caption) of `items` (the first
        MAX_TILES) under the line `note`; returns the new tiles, for the app to fill with
        thumbnails."""
        self.query_one("#gallery-note", Static).update(escape(note))
        rows = self.query_one("#gallery-rows", Vertical)
        rows.remove_children()
        self.tiles = [Tile(ref, caption) for ref, caption in items[:MAX_TILES]]
        rows.mount_all([Horizontal(*self.tiles[i:i + PER_ROW], classes="gallery-row")
                        for i in range(0, len(self.tiles), PER_ROW)])
        return self.tiles
