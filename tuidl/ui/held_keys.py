"""Keys typed behind the key that applies a value wait until the value is in use.

A field's Enter (or a list's choice) travels up as messages: the field posts that it was
submitted, the panel posts an edit, the app rebuilds the network. The keys a person typed
right behind the Enter are in the field's queue already and go up as keys, ahead of those
messages: `0.5 enter space` ran the old network and then the new one was built paused,
and a space behind a list's Enter searched the open list for " " and moved its cursor
before the choice was made. Pilot waits after each key and never saw it.
"""
from __future__ import annotations

from textual import events

HOLD_AT_MOST = 0.5  # seconds: held keys go on even if no one says the value was taken


class KeysWaitForTheValue:
    """Mixed into a widget (before it): from the key that applies its value (HOLD_AFTER) on,
    the keys that reach it are held until `value_taken` is called (by whoever uses the value,
    once its messages are posted), or for HOLD_AT_MOST seconds. Then they go on from
    `_keys_go_on_from`, behind those messages."""

    HOLD_AFTER: tuple[str, ...] = ("enter",)
    _held: list[events.Key] | None = None
    _hold_timer = None

    def _on_key(self, event: events.Key) -> None:
        # (Textual calls each class's _on_key in turn, the widget's own next, unless prevented)
        if self._held is not None:
            event.prevent_default()
            event.stop()
            self._held.append(event)
        elif event.key in self.HOLD_AFTER:
            self._held = []
            self._hold_timer = self.set_timer(HOLD_AT_MOST, self.value_taken)  # type: ignore[attr-defined]

    def value_taken(self) -> None:
        """The value has been used and its messages posted: the held keys go on."""
        held, self._held = self._held, None
        if self._hold_timer is not None:
            self._hold_timer.stop()
            self._hold_timer = None
        target = self._keys_go_on_from()
        for key in held or ():
            again = events.Key(key.key, key.character)
            again.set_sender(self.app)  # type: ignore[attr-defined]  # (a bubbling message stops below its sender)
            target._forward_event(again)

    def _keys_go_on_from(self):
        """The widget the held keys are sent to, to bubble up from."""
        return self


def value_taken(widget) -> None:
    """`widget`'s value has been used: the keys typed behind it go on, if it holds them (a
    Select holds them in its drop-down)."""
    taken = getattr(widget, "value_taken", None)
    if taken is not None:
        taken()
