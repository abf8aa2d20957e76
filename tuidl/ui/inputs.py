"""Text fields for keys typed fast: their own editing keys act in the order typed, and the
side panel's hand the keyboard back to the app. Light to import (only Textual's Input):
the modals that ask for a file name or a weight use them too."""
from __future__ import annotations

from textual.widgets import Input

from tuidl.ui.held_keys import KeysWaitForTheValue


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


class HandsBackInput(KeysWaitForTheValue, OrderedInput):
    """An Input that, once Enter or Escape has handed the keyboard back, leaves the keys
    typed right after them to the app. A person types on before the field has lost its
    focus (a real terminal, fast keys: "9", enter, "1" went into the field as "91" and the
    tab never changed); Pilot waits after each key, and never saw it. The keys behind Enter
    wait until whoever takes the value calls `value_taken` (tuidl/ui/held_keys.py)."""

    handed_back = False

    def on_focus(self) -> None:
        self.handed_back = False

    def hand_back(self) -> None:
        self.handed_back = True
        self.screen.set_focus(None)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return not self.handed_back and super().check_consume_key(key, character)

    def _leaves_to_the_app(self, event) -> bool:
        if event.key in ("enter", "escape"):
            # handed back now, not when the binding's action runs: that comes once the key
            # has bubbled up, and the keys typed behind it are in this field's queue already
            self.handed_back = True
            return True
        if self.handed_back:
            if event.is_printable:
                event.prevent_default()  # not the field's: it bubbles up to the app's bindings
            return True
        return False
