"""Gallery tiles whose thumbnail (or error) arrives before the tile's own children are mounted,
as a cached thumbnail does on a busy machine: it is shown once they are, not an app crash."""
from __future__ import annotations

from PIL import Image
from textual.app import App

from tui.components.gallery import Tile

RED = Image.new("RGB", (32, 24), (200, 30, 30))
BLUE = Image.new("RGB", (32, 24), (20, 40, 220))


class OneTile(App):
    def __init__(self, tile: Tile):
        super().__init__()
        self.tile = tile

    def compose(self):
        yield self.tile


async def test_an_image_set_before_the_tile_is_mounted_shows_once_it_is():
    tile = Tile("http://x/a.jpg", "a")
    tile.set_image(RED)  # no children yet: the tile keeps it
    async with OneTile(tile).run_test() as pilot:
        await pilot.pause()
        assert tile.state == "image"
        assert len(tile.query(".tile-image")) == 1 and not tile.query(".tile-body")
        tile.set_image(BLUE)  # again: the shown image is replaced, no second widget
        await pilot.pause()
        assert len(tile.query(".tile-image")) == 1 and tile.query_one(".tile-image").image is BLUE


async def test_an_error_set_before_the_tile_is_mounted_shows_once_it_is():
    tile = Tile("http://x/a.jpg", "a")
    tile.set_error("HTTP 404")
    async with OneTile(tile).run_test() as pilot:
        await pilot.pause()
        assert tile.state == "error"
        assert "HTTP 404" in str(tile.query_one(".tile-body").render())
