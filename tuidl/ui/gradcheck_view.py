"""The gradient check's report on screen: a modal over the main screen, `escape` closes it.

The app sends GradCheck, the worker answers GradCheckDone(report); the app pushes
GradCheckScreen(report). The table is explain/gradcheck.py's, the one `tuidl gradcheck`
prints.
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from tuidl.engine.records import GradCheckReport
from tuidl.ui.modal import Modal


class GradCheckScreen(Modal):
    BINDINGS = [
        Binding("escape", "close", "close"),
        Binding("q", "close", "close", show=False),
    ]
    DEFAULT_CSS = """
    GradCheckScreen { align: center middle; }
    GradCheckScreen > VerticalScroll {
        width: 100; max-width: 100%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    GradCheckScreen #gradcheck-close { color: $text-muted; }
    """

    def __init__(self, report: GradCheckReport) -> None:
        super().__init__()
        self.report = report

    def compose(self) -> ComposeResult:
        from tuidl.explain.gradcheck import report_renderable

        with VerticalScroll(id="gradcheck-scroll"):
            yield Static(report_renderable(self.report, explain=True), id="gradcheck-report")
            yield Static("escape: close", id="gradcheck-close")

    def action_close(self) -> None:
        self.dismiss(None)
