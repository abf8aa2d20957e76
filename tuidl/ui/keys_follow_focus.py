"""Keys typed fast go where the focus is by the time their turn comes.

The app routes each key as it arrives: to the focused widget, or to the screen when nothing
has the focus; a key they do not take comes back up to the app, which runs its
binding then. A key whose binding moves the focus (`v` to the race's field, `w` to the
diagram, `enter` on a weight to its editor) or opens a screen (`ctrl+s`) acts only then,
and the keys a person typed right behind it had been routed already, where the focus
was: their letters were lost and their other keys ran bindings there (`v lr=0.1` in the
race view restarted the race). Pilot waits after each key and never saw it; a terminal
sends a burst at once.
"""
from __future__ import annotations

from textual import events

from tuidl.ui.held_keys import HOLD_AT_MOST

MAX_REMEMBERED = 256  # keys a screen took for itself never come back: forget them in time


class KeysFollowFocus:
    """Mixed into the App (before it): a key that comes back up for its binding is routed
    again, as if just typed, if the app would now route it elsewhere: to the widget that has
    taken the focus, or to the screen opened on top meanwhile (its priority bindings too).
    And a screen whose choice is on its way can have the keys typed after it wait
    (`hold_keys`, `release_keys`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # where each key went, by id (a Key has slots: no room for a mark)
        self._routed: dict[int, tuple[events.Key, object]] = {}
        self._routing: events.Key | None = None  # the key being routed now
        self._held_keys: list[events.Key] | None = None  # keys typed after _hold_after, waiting
        self._hold_after = 0.0
        self._hold_timer = None

    def _key_target(self):
        """Where the app routes a key now: the focused widget, else the screen on top."""
        return self.focused or self.screen  # type: ignore[attr-defined]

    async def on_event(self, event: events.Event) -> None:
        # (before App.on_event routes it)
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self._held_keys is not None and event.time > self._hold_after:
                self._held_keys.append(event)
                return
            self._remember(event, self._key_target())
            self._routing = event
        await super().on_event(event)  # type: ignore[misc]

    def hold_keys(self) -> None:
        """The keys typed after the one being routed now wait until `release_keys` (or
        HOLD_AT_MOST seconds): a screen's choice is on its way (KeysWaitForTheChoice). Keys
        typed before it go on: a search typed fast, then its enter."""
        if self._held_keys is None:
            self._held_keys = []
            self._hold_after = self._routing.time if self._routing is not None else float("-inf")
            self._hold_timer = self.set_timer(HOLD_AT_MOST, self.release_keys)  # type: ignore[attr-defined]

    async def release_keys(self) -> None:
        """The held keys are routed now, in the order typed, as if they had just been typed."""
        held, self._held_keys = self._held_keys, None
        if self._hold_timer is not None:
            self._hold_timer.stop()
            self._hold_timer = None
        for key in sorted(held or (), key=lambda k: k.time):
            await self.on_event(key)

    def _remember(self, key: events.Key, target) -> None:
        if len(self._routed) >= MAX_REMEMBERED:
            self._routed.clear()
        self._routed[id(key)] = (key, target)

    async def _on_key(self, event: events.Key) -> None:
        # (Textual calls each class's _on_key in turn, App's after this, unless prevented)
        key, routed_to = self._routed.pop(id(event), (None, None))
        if key is not event or self._key_target() is routed_to:
            return  # nothing moved: the bindings, as ever
        event.prevent_default()
        event.stop()
        again = events.Key(event.key, event.character)
        again.set_sender(self)
        again.time = event.time  # typed then: its place among held keys
        await self.on_event(again)
