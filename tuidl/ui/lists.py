"""Textual's option lists, safe for fast keys: a page key that arrives before a list has
laid out its lines (a Select's drop-down just opened, a list not drawn yet) moves nothing,
instead of a KeyError ending the app (found by random keys in a real terminal)."""
from __future__ import annotations

from textual.widgets import OptionList, Select, SelectionList
from textual.widgets._select import SelectCurrent, SelectOverlay


class PagesOnceLaidOut:
    """Mixed into an OptionList: PgUp/PgDn before its lines exist do nothing."""

    def _move_page(self, direction) -> None:
        if self._index_to_line:  # type: ignore[attr-defined]  # filled when the list is laid out
            super()._move_page(direction)  # type: ignore[misc]


class Options(PagesOnceLaidOut, OptionList):
    pass


class Selections(PagesOnceLaidOut, SelectionList):
    pass


class _Overlay(PagesOnceLaidOut, SelectOverlay):
    pass


class Choice(Select):
    """A Select whose drop-down is an _Overlay (composed as Select composes its own)."""

    def compose(self):
        yield SelectCurrent(self.prompt)
        yield _Overlay(type_to_search=self._type_to_search).data_bind(compact=Select.compact)
