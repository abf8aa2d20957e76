"""A scrolling text the app's keys page through (PgUp, PgDn, Home, End) while nothing in it
has the keyboard: the step-through's phase, an open lesson."""
from __future__ import annotations

from textual.containers import VerticalScroll


class PagedScroll(VerticalScroll):
    def scroll_page(self, delta: int) -> None:
        """delta pages down (up when negative)."""
        self.scroll_relative(y=delta * max(1, self.scrollable_content_region.height - 1), animate=False)

    def scroll_to_start(self) -> None:
        self.scroll_home(animate=False)

    def scroll_to_end(self) -> None:
        self.scroll_end(animate=False)
