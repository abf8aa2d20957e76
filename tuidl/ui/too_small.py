"""A terminal too small for the app: one clear line instead of a broken layout.

Below MIN_SIZE the panes cannot hold the forms and the figures, so the app covers
whatever screen is up with `TooSmallScreen`, which says the terminal's size and the size
needed, and takes it away as soon as the terminal is large enough again. The keys keep
their meaning meanwhile (training goes on, space still pauses it); a screen opened while
the terminal is too small is covered too.
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from tuidl.ui.modal import DismissOnce

MIN_SIZE = (60, 20)  # (width, height) in cells


def too_small_text(width: int, height: int) -> str:
    return f"terminal too small: {width}×{height}, needs {MIN_SIZE[0]}×{MIN_SIZE[1]}"


def is_too_small(width: int, height: int) -> bool:
    return width < MIN_SIZE[0] or height < MIN_SIZE[1]


class TooSmallScreen(DismissOnce, Screen):
    """Covers the app while the terminal is smaller than MIN_SIZE; closes itself when the
    terminal has grown (on a resize, or when it comes back on top)."""

    DEFAULT_CSS = """
    TooSmallScreen { align: center middle; background: $background; }
    TooSmallScreen > #too-small { width: auto; max-width: 100%; height: auto; color: $warning; text-style: bold; }
    """

    def compose(self) -> ComposeResult:
        yield Static(too_small_text(*self.app.size), id="too-small")

    def on_resize(self, event) -> None:
        self.check_size()

    def on_screen_resume(self) -> None:
        self.check_size()

    def check_size(self) -> None:
        width, height = self.app.size
        if not is_too_small(width, height):
            self.dismiss()  # (only when on top: DismissOnce)
            return
        if self.is_mounted:
            self.query_one("#too-small", Static).update(too_small_text(width, height))


class TooSmallGuard:
    """Mixed into the app: shows TooSmallScreen on top whenever the terminal is too small."""

    def on_mount(self) -> None:  # beside the app's own on_mount (Textual calls each class's)
        self.screen_change_signal.subscribe(self, lambda screen: self.call_later(self.guard_size))
        self.guard_size()

    def on_resize(self, event) -> None:
        self.call_later(self.guard_size)  # once the screens have their new size

    def guard_size(self) -> None:
        if not self.is_running or self.return_code is not None:
            return
        try:
            top = self.screen
        except Exception:  # noqa: BLE001 - no screen yet, or none any more
            return
        if is_too_small(*self.size):
            if isinstance(top, TooSmallScreen):
                top.check_size()
            else:
                self.push_screen(TooSmallScreen())
        elif isinstance(top, TooSmallScreen):
            top.check_size()
