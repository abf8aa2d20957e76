"""The command palette's entries: every action of the app by name, every field of the
forms (it takes the keyboard), and every choice of dataset, loss, optimizer and device."""
from __future__ import annotations

import contextlib
from typing import Iterable

from textual import on, work
from textual.app import SystemCommand
from textual.command import CommandInput, CommandPalette
from textual.css.query import NoMatches
from textual.widgets import Input
from textual.worker import get_current_worker

from tuidl import config as cfg
from tuidl.ui.modal import HOLD_KEYS_BEHIND_ENTER, DismissOnce, KeysWaitForTheChoice


def commands(app) -> Iterable[SystemCommand]:
    from tuidl.engine.facts import OPTIMIZERS
    from tuidl.lessons import all_lessons
    from tuidl.ui.main_screen import TABS

    yield SystemCommand("Run / pause training", "Train epochs in the training process (space)", app.action_toggle_run)
    yield SystemCommand("Train one epoch", "One pass over the training data (e)", app.action_epoch)
    yield SystemCommand("Step-through: next phase", "Forward, loss, backward, update (n)", app.action_next_phase)
    yield SystemCommand("Step-through: previous phase", "Back one phase (p)", app.main.action_prev_phase)
    yield SystemCommand("Step-through: close", "Back to the charts (escape)", app.main.action_close_step)
    yield SystemCommand("Reset weights", "Re-initialise the network, epoch 0 (r)", app.action_reset)
    yield SystemCommand("Faster training", "More epochs per second (+)", lambda: app.action_speed(1))
    yield SystemCommand("Slower training", "Fewer epochs per second, to watch (-)", lambda: app.action_speed(-1))
    yield SystemCommand("Add a layer", "Add a hidden layer after the selected one (a)", app.action_add_layer)
    yield SystemCommand("Delete the selected layer", "Remove the selected hidden layer (x)", app.action_delete_layer)
    yield SystemCommand("Help: keys and phases", "Every key and what each phase means (?)", app.action_help)
    yield SystemCommand("Lessons", "Pick a lesson of the lecture (l)", app.action_lessons)
    yield SystemCommand("Race variants", "Optimizers, learning rates, … side by side from the same start (R)",
                        app.action_race)
    yield SystemCommand("Gradient check", "Backpropagation's gradients against finite differences (G)",
                        app.action_gradient_check)
    yield SystemCommand("Draw points", "Your own data on the plane: arrows, c class, enter add, delete remove, "
                        "C clear, u undo, escape done; a click adds, a right-click removes (d)",
                        app.main.action_draw_points)
    yield SystemCommand("Gradients view", "Each layer's gradient norm per epoch: vanishing or exploding (g)",
                        app.main.action_toggle_gradients)
    yield SystemCommand("Export to PyTorch", "A standalone script (<stem>.py) and the weights now (<stem>.pt), "
                        "beside the experiment", app.action_export_pytorch)
    yield SystemCommand("Save the run", "A checkpoint with the weights, optimizer state and history (ctrl+s)",
                        app.action_save)
    yield SystemCommand("Save the run as…", "A checkpoint under another name", app.action_save_as)
    yield SystemCommand("Save the experiment as TOML…", "The settings only, as an experiment file", app.action_save_toml)
    for lesson in all_lessons():
        yield SystemCommand(f"Lesson: {lesson.title}", "Open this lesson (re-initialises)",
                            lambda name=lesson.name: app.open_lesson(name))
    for i, (tab, name) in enumerate(TABS.items(), 1):
        yield SystemCommand(f"Show the {name} tab", f"Open the {name} form ({i})", lambda t=tab: app.main.action_tab(t))
    for tab, label, widget_id in app.main.fields():
        yield SystemCommand(f"Field: {label} ({tab})", "Go to this field: type a value, enter applies it",
                            lambda w=widget_id: app.main.focus_field(w))
    for d in cfg.choosable_datasets(app.exp):  # as the Data tab lists them
        yield SystemCommand(f"Dataset: {d}", "Use this dataset (re-initialises)", lambda d=d: app.action_choose("dataset", d))
    for x in cfg.LOSSES:
        yield SystemCommand(f"Loss: {x}", "Use this loss (re-initialises)", lambda x=x: app.action_choose("loss", x))
    for x in cfg.OPTIMIZERS:
        yield SystemCommand(f"Optimizer: {OPTIMIZERS[x].label}", "Use this optimizer (re-initialises)",
                            lambda x=x: app.action_choose("optimizer", x))
    for x in cfg.DEVICES:
        yield SystemCommand(f"Device: {x}", "Train on this device (re-initialises)", lambda x=x: app.action_choose("device", x))


class Palette(KeysWaitForTheChoice, DismissOnce, CommandPalette):
    """Textual's command palette, made safe for fast typing (found by random keys in a real
    terminal): it closes once, since a second `enter` typed before it has gone would run
    the command again and pop the main screen (ScreenStackError); an `enter` typed while
    the search for what was typed before it still runs waits for that search, and then
    picks its best match (it picked the best match of fewer letters); a page key that
    arrives while the list of matches is being refilled moves nothing (KeyError); and what
    Textual's palette still does after it has begun to close (a watcher, the "no matches"
    countdown, a cursor key, the search it started) finds its widgets gone and does nothing
    (NoMatches). On a plain background, as the app's modal screens are (tuidl/ui/modal.py)."""

    DEFAULT_CSS = "Palette { background: $background; }"
    BINDINGS = [HOLD_KEYS_BEHIND_ENTER]

    def _watch__list_visible(self) -> None:
        with contextlib.suppress(NoMatches):
            super()._watch__list_visible()

    async def _watch__show_busy(self) -> None:
        with contextlib.suppress(NoMatches):
            await super()._watch__show_busy()

    _searched: str | None = None  # what the last search that ran to its end looked for
    _enter_waiting = False  # an enter came while the search for what is typed still ran

    @work(exclusive=True, group=CommandPalette._GATHER_COMMANDS_GROUP)
    async def _gather_commands(self, search_value: str) -> None:
        with contextlib.suppress(NoMatches):  # the search a key or the opening started
            await CommandPalette._gather_commands.__wrapped__(self, search_value)
        if get_current_worker().is_cancelled:  # the next key started another search
            return
        self._searched = search_value
        if self._enter_waiting:
            self._enter_waiting = False
            self._select_or_command()

    def _start_no_matches_countdown(self, search_value: str) -> None:
        with contextlib.suppress(NoMatches):
            super()._start_no_matches_countdown(search_value)

    def _action_cursor_down(self) -> None:
        with contextlib.suppress(NoMatches):
            super()._action_cursor_down()

    _selecting = False  # an enter has picked a line of the list: its command follows

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        event.prevent_default()  # Textual's own handler of it would not come here
        self._select_or_command(event)

    def _select_or_command(self, event=None) -> None:
        if self._dismissing:
            return
        if self._selected_command is None and self._searched != self.query_one(CommandInput).value.strip():
            self._enter_waiting = True  # the keys behind the enter stay held meanwhile
            return
        self._selecting = False
        super()._select_or_command(event)
        if self._dismissing or not self._selecting:
            self.choice_used()  # after the command (queued by Textual's palette), or at once: none chosen

    def _action_command_list(self, action: str) -> None:
        self._selecting = action == "select"
        try:
            super()._action_command_list(action)
        except (KeyError, IndexError):
            pass  # the list is being refilled: its lines and its options disagree for a moment
