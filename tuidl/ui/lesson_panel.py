"""A lesson beside the views (its text: what to do, what to look for, which key next),
and the picker that opens one (`l`)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, Markdown, OptionList
from textual.widgets.option_list import Option

from tuidl.ui.lists import Options
from tuidl.ui.modal import HOLD_KEYS_BEHIND_ENTER, KeysWaitForTheChoice, Modal
from tuidl.ui.paged import PagedScroll


class LessonPanel(PagedScroll):
    """The open lesson's text; PgUp and PgDn page it (outside the step-through), and
    focused (click or tab) the arrows scroll it."""

    DEFAULT_CSS = """
    LessonPanel { height: auto; max-height: 45%; padding: 0 1; border-bottom: hkey $panel-lighten-2; }
    LessonPanel:focus { background: $accent 15%; }
    LessonPanel > Markdown { margin: 0; padding: 0; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lesson = None

    def compose(self) -> ComposeResult:
        yield Markdown("", id="lesson-text")

    def show(self, lesson) -> None:
        self.lesson = lesson
        self.query_one(Markdown).update(f"**{lesson.title}** (l: other lessons)\n\n{lesson.text}")
        self.scroll_home(animate=False)


class LessonPicker(KeysWaitForTheChoice, Modal):
    """Every shipped lesson by title; enter opens one, escape closes."""

    BINDINGS = [Binding("escape", "dismiss", "close"), Binding("l", "dismiss", "close", show=False),
                HOLD_KEYS_BEHIND_ENTER]
    DEFAULT_CSS = """
    LessonPicker { align: center middle; }
    LessonPicker > Vertical {
        width: 64; max-width: 100%; height: auto; max-height: 80%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    LessonPicker Label { width: 100%; }  /* wraps in the box, never cut */
    LessonPicker OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, lessons: list, current: str | None = None) -> None:
        super().__init__()
        self.lessons = lessons
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Lessons: the lecture, step by step (enter opens one, escape closes)")
            yield Options(*[Option(f"{i}. {lesson.title}", id=lesson.name)
                               for i, lesson in enumerate(self.lessons, 1)], id="lesson-list")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        names = [lesson.name for lesson in self.lessons]
        options.highlighted = names.index(self.current) if self.current in names else 0
        self.set_focus(options)  # now: the keys typed behind l are on their way

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
        self.choice_used()

    def action_dismiss(self, result=None) -> None:  # type: ignore[override]
        self.dismiss(None)
