"""A widget that draws all its lines at once and keeps them until its data or size changes."""
from __future__ import annotations

from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget


class CachedLinesWidget(Widget):
    """Subclasses implement `_build() -> list[Strip]` and call `_invalidate()` on new data.

    Textual asks for one line at a time; drawing a heatmap or a diagram line by line
    would redo the whole layout for every line. New data repaints only the lines that
    differ from those on screen: while training, most rows of the heatmap and the
    diagram stay as they were from one frame to the next, and each line repainted costs
    Textual's styling, the compositor and the bytes sent to the terminal.
    """

    _strips: list[Strip] | None = None
    _built_for: Size | None = None  # content size the strips were built for

    def _build(self) -> list[Strip]:
        raise NotImplementedError

    def _invalidate(self) -> None:
        """New data: the lines are drawn now, from the state as it is now."""
        old, size = self._strips, self.content_size
        self._strips = None
        if old is None or size != self._built_for or not self.is_mounted:
            self.refresh()  # built when next drawn (never, while it is not on screen)
            return
        new = self._strips = self._build()
        changed = [y for y in range(max(len(old), len(new))) if y >= len(old) or y >= len(new) or old[y] != new[y]]
        if changed:
            self.refresh(*_row_regions(changed, size.width))

    def _invalidate_all(self) -> None:
        """Every line drawn again when next painted: for a change whose state is only
        complete then (Textual sets `has_focus` after a subclass's on_focus has run)."""
        self._strips = None
        self.refresh()

    def on_resize(self) -> None:
        self._strips = None

    def render_line(self, y: int) -> Strip:
        if self._strips is None:
            self._strips = self._build()
            self._built_for = self.content_size
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.content_size.width)


def _row_regions(rows: list[int], width: int) -> list[Region]:
    """One region per run of consecutive rows (ascending)."""
    regions: list[Region] = []
    for y in rows:
        if regions and regions[-1].bottom == y:
            last = regions[-1]
            regions[-1] = Region(0, last.y, width, last.height + 1)
        else:
            regions.append(Region(0, y, width, 1))
    return regions
