"""Screens on top of the main one that close once, however fast the keys come.

A person's double `escape` or `enter` reaches a modal screen twice before it has gone;
Textual's `dismiss` pops whatever is on top each time, so the second one popped the main
screen and the app ended with ScreenStackError (found by fast random keys in a real
terminal, never by Pilot, which waits after each key).
"""
from __future__ import annotations

import asyncio

from textual.actions import SkipAction
from textual.await_complete import AwaitComplete
from textual.binding import Binding
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


# a priority binding: it runs when the Enter arrives, before the keys behind it are routed
HOLD_KEYS_BEHIND_ENTER = Binding("enter", "hold_keys_behind_enter", show=False, priority=True)


class KeysWaitForTheChoice:
    """Mixed into a screen whose Enter chooses (a lesson, a command): the keys typed behind
    the Enter wait until the choice has been used, then go where the app sends keys then.
    They had reached the screen's list first: a space behind a lesson's Enter ran the old
    network, and then the lesson's network was built, paused. The app holds them from the
    moment the Enter arrives; the screen calls `choice_used` once it has handed its choice on.
    The screen lists HOLD_KEYS_BEHIND_ENTER in its BINDINGS (Textual takes BINDINGS from
    its DOM classes only, and the first DOM base names the CSS type: a mixin cannot be one)."""

    def action_hold_keys_behind_enter(self) -> None:
        self.app.hold_keys()  # type: ignore[attr-defined]
        raise SkipAction()  # the Enter itself goes on to the focused list, in its turn

    def choice_used(self) -> None:
        """Release the keys once what is queued now (the choice's callback) has run."""
        self.app.call_later(self.app.release_keys)  # type: ignore[attr-defined]


class Modal(DismissOnce, ModalScreen):
    """A modal screen that closes once, on a plain background.

    Textual's modal screens show the screen under them, dimmed: every frame of it (a
    snapshot while training) is blended again, cell by cell. With help open on a training
    run that took 84 % of the app's CPU for 9 frames a second, and opening help took 70 ms;
    on a plain background, 17 % and 20 ms (160×48)."""

    DEFAULT_CSS = "Modal { background: $background; }"
