"""The image preview of the selected row (textual-image: half-blocks, Kitty or Sixel)."""
from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ..thumbs import image_widget_class


class ImagePreview(Vertical):
    """The image preview of the selected row. `ref` is the image reference shown or loading; `state`
    is empty | loading | image | error | none."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.ref: str | None = None
        self.state = "empty"  # empty | loading | image | error | none

    def compose(self) -> ComposeResult:
        yield Static("Select a row with an image URL or path to preview it.", id="preview-caption")

    def _image(self):
        try:
            return self.query_one("#preview-image")
        except Exception:
            img = image_widget_class()(id="preview-image")
            self.mount(img)
            return img

    def _caption(self, text: str) -> None:
        self.query_one("#preview-caption", Static).update(text)

    def show_none(self, why: str) -> None:
        """No image to show: say `why` and clear the image."""
        self.ref, self.state = None, "none"
        self._caption(escape(why))
        self._set(None)

    def show_loading(self, ref: str) -> None:
        """Mark `ref` as loading (its image or error arrives later through show_image / show_error)."""
        self.ref, self.state = ref, "loading"
        self._caption(f"[dim]loading[/dim] {escape(ref)}")

    def show_image(self, ref: str, image) -> None:
        """Show `image` (a PIL image) for `ref`; ignored when another reference was selected since."""
        if ref != self.ref:
            return
        self.state = "image"
        self._caption(escape(ref))
        self._set(image)

    def show_error(self, ref: str, message: str) -> None:
        """Say why `ref` has no image (`message`); ignored when another reference was selected
        since."""
        if ref != self.ref:
            return
        self.state = "error"
        self._caption(f"[red]no image:[/red] {escape(message)}")
        self._set(None)

    def _set(self, image) -> None:
        if image is None:
            try:
                self.query_one("#preview-image").remove()
            except Exception:
                pass
            return
        self._image().image = image
