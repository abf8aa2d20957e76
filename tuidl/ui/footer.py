"""The footer: Textual's, redrawn only when the keys it shows change.

Textual's Footer mounts a fresh widget per key each time the screen's bindings are
updated: twice at every focus move and at half the tab keys, though most of those change
nothing it shows (the fields' own keys are hidden). Each redraw mounted and styled a dozen
widgets: some 10 ms a time on a slow machine, on every Tab through the side panel.
"""
from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


def shown_keys(screen: Screen) -> tuple:
    """What the footer draws from the screen's bindings: each shown key with whether it is
    enabled and its tooltip, and the command palette's key."""
    palette = screen.app.COMMAND_PALETTE_BINDING
    return tuple((binding, enabled, tooltip) for key, (_, binding, enabled, tooltip) in screen.active_bindings.items()
                 if binding.show or key == palette)


class KeysFooter(Footer):
    _shown: tuple | None = None  # what the footer was last composed with

    def bindings_changed(self, screen: Screen) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            shown = shown_keys(screen)
            if shown == self._shown:
                return
            self._shown = shown
        super().bindings_changed(screen)

    def compose(self):
        for widget in super().compose():
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
                # A key's own compact flag starts True and follows the footer's once mounted
                # (the palette's key keeps its own): set now, it saves restyling each key twice.
                widget.set_reactive(FooterKey.compact, self.compact)
            yield widget
