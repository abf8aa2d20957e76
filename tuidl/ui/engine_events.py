"""What the training process says, handled on the UI thread.

The session calls `deliver(event)` from the thread that drains the process's queue; the
app posts each event as an `EngineEvent` message, and `EngineEvents.on_engine_event` (mixed
into the app) shows it: snapshots on the main screen, a step in the step-through, a
notice or an error in the message line, a refused change undone.
"""
from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from tuidl.config import Experiment
    from tuidl.session import Snapshot


INPUT_FIRST = 0.15  # seconds after a key or a click in which a running snapshot is not drawn


class EngineEvent(Message):
    """One event of the session (tuidl.session.events), delivered on the UI thread."""

    def __init__(self, event: object) -> None:
        super().__init__()
        self.event = event


class EngineEvents:
    """The app's handlers of the engine's events (uses the app's main, session and say)."""

    def on_engine_event(self, message: EngineEvent) -> None:  # by name: @on needs a MessagePump class
        from tuidl.session import events as ev

        event = message.event
        if isinstance(event, ev.Progress):
            self._progress(event.snapshot)
        elif isinstance(event, ev.StepTaken):
            if event.command_id == self._awaiting_step:
                self._awaiting_step = None
                panel = self.main.step_panel
                panel.show_record(event.record)
                while self._phases_ahead and panel.next_phase():  # n pressed while the step was on its way
                    self._phases_ahead -= 1
                self._phases_ahead = 0
        elif isinstance(event, ev.EngineLoaded):
            self.main.show_engine(self._device_name(event.device_label), event.devices)
        elif isinstance(event, ev.EngineFailed):
            self.load_error = event.message
            self.main.show_engine(None, failed=True)
            self.say(event.message, error=True)
        elif isinstance(event, ev.DivergenceFound):
            # the step where the first value stopped being a number, phase by phase
            self._awaiting_step, self._phases_ahead = None, 0
            self.main.enter_step()
            self.main.step_panel.show_record(event.record)
            self.say(event.message, error=True)
        elif isinstance(event, ev.GradCheckDone):
            from tuidl.ui.gradcheck_view import GradCheckScreen

            self.push_screen(GradCheckScreen(event.report))
        elif isinstance(event, ev.Notice):
            self.say(event.message)
        elif isinstance(event, ev.Failed):
            if event.command_id == self._awaiting_step:
                self._awaiting_step, self._phases_ahead = None, 0
                self.main.step_panel.clear(event.message)
            self.say(event.message, error=True)
            if event.exp is not None and event.command_id >= self._build_id and event.exp != self.exp:
                self._adopt(event.exp)  # the engine refused the change (a device that is not there)

    input_at = float("-inf")  # time.monotonic() of the last key or click (the app sets it)
    _snap_timer = None

    def _progress(self, snap: Snapshot) -> None:
        """Input goes first: while training, a snapshot that comes right after a key or a
        click is drawn a moment later, so the frame that answers the key is drawn alone and
        soon; snapshots that come meanwhile are dropped, not queued (the latest is drawn)."""
        self.snap = snap
        wait = self.input_at + INPUT_FIRST - time.monotonic()
        if snap.running and wait > 0:
            if self._snap_timer is None:
                self._snap_timer = self.set_timer(wait, self._show_latest)
            return
        self._show_latest()

    def _show_latest(self) -> None:
        if self._snap_timer is not None:
            self._snap_timer.stop()
            self._snap_timer = None
        if self.snap is not None:
            self.main.show_snapshot(self.snap)

    def _device_name(self, label: str) -> str:
        return label.split(" ")[0] if self.deterministic else label

    def _adopt(self, exp: Experiment) -> None:
        from tuidl.data import make_dataset

        data_changed = exp.data != self.exp.data
        self.exp = copy.deepcopy(exp)
        self.dataset = make_dataset(self.exp.data) if data_changed else self.dataset
        self._clamp_selection()
        self.main.show_experiment(self.exp, self.selected_layer, self.dataset if data_changed else None)
