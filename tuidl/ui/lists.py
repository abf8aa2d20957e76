"""Textual's option lists, safe for fast keys: a page key that arrives before a list has
laid out its lines (a Select's drop-down just opened, a list not drawn yet) moves nothing,
instead of a KeyError ending the app (found by random keys in a real terminal); and the
keys typed behind a drop-down's Enter, or a list's toggle, wait until the choice is in use
(held_keys.py)."""
from __future__ import annotations

from textual.widgets import OptionList, Select, SelectionList
from textual.widgets._select import SelectCurrent, SelectOverlay

from tuidl.ui.held_keys import KeysWaitForTheValue


class PagesOnceLaidOut:
    """Mixed into an OptionList: PgUp/PgDn before its lines exist do nothing."""

    def _move_page(self, direction) -> None:
        if self._index_to_line:  # type: ignore[attr-defined]  # filled when the list is laid out
            super()._move_page(direction)  # type: ignore[misc]


class Options(PagesOnceLaidOut, OptionList):
    pass


class Selections(KeysWaitForTheValue, PagesOnceLaidOut, SelectionList):
    HOLD_AFTER = ("enter", "space")  # toggle the highlighted line


class _Overlay(KeysWaitForTheValue, PagesOnceLaidOut, SelectOverlay):
    def _keys_go_on_from(self):
        return self.parent  # the Select: the list would take a letter or a space as a search


class Choice(Select):
    """A Select whose drop-down is an _Overlay (composed as Select composes its own)."""

    def compose(self):
        yield SelectCurrent(self.prompt)
        overlay = _Overlay(type_to_search=self._type_to_search)
        overlay.compact = self.compact  # before it is mounted: else it is styled all over again once it is
        yield overlay.data_bind(compact=Select.compact)

    def action_show_overlay(self) -> None:
        super().action_show_overlay()
        # the list takes the focus now (Select's focus waits behind the keys typed after this
        # one, which then reopened the list instead of moving its cursor)
        self.screen.set_focus(self.query_one(_Overlay), scroll_visible=False)

    def value_taken(self) -> None:
        """The value chosen is in use: the keys typed behind the choice go on."""
        self.query_one(_Overlay).value_taken()
