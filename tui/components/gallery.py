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
    def __init__(self, ref: str, caption: str, **kw) -> None:
        super().__init__(classes="tile", **kw)
        self.ref = ref
        self.caption = caption
        self.state = "loading"

    def compose(self) -> ComposeResult:
        yield Static("[dim]loading…[/dim]", classes="tile-body")
        yield Static(escape(self.caption), classes="tile-caption")

    def set_image(self, image) -> None:
        if self.state == "image":  # a cached thumbnail and a fetch may both arrive: show one
            return
        self.state = "image"
        body = self.query_one(".tile-body")
        img = image_widget_class()(image, classes="tile-image")
        self.mount(img, before=body)
        body.remove()

    def set_error(self, message: str) -> None:
        self.state = "error"
        self.query_one(".tile-body", Static).update(f"[red]{escape(message)}[/red]")


class Gallery(VerticalScroll):
    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.tiles: list[Tile] = []

    def compose(self) -> ComposeResult:
        yield Static("Run a query with an image URL or path column to see its images here.", id="gallery-note")
        yield Vertical(id="gallery-rows")

    def set_items(self, items: list[tuple[str, str]], note: str = "") -> list[Tile]:
        self.query_one("#gallery-note", Static).update(escape(note))
        rows = self.query_one("#gallery-rows", Vertical)
        rows.remove_children()
        self.tiles = [Tile(ref, caption) for ref, caption in items[:MAX_TILES]]
        rows.mount_all([Horizontal(*self.tiles[i:i + PER_ROW], classes="gallery-row")
                        for i in range(0, len(self.tiles), PER_ROW)])
        return self.tiles
