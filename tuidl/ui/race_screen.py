"""The race view: variants of the experiment trained side by side from the same start.

The screen owns its race: a Session whose worker is a RaceWorker (a training process of
its own), started when the screen is first shown and stopped when it is removed. The app
installs it once and shows it again with `R`; `show_experiment` hands it the app's
experiment (attributes down) and it rebuilds the race when that changed. Editing the vary
field posts VaryChanged (messages up) so that the app keeps the race in its experiment.

Keys: space race/pause, e one epoch, r race again from the start, ↑/↓ a variant, n the
step-through of that variant (on a copy: the race does not move), p back, [ ] example,
v the vary field, escape closes the step-through, then goes back to the main screen.
"""
from __future__ import annotations

import copy

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Input, Static

from tuidl import config as cfg
from tuidl.ui.footer import KeysFooter
from tuidl.race_plan import RaceError, parse_vary, vary_text
from tuidl.session import commands as c
from tuidl.session.race_worker import RaceProgress, StepVariant
from tuidl.ui.engine_events import EngineEvent
from tuidl.ui.inputs import HandsBackInput
from tuidl.ui.lesson_panel import LessonPanel
from tuidl.ui.race_view import RaceCharts, RacePlanes, RaceTable
from tuidl.ui.stepthrough import StepThroughPanel
from tuidl.ui.views import arch

# What a race varies when the experiment says nothing: the lecture's five optimizers.
DEFAULT_VARY = {"optimizer": list(cfg.OPTIMIZERS)}
COMPACT_HEIGHT = 32
MAIN_SCREEN_KEYS = "a,x,plus,equals_sign,minus,G,l,w,g,1,2,3,4"


def race_of(exp: cfg.Experiment) -> cfg.Experiment:
    """The experiment the race runs: exp, with its [race] or the default one."""
    out = copy.deepcopy(exp)
    if not out.race:
        out.race = copy.deepcopy(DEFAULT_VARY)
    return out


class VaryInput(HandsBackInput):
    """The race's settings as text. Enter applies (the screen rebuilds the race), Escape
    restores the race in use; both hand the keyboard back."""

    BINDINGS = [Binding("escape", "restore", "restore", show=False)]

    def __init__(self, text: str, **kwargs) -> None:
        super().__init__(text, compact=True, select_on_focus=True, **kwargs)
        self.in_use = text

    def action_restore(self) -> None:
        self.value = self.in_use
        self.hand_back()


class RaceScreen(Screen):
    AUTO_FOCUS = ""  # nothing focused (None would take the app's "*"): the race's keys work at once
    BINDINGS = [
        Binding("space", "toggle", "race/pause"),
        Binding("e", "epoch", "epoch"),
        Binding("r", "restart", "restart"),
        Binding("n", "next_phase", "step variant"),
        Binding("p", "prev_phase", "prev phase", show=False),
        Binding("v", "edit_vary", "vary"),
        Binding("up", "move(-1)", "prev variant", show=False),
        Binding("down", "move(1)", "next variant", show=False),
        Binding("left_square_bracket", "example(-1)", "prev example", show=False),
        Binding("right_square_bracket", "example(1)", "next example", show=False),
        Binding("pageup", "scroll_step(-1)", "page up", show=False),
        Binding("pagedown", "scroll_step(1)", "page down", show=False),
        Binding("escape", "back", "back"),
        Binding(MAIN_SCREEN_KEYS, "main_only", show=False),
    ]
    DEFAULT_CSS = """
    RaceScreen #race-header { height: 1; padding: 0 1; background: $boost; }
    RaceScreen #race-vary-row { height: 1; padding: 0 1; }
    RaceScreen #race-vary-label { width: auto; color: $text-muted; }
    RaceScreen VaryInput { width: 1fr; }
    RaceScreen #race-top { height: 2fr; }
    RaceScreen RaceCharts { border: round $primary-darken-2; width: 2fr; }
    RaceScreen #race-lesson { width: 1fr; height: 1fr; max-height: 100%; border-bottom: none; }
    RaceScreen #race-bottom { height: 3fr; }
    RaceScreen RaceTable { height: auto; max-height: 10; }
    RaceScreen #race-switch { height: 1fr; border: round $primary-darken-2; }
    RaceScreen #race-message { height: 1; padding: 0 1; color: $text-muted; }
    RaceScreen #race-message.-error { color: $error; }
    RaceScreen.-compact.-stepping #race-top { display: none; }
    """

    class VaryChanged(Message):
        """The learner set what the race varies (a dict as in Experiment.race)."""

        def __init__(self, vary: dict) -> None:
            super().__init__()
            self.vary = vary

    def __init__(self, exp: cfg.Experiment, dataset, *, lesson=None, source: str = "<experiment>",
                 in_process: bool = False, deterministic: bool = False) -> None:
        """lesson: a tuidl.lessons.Lesson whose text is shown beside the curves (None: none)."""
        super().__init__(id="race")
        self.exp = race_of(exp)
        self.lesson = lesson
        self.dataset = dataset
        self.source = source
        self.in_process = in_process
        self.deterministic = deterministic
        self.session = None
        self.progress = None  # the last RaceProgress
        self._awaiting_step: int | None = None
        self._phases_ahead = 0  # presses of n while a step is coming: a person does not wait for it
        self._step_variant: int | None = None
        self._grid: tuple[int, int] | None = None  # the small planes' resolution last asked for

    def compose(self) -> ComposeResult:
        yield Static("", id="race-header")
        with Horizontal(id="race-vary-row"):
            yield Static("vary: ", id="race-vary-label")
            yield VaryInput(vary_text(self.exp.race), id="race-vary")
        with Horizontal(id="race-top"):
            yield RaceCharts()
            yield LessonPanel(id="race-lesson")
        with Vertical(id="race-bottom"):
            yield RaceTable(id="race-table")
            with ContentSwitcher(id="race-switch", initial="race-planes"):
                yield RacePlanes(id="race-planes")
                yield StepThroughPanel(id="race-step")
        yield Static("", id="race-message")
        yield KeysFooter()

    def on_mount(self) -> None:
        from tuidl.session import Session
        from tuidl.session.race_worker import RaceWorker

        self.query_one("#race-switch").border_title = "decision boundary per variant"
        self.query_one(RaceCharts).border_title = "loss per epoch · same initial weights, same batches"
        self._header()
        self._show_lesson()
        self.session = Session(self.exp, self.dataset, self.source,
                               deliver=lambda event: self.post_message(EngineEvent(event)),
                               in_process=self.in_process, worker=RaceWorker)
        self.session.start()

    def on_unmount(self) -> None:
        self.stop()

    def stop(self) -> None:
        """End the race's training process (the app calls this when it closes)."""
        if self.session is not None:
            self.session.stop()
            self.session = None

    def on_screen_suspend(self) -> None:
        self._send(c.Pause())  # the race waits while the learner is on the main screen

    # -- attributes down -----------------------------------------------------------------
    def show_experiment(self, exp: cfg.Experiment, dataset, lesson=None) -> None:
        """The app's experiment (and lesson): a new race when it changed."""
        self.lesson = lesson
        self._show_lesson()
        new = race_of(exp)
        if new == self.exp and dataset is self.dataset:
            return
        self.exp, self.dataset = new, dataset
        self.query_one(VaryInput).in_use = self.query_one(VaryInput).value = vary_text(new.race)
        self._build()

    # -- the race's events ---------------------------------------------------------------
    async def on_engine_event(self, message: EngineEvent) -> None:
        from tuidl.session import events as ev

        message.stop()  # the race's events are this screen's, never the app's
        event = message.event
        if isinstance(event, RaceProgress):
            await self._progress(event)
        elif isinstance(event, ev.StepTaken) and event.command_id == self._awaiting_step:
            self._awaiting_step = None
            self.query_one("#race-switch", ContentSwitcher).current = "race-step"
            self.add_class("-stepping")
            self._step_panel.show_record(event.record)
            self._retitle_step()
            for _ in range(self._phases_ahead):
                self._step_panel.next_phase()
            self._phases_ahead = 0
        elif isinstance(event, (ev.Failed, ev.EngineFailed)):
            self.say(event.message, error=True)
        elif isinstance(event, ev.Notice):
            self.say(event.message)

    async def _progress(self, progress) -> None:
        first_of_build = self.progress is None or self.progress.build != progress.build
        self.progress = progress
        if progress.error:
            self.say(progress.error, error=True)
        elif first_of_build:
            self.say("")
        planes = self.query_one(RacePlanes)
        dataset = self.dataset if self.dataset is not None and self.dataset.has_plane else None
        await planes.set_variants(progress.names, dataset)
        self.query_one(RaceTable).show(progress.names, progress.table)
        self.query_one(RaceCharts).show(progress.build, progress.curves)
        planes.show(progress.boundaries)
        self._header()
        self._ask_grid()

    def _ask_grid(self) -> None:
        size = self.query_one(RacePlanes).grid_size
        if size != (0, 0) and size != self._grid:
            self._grid = size
            self._send(c.SetGrid(*size))

    def on_resize(self, event) -> None:
        self.set_class(event.size.height < COMPACT_HEIGHT, "-compact")  # the step-through takes the charts' room

    def on_boundary_plane_resized(self, message) -> None:
        message.stop()
        self._ask_grid()

    # -- drawing -------------------------------------------------------------------------
    def _header(self) -> None:
        p = self.progress
        text = Text("race", style="bold")
        text.append(f" · {self.exp.data.dataset} · {arch(self.exp)}")
        if p is not None and not p.error:
            state = "racing" if p.running else "finished" if p.finished else "paused"
            text.append(f" · {len(p.names)} variants · epoch {p.epoch}/{p.epochs} · ")
            text.append(state, style="green" if p.running else "yellow")
            if not self.deterministic and p.device_label:
                text.append(f" · {p.device_label} · {p.seconds:.1f} s")
        self.query_one("#race-header", Static).update(text)

    def _show_lesson(self) -> None:
        panel = self.query_one(LessonPanel)
        panel.display = self.lesson is not None
        if self.lesson is not None:
            panel.show(self.lesson)

    def say(self, text: str, error: bool = False) -> None:
        line = self.query_one("#race-message", Static)
        line.update(Text(text))  # the learner's own text may hold [brackets]: never markup
        line.set_class(error, "-error")

    @property
    def _step_panel(self) -> StepThroughPanel:
        return self.query_one(StepThroughPanel)

    def _retitle_step(self) -> None:
        if self.progress is not None and self._step_variant is not None and self._step_variant < len(self.progress.names):
            name = self.progress.names[self._step_variant]
            self.query_one("#race-switch").border_title = f"step-through of {name} (a copy: the race stays where it is)"

    @property
    def stepping(self) -> bool:
        return self.query_one("#race-switch", ContentSwitcher).current == "race-step"

    # -- commands ------------------------------------------------------------------------
    def _send(self, command) -> int | None:
        """Send a command to the race's process; its id (None: the race has stopped)."""
        return self.session.send(command) if self.session is not None else None

    def _build(self) -> None:
        self._close_step()
        self._send(c.Build(self.exp, self.dataset))

    def _close_step(self) -> None:
        self._awaiting_step = self._step_variant = None
        self._phases_ahead = 0
        self._step_panel.clear()
        self.query_one("#race-switch", ContentSwitcher).current = "race-planes"
        self.remove_class("-stepping")
        self.query_one("#race-switch").border_title = "decision boundary per variant"

    def action_toggle(self) -> None:
        self._close_step()
        self._send(c.Toggle())

    def action_epoch(self) -> None:
        self._close_step()
        self._send(c.TrainEpochs(1))

    def action_restart(self) -> None:
        self._close_step()
        self._send(c.Reset())
        self.say("the race starts again from the same initial weights")

    def action_next_phase(self) -> None:
        if self.progress is None or not self.progress.names:
            return
        if self._awaiting_step is not None:
            self._phases_ahead += 1
            return
        variant = self.query_one(RaceTable).cursor_row
        if self.stepping and variant == self._step_variant and self._step_panel.next_phase():
            return
        self._step_variant = variant
        self._awaiting_step = self._send(StepVariant(variant))

    def action_prev_phase(self) -> None:
        if self.stepping:
            self._step_panel.prev_phase()

    def action_example(self, delta: int) -> None:
        if self.stepping:
            self._step_panel.move_example(delta)

    def action_scroll_step(self, delta: int) -> None:
        if self.stepping:
            self._step_panel.scroll_page(delta)

    def action_move(self, delta: int) -> None:
        if self.stepping:
            self._step_panel.move_neuron(delta)
            return
        table = self.query_one(RaceTable)
        if table.row_count:
            table.move_cursor(row=(table.cursor_row + delta) % table.row_count)

    def action_edit_vary(self) -> None:
        self.set_focus(self.query_one(VaryInput))  # now, not once the keys typed behind v are handled

    def action_back(self) -> None:
        if self.stepping:
            self._close_step()
        else:
            self.app.pop_screen()

    def action_main_only(self) -> None:
        self.say("that key works on the main screen: escape goes back to it")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        field = self.query_one(VaryInput)
        self.set_focus(None)
        try:
            vary = parse_vary(field.value.split())
        except RaceError as err:
            self.say(f"{str(err).removeprefix('--vary ')} (escape restores the race in use)", error=True)
            self.set_focus(field)
        else:
            field.in_use = field.value = vary_text(vary)
            self.exp.race = vary
            self.post_message(self.VaryChanged(copy.deepcopy(vary)))
            self._build()
        field.value_taken()  # the keys typed behind enter: after the new race (or back into the field)
