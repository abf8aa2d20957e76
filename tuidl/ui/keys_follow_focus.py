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

MAX_REMEMBERED = 256  # keys a screen took for itself never come back: forget them in time


class KeysFollowFocus:
    """Mixed into the App (before it): a key that comes back up for its binding goes
    instead where the app would route it now, if that is no longer where it went: to the
    widget that has taken the focus, or to the screen opened on top meanwhile."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # where each key went, by id (a Key has slots: no room for a mark)
        self._routed: dict[int, tuple[events.Key, object]] = {}

    def _key_target(self):
        """Where the app routes a key now: the focused widget, else the screen on top."""
        return self.focused or self.screen  # type: ignore[attr-defined]

    async def on_event(self, event: events.Event) -> None:
        # (before App.on_event routes it)
        if isinstance(event, events.Key) and not event.is_forwarded:
            self._remember(event, self._key_target())
        await super().on_event(event)  # type: ignore[misc]

    def _remember(self, key: events.Key, target) -> None:
        if len(self._routed) >= MAX_REMEMBERED:
            self._routed.clear()
        self._routed[id(key)] = (key, target)

    def _on_key(self, event: events.Key) -> None:
        # (Textual calls each class's _on_key in turn, App's after this, unless prevented)
        key, routed_to = self._routed.pop(id(event), (None, None))
        target = self._key_target()
        if key is not event or target is routed_to:
            return  # nothing moved: the bindings, as ever
        event.prevent_default()
        event.stop()
        again = events.Key(event.key, event.character)
        again.set_sender(self)
        self._remember(again, target)  # (the focus may move on again before it comes back)
        target._forward_event(again)
