"""Text fields for keys typed fast: their own editing keys act in the order typed, and the
side panel's hand the keyboard back to the app. Light to import (only Textual's Input):
the modals that ask for a file name or a weight use them too."""
from __future__ import annotations

from textual import events
from textual.widgets import Input

HOLD_AT_MOST = 0.5  # seconds: held keys go on even if no one says the value was taken


class OrderedInput(Input):
    """An Input whose own editing keys (home, ctrl+k, ctrl+u, backspace…) act in turn with
    the letters typed around them. Textual runs a field's bindings only once the key has
    bubbled up to the app, after the letters typed behind it (Textual issue 6605: "C-a
    C-k 500" in a real terminal left the field empty)."""

    async def _on_key(self, event) -> None:
        # Textual calls Input's own _on_key after this one unless the default is prevented.
        if not self._leaves_to_the_app(event) and await self._run_own_binding(event.key):
            event.prevent_default()
            event.stop()

    def _leaves_to_the_app(self, event) -> bool:
        """True: the key goes on as Textual sends it (a subclass's hook)."""
        return False

    async def _run_own_binding(self, key: str) -> bool:
        """Runs this field's own (non-priority) binding of `key`, as the app would; True if one ran."""
        for binding in self._bindings.key_to_bindings.get(key, ()):
            if not binding.priority and await self.app.run_action(binding.action, self):
                return True
        return False


class HandsBackInput(OrderedInput):
    """An Input that, once Enter or Escape has handed the keyboard back, leaves the keys
    typed right after them to the app. A person types on before the field has lost its
    focus (a real terminal, fast keys: "9", enter, "1" went into the field as "91" and the
    tab never changed); Pilot waits after each key, and never saw it.

    The keys typed behind Enter wait until whoever takes the value calls `value_taken`:
    the value travels up as messages, the keys as keys, and the keys got there first
    (`0.5 enter space` ran the old network, then the new one was built paused)."""

    handed_back = False
    _held: list[events.Key] | None = None  # keys typed behind Enter, until the value is taken
    _hold_timer = None

    def on_focus(self) -> None:
        self.handed_back = False

    def hand_back(self) -> None:
        self.handed_back = True
        self.screen.set_focus(None)

    def value_taken(self) -> None:
        """The value entered has been used (its messages are posted): the keys typed behind
        it go on, from here, behind those messages."""
        held, self._held = self._held, None
        if self._hold_timer is not None:
            self._hold_timer.stop()
        for key in held or ():
            again = events.Key(key.key, key.character)
            again.set_sender(self.app)  # (the sender's children stop a bubbling message: not the panel's)
            self._forward_event(again)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return not self.handed_back and super().check_consume_key(key, character)

    def _on_key(self, event) -> None:
        # (Textual calls each class's _on_key in turn, OrderedInput's next, unless prevented)
        if self._held is not None:
            event.prevent_default()
            event.stop()
            self._held.append(event)

    def _leaves_to_the_app(self, event) -> bool:
        if event.key in ("enter", "escape"):
            # handed back now, not when the binding's action runs: that comes once the key
            # has bubbled up, and the keys typed behind it are in this field's queue already
            self.handed_back = True
            if event.key == "enter":
                self._held = []
                self._hold_timer = self.set_timer(HOLD_AT_MOST, self.value_taken)
            return True
        if self.handed_back:
            if event.is_printable:
                event.prevent_default()  # not the field's: it bubbles up to the app's bindings
            return True
        return False
