"""Screens on top of the main one that close once, however fast the keys come.

A person's double `escape` or `enter` reaches a modal screen twice before it has gone;
Textual's `dismiss` pops whatever is on top each time, so the second one popped the main
screen and the app ended with ScreenStackError (found by fast random keys in a real
terminal, never by Pilot, which waits after each key).
"""
from __future__ import annotations

import asyncio

from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen


class DismissOnce:
    """Mixed into a Screen: the first dismiss closes it, later ones do nothing; and so does
    one that comes while another screen is on top of it (an escape on its way when ctrl+p
    opened the palette, found under load): it would pop that screen instead, and this one,
    marked closed, could never close again."""

    _dismissing = False

    def dismiss(self, result=None) -> AwaitComplete:
        if self._dismissing or self.app.screen is not self:  # type: ignore[attr-defined]
            return AwaitComplete(asyncio.sleep(0))
        self._dismissing = True
        return super().dismiss(result)  # type: ignore[misc]


class Modal(DismissOnce, ModalScreen):
    """A modal screen that closes once, on a plain background.

    Textual's modal screens show the screen under them, dimmed: every frame of it (a
    snapshot while training) is blended again, cell by cell. With help open on a training
    run that took 84 % of the app's CPU for 9 frames a second, and opening help took 70 ms;
    on a plain background, 17 % and 20 ms (160×48)."""

    DEFAULT_CSS = "Modal { background: $background; }"
