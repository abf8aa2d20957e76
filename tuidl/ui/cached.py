"""A widget that draws all its lines at once and keeps them until its data or size changes."""
from __future__ import annotations

from textual.strip import Strip
from textual.widget import Widget


class CachedLinesWidget(Widget):
    """Subclasses implement `_build() -> list[Strip]` and call `_invalidate()` on new data.

    Textual asks for one line at a time; drawing a heatmap or a diagram line by line
    would redo the whole layout for every line.
    """

    _strips: list[Strip] | None = None

    def _build(self) -> list[Strip]:
        raise NotImplementedError

    def _invalidate(self) -> None:
        self._strips = None
        self.refresh()

    def on_resize(self) -> None:
        self._strips = None

    def render_line(self, y: int) -> Strip:
        if self._strips is None:
            self._strips = self._build()
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.content_size.width)
