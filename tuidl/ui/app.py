"""The tuidl app: it holds the experiment, the session and the actions; the main screen
shows them.

The first frame is the main screen's skeleton (only Textual, config and the top bar are
imported for it). Right after it is drawn the app makes the dataset (numpy), the screen
mounts the views and the forms, and the session starts the engine (torch) in a child
process. Everything the engine says arrives as an `EngineEvent` message, posted from the
session's thread; the UI thread never waits on training.
"""
from __future__ import annotations

import copy
import gc
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from tuidl import config as cfg
from tuidl.config import ConfigError, Experiment
from tuidl.ui.engine_events import EngineEvent, EngineEvents
from tuidl.ui.keys_follow_focus import KeysFollowFocus
from tuidl.ui.main_screen import MainScreen
from tuidl.ui.points_actions import PointsActions
from tuidl.ui.save import SaveActions
from tuidl.ui.too_small import TooSmallGuard
from tuidl.ui.views import arch

if TYPE_CHECKING:
    from tuidl.session import Session, Snapshot

GC_YOUNGEST = 10_000  # allocations between collections of the youngest objects (Python's default: 700)
GC_FULL_EVERY = 100  # collections of the middle generation per full one (Python's default: 10)
SOURCE = "refused"  # the name a refused form value is reported under


class TuidlApp(KeysFollowFocus, PointsActions, SaveActions, EngineEvents, TooSmallGuard, App):  # SaveActions: ctrl+s, and a quit that asks
    # TooSmallGuard: below 60×20, a "terminal too small" screen covers the app until it is larger
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses elsewhere work too
    TITLE = "tuidl"
    BINDINGS = [
        Binding("space", "toggle_run", "run/pause"),
        Binding("e", "epoch", "epoch"),
        Binding("n", "next_phase", "next phase"),
        Binding("r", "reset", "reset"),
        Binding("a", "add_layer", "add layer", show=False),
        Binding("x", "delete_layer", "delete layer", show=False),
        Binding("plus,equals_sign", "speed(1)", "faster", show=False),
        Binding("minus", "speed(-1)", "slower", show=False),
        Binding("l", "lessons", "lessons"),
        Binding("R", "race", "race"),
        Binding("G", "gradient_check", "gradient check", show=False),
        Binding("question_mark", "help", "help"),
        Binding("q", "quit", "quit"),
        Binding("ctrl+s", "save", "save"),
    ]

    def __init__(self, exp: Experiment | None = None, path: str | None = None, *, checkpoint: str | None = None,
                 lesson=None, deterministic: bool = False, in_process: bool = False):
        """checkpoint: open a saved run where it stopped. lesson: a tuidl.lessons.Lesson whose text
        is shown beside the views (exp is its experiment). deterministic: no rates or machine
        details on screen (snapshots). in_process: train in a thread of this process, not a child
        process (tests)."""
        super().__init__()
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            # The tabs' underline slides for 0.3 s after each tab key: some 18 frames that the
            # next key waits behind (and bytes over SSH). TEXTUAL_ANIMATIONS=full brings it back.
            self.animation_level = "none"
        self.lesson = lesson
        self.exp = copy.deepcopy(exp) if exp is not None else cfg.default_experiment()
        self.path = path
        self.checkpoint = checkpoint
        self.deterministic = deterministic
        self.in_process = in_process
        self.selected_layer: int | None = 0 if self.exp.model.hidden else None
        self.dataset = None  # made right after the first frame (numpy)
        self.session: Session | None = None
        self.snap: Snapshot | None = None
        self.load_error: str | None = None
        self.last_message = ""
        self.speed: float | None = None  # epochs per second; None: as fast as it goes
        self._awaiting_step: int | None = None  # the id of the Step command the step-through waits for
        self._phases_ahead = 0  # presses of n while it waits: a person does not wait for the step
        self._build_id = 0  # the id of the last Build command
        self.race_screen = None  # the race view, installed the first time it is opened (R)

    def get_default_screen(self) -> MainScreen:
        self.main = MainScreen(self.exp, self.deterministic, self.lesson)
        return self.main

    def on_mount(self) -> None:
        self.call_after_refresh(self._after_first_frame)

    def update_styles(self, node, animate: bool = True) -> None:
        """Restyle a node whose classes changed, unless it is not mounted yet: mounting styles
        it anyway. Textual restyles it at once, for each class its constructor sets (every
        compact field sets one): a sixth of the app's start went into that."""
        if node is self or node.is_attached:
            super().update_styles(node, animate)

    async def on_event(self, event) -> None:
        from textual import events

        if isinstance(event, (events.Key, events.MouseDown)):
            self.input_at = time.monotonic()  # the drawing of snapshots waits a moment (engine_events.py)
        await super().on_event(event)

    async def _after_first_frame(self) -> None:
        from tuidl.data import make_dataset
        from tuidl.session import Session

        self.dataset = make_dataset(self.exp.data)
        try:
            await self.main.fill(self.dataset)
        except Exception:  # noqa: BLE001 - the app was closed while the panes were being mounted
            if not self.is_running or self.return_code is not None:
                return
            raise
        if not self.is_running or self.return_code is not None:
            return
        # The cyclic GC's full collections paused the app for 100–200 ms at a time, often enough
        # to be felt on keys (measured by `tuidl bench --live`). The screen's objects (widgets,
        # styles, CSS: ~130,000) live as long as the app: out of the collections; and the
        # collections come rarer (cycles of garbage wait a little longer to be freed).
        gc.freeze()
        gc.set_threshold(GC_YOUNGEST, 10, GC_FULL_EVERY)
        self.session = Session(self.exp, self.dataset, source=self.path or "<experiment>",
                               deliver=lambda event: self.post_message(EngineEvent(event)),
                               in_process=self.in_process, checkpoint=self.checkpoint)
        self.session.start()
        if self.exp.race:  # an experiment that names a race opens as one
            self.action_race()

    def on_unmount(self) -> None:
        if self.session is not None:
            self.session.stop()
        if self.race_screen is not None:
            self.race_screen.stop()

    @on(MainScreen.GridWanted)
    def grid_wanted(self, message: MainScreen.GridWanted) -> None:
        from tuidl.session.commands import SetGrid

        if self.session is not None:
            self.session.send(SetGrid(*message.size))

    def say(self, text: str, error: bool = False) -> None:
        self.last_message = text
        self.main.show_message(text, error)
        if error:
            self.notify(text, severity="error", timeout=6)

    # -- the side panel's requests -------------------------------------------------------
    def on_side_panel_edit(self, message) -> None:
        self.apply(message.change, message.what)

    def on_side_panel_layer_selected(self, message) -> None:
        self.select_layer(message.index)

    def on_side_panel_speed_changed(self, message) -> None:
        self.set_speed(message.epochs_per_second)

    def on_network_diagram_layer_clicked(self, message) -> None:
        if message.layer < len(self.exp.model.hidden):
            self.select_layer(message.layer)
            self.main.action_tab("network")

    def on_network_diagram_weight_edited(self, message) -> None:
        from tuidl.session.commands import SetWeight
        from tuidl.ui.diagram_cursor import entry_name

        if not self._engine_ready():
            return
        self._forget_step()  # the step shown had the old weight: n takes a new one
        self.session.send(SetWeight(message.layer, message.row, message.col, message.value))
        self.main.edited[(message.layer, message.row, message.col)] = message.value
        self.say(f"{entry_name(message.layer, message.row, message.col)} set to {message.value:g}: "
                 "the boundary shows it now; training moves it on")

    def on_network_diagram_neuron_view_requested(self, message) -> None:
        from tuidl.session.commands import SetPlaneView

        if self._engine_ready():
            self.session.send(SetPlaneView(message.layer, message.unit))

    def select_layer(self, index: int | None) -> None:
        if index != self.selected_layer:
            self.selected_layer = index
            self.main.show_selected(index)

    def _clamp_selection(self) -> None:
        hidden = self.exp.model.hidden
        if not hidden:
            self.selected_layer = None
        elif self.selected_layer is None or self.selected_layer >= len(hidden):
            self.selected_layer = len(hidden) - 1 if self.selected_layer is not None else 0

    def apply(self, change: Callable[[Experiment], Experiment], what: str, select: int | None = -1) -> bool:
        """Change a copy of the experiment and validate it; use it (re-initialising) or refuse it.

        select: the hidden layer to select afterwards (-1: keep the selection)."""
        if self.session is None:
            return False  # a key pressed before the engine was started
        try:
            new = change(copy.deepcopy(self.exp))
            cfg.validate(new, SOURCE)
        except (ConfigError, ValueError) as err:
            self.refuse(str(err))
            return False
        if new == self.exp:
            self.main.show_experiment(self.exp, self.selected_layer)  # the form shows the value in use
            return False
        dataset = None
        if new.data != self.exp.data:
            from tuidl.data import make_dataset

            try:
                dataset = make_dataset(new.data)
            except Exception as err:  # noqa: BLE001 - refused, never a crash
                self.refuse(f"{what}: {err}")
                return False
        old, self.exp = self.exp, new
        if select != -1:
            self.selected_layer = select
        self._clamp_selection()
        self._send_change(old, new, dataset, what)
        self.main.side.clear_error()
        self.main.show_experiment(new, self.selected_layer, dataset)
        return True

    def _send_change(self, old: Experiment, new: Experiment, dataset, what: str) -> None:
        from tuidl.session.commands import Build, SetEpochs

        only_epochs = copy.deepcopy(old)
        only_epochs.train.epochs = new.train.epochs
        if only_epochs == new:  # more epochs go on training the same weights
            self.session.send(SetEpochs(new.train.epochs))
            return
        if dataset is not None:
            self.dataset = dataset
        notice = f"{what}: network re-initialised ({arch(new)}, epoch 0)"
        self.main.edited.clear()
        self._build_id = self.session.send(Build(copy.deepcopy(new), self.dataset, notice))
        self._forget_step()
        self.say(notice)

    def refuse(self, message: str) -> None:
        self.main.side.show_error(message)
        self.main.show_experiment(self.exp, self.selected_layer)
        self.say(message, error=True)

    def _forget_step(self) -> None:
        """The step shown, or on its way, belongs to weights that are gone."""
        self._awaiting_step, self._phases_ahead = None, 0
        self.main.leave_step(clear=True)

    # -- actions -------------------------------------------------------------------------
    def _engine_ready(self) -> bool:
        if self.load_error:
            self.notify(self.load_error, severity="error")
            return False
        if self.snap is None or self.snap.exp is None:
            self.notify("loading PyTorch… the controls work once the engine has loaded", timeout=3)
            return False
        return True

    def _send(self, command, leave_step: bool = True) -> int | None:
        if not self._engine_ready():
            return None
        if leave_step:
            self.main.leave_step()
        return self.session.send(command)

    def action_toggle_run(self) -> None:
        from tuidl.session.commands import Toggle

        if (self.snap is None or not self.snap.running) and self.points_hold():
            return  # points drawn by hand that cannot train yet
        self._send(Toggle())

    def action_epoch(self) -> None:
        from tuidl.session.commands import TrainEpochs

        if not self.points_hold():
            self._send(TrainEpochs(1))

    def action_reset(self) -> None:
        from tuidl.session.commands import Reset

        if self._engine_ready():
            self._forget_step()
            self.main.edited.clear()
            self.session.send(Reset())

    def action_next_phase(self) -> None:
        from tuidl.session.commands import Pause, Step

        if not self._engine_ready() or self.points_hold():
            return
        if self.snap.running:
            self.session.send(Pause())
        self.main.enter_step()
        if self._awaiting_step is not None:
            self._phases_ahead += 1  # shown once the step is here
            return
        panel = self.main.step_panel
        if panel.cursor is None or not panel.next_phase():
            self._awaiting_step = self.session.send(Step())

    def action_speed(self, direction: int) -> None:
        from tuidl.session import faster, slower

        self.set_speed(faster(self.speed) if direction > 0 else slower(self.speed))

    def set_speed(self, speed: float | None) -> None:
        from tuidl.session import speed_label
        from tuidl.session.commands import SetSpeed

        self.speed = speed
        if self.main.filled:
            self.main.side.set_speed(speed_label(speed))
        if self.session is not None:
            self.session.send(SetSpeed(speed))
        self.say(f"speed: {speed_label(speed)} (+ faster, - slower)")

    def action_add_layer(self) -> None:
        new_index = {}

        def change(exp: Experiment) -> Experiment:
            exp, new_index["i"] = cfg.insert_layer(exp, self.selected_layer)
            return exp

        if self.apply(change, "added a layer"):
            self.select_layer(new_index["i"])

    def action_delete_layer(self) -> None:
        if self.selected_layer is None or not self.exp.model.hidden:
            self.refuse("no hidden layer to delete")
            return
        i = self.selected_layer
        after = {}

        def change(exp: Experiment) -> Experiment:
            exp, after["select"] = cfg.delete_layer(exp, i)
            return exp

        self.apply(change, f"deleted layer H{i + 1}", select=None)
        if "select" in after:
            self.select_layer(after["select"])

    def action_gradient_check(self) -> None:
        from tuidl.session.commands import GradCheck

        if self._send(GradCheck(), leave_step=False) is not None:
            self.say("gradient check: backpropagation against finite differences, in float64…")

    def action_lessons(self) -> None:
        from tuidl.lessons import all_lessons
        from tuidl.ui.lesson_panel import LessonPicker

        if not isinstance(self.screen, LessonPicker):
            current = self.lesson.name if self.lesson is not None else None
            self.push_screen(LessonPicker(all_lessons(), current), self.open_lesson)

    def open_lesson(self, name: str | None) -> None:
        """Use the lesson's experiment (re-initialising) and show its text."""
        from tuidl.lessons import load

        if name is None or not self._engine_ready():
            return
        exp, lesson = load(name)
        self.apply(lambda _: exp, f"lesson {lesson.title}", select=0 if exp.model.hidden else None)
        self.lesson = lesson
        self.main.show_lesson(lesson)
        if exp.race:  # a lesson that races opens in the race view
            self.action_race()

    def action_race(self) -> None:
        """The race view: variants of this experiment side by side (the file's [race], or
        the five optimizers)."""
        from tuidl.ui.race_screen import RaceScreen

        if self.dataset is None or isinstance(self.screen, RaceScreen) or self.screen is not self.main:
            return
        if self.race_screen is None:
            self.race_screen = RaceScreen(self.exp, self.dataset, lesson=self.lesson, source=self.path or "<experiment>",
                                          in_process=self.in_process, deterministic=self.deterministic)
            self.install_screen(self.race_screen, "race")
        else:
            self.race_screen.show_experiment(self.exp, self.dataset, self.lesson)
        self.push_screen("race")

    def on_race_screen_vary_changed(self, message) -> None:
        self.exp.race = message.vary  # kept with the experiment: saved with it, and R opens it again

    def action_help(self) -> None:
        from tuidl.ui.help import (
            HelpScreen,  # Markdown is imported on first use, off the first frame
        )

        if not isinstance(self.screen, HelpScreen):
            if "help" not in self._installed_screens:  # kept: its Markdown is laid out once, not at every ?
                self.install_screen(HelpScreen(), "help")
            self.push_screen("help")

    def action_choose(self, key: str, value: str) -> None:
        """The palette's choices: dataset, loss, optimizer or device by name."""
        rules = {
            "dataset": lambda e: cfg.change_dataset(e, value),
            "optimizer": lambda e: cfg.change_optimizer(e, value),
            "loss": lambda e: _with(e, "train", "loss", value),
            "device": lambda e: _with(e, "train", "device", value),
        }
        self.apply(rules[key], f"{key} {value}")

    # -- command palette -----------------------------------------------------------------
    def action_command_palette(self) -> None:
        from tuidl.ui.palette import Palette

        # a palette still being taken down holds the id: a new one now would crash (DuplicateIds,
        # found by fast keys in a real terminal); the press does nothing, the next one opens it
        closing = any(isinstance(node, Palette) for node in self._nodes)  # the app's screens, popped or not
        if self.use_command_palette and not Palette.is_open(self) and not closing:
            self.push_screen(Palette(id="--command-palette"))

    def search_themes(self) -> None:  # the palette's "Theme": the same safe palette
        from textual.theme import ThemeProvider

        from tuidl.ui.palette import Palette

        self.push_screen(Palette(providers=[ThemeProvider], placeholder="Search for themes…"))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from tuidl.ui.palette import commands

        yield from super().get_system_commands(screen)
        yield from commands(self)


def _with(exp: Experiment, section: str, name: str, value: object) -> Experiment:
    setattr(getattr(exp, section), name, value)
    return exp


def main(argv: list[str] | None = None) -> None:
    """`python -m tuidl.ui [FILE.toml]`: the app without the CLI."""
    args = sys.argv[1:] if argv is None else argv
    exp = cfg.load(args[0]) if args else cfg.default_experiment()
    TuidlApp(exp, path=args[0] if args else None).run()
