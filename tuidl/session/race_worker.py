"""The race's worker: owns a tuidl.engine.race.Race and serves the app's race view.

It takes the same constructor and loop as Worker, so Session runs it in the training
process (Session(..., worker=RaceWorker)). Commands: Build (a new race from exp and
exp.race), Run, Pause, Toggle, TrainEpochs, Reset, SetGrid (the small planes' resolution), StepVariant
(one step of one variant, on a copy: the race does not move) and Quit. It answers with
RaceProgress after each change, at most PUBLISH_INTERVAL apart while racing, and with
StepTaken or Failed. No torch at import: the engine is imported in loop().
"""
from __future__ import annotations

import copy
import queue
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from tuidl.config import Experiment
from tuidl.session import commands as c
from tuidl.session.events import EngineFailed, EngineLoaded, Failed, Notice, StepTaken

PUBLISH_INTERVAL = 1 / 10  # seconds between snapshots while racing
IDLE_WAIT = 0.1


@dataclass(frozen=True)
class StepVariant:
    """One mini-batch step of variant `variant`, recorded phase by phase, on a copy of it:
    the next press steps that copy on (until the race trains again)."""

    variant: int


@dataclass(frozen=True)
class RaceProgress:
    """The race as the race view draws it. `curves[v]`: (epoch, train loss, validation loss,
    train accuracy, validation accuracy) per epoch of variant v; `boundaries[v]`: its output
    on the SetGrid grid (None without a plane); `table`: Race.table()."""

    build: int = 0
    names: tuple[str, ...] = ()
    epoch: int = 0
    epochs: int = 0  # the most epochs any variant trains
    curves: tuple = ()
    boundaries: tuple = ()
    table: tuple = ()
    running: bool = False
    finished: bool = False
    device_label: str = ""
    error: str | None = None  # why there is no race (the vary did not fit); None: there is one
    seconds: float = 0.0
    step_of: dict = field(default_factory=dict)  # variant -> steps taken on its copy


def _curve(history) -> tuple:
    return tuple((r.epoch, r.train_loss, r.val_loss, r.train_accuracy, r.val_accuracy) for r in history)


class RaceWorker:
    def __init__(self, exp: Experiment, dataset: Any, source: str, commands: Any,
                 deliver: Callable[[Any], None], checkpoint: str | None = None):
        self._queue = commands
        self._deliver = deliver
        self._initial = (exp, dataset)
        self.source = source
        self.grid: tuple[int, int] = (24, 16)
        self.race: Any = None
        self.error: str | None = None
        self.running = False
        self._build = 0
        self._copies: dict[int, Any] = {}  # variant -> its lone copy being stepped through
        self._unsent = False  # the race changed since the last RaceProgress

    def loop(self, cancelled: Callable[[], bool] = lambda: False) -> None:
        try:
            from tuidl.engine.race import RaceError, make_race
        except Exception as err:  # noqa: BLE001 - shown on screen, never a crash
            self._deliver(EngineFailed(f"could not load the engine: {err}"))
            return
        self._make_race, self._RaceError = make_race, RaceError
        self._build_race(*self._initial)
        self._deliver(EngineLoaded({}, self.race.device_label if self.race else ""))
        self._publish()
        last = time.perf_counter()
        while not cancelled():
            handled = False
            item = self._next_command(wait=not self.running)
            while item is not None:
                cid, command = item
                if isinstance(command, c.Quit):
                    return
                self._handle(cid, command)
                handled = True
                item = self._next_command(wait=False)
            if self.running:
                self._train_epoch()
            now = time.perf_counter()
            if handled or (self.running and now - last >= PUBLISH_INTERVAL) or (not self.running and self._unsent):
                self._publish()
                last = now

    def _next_command(self, wait: bool) -> tuple[int, Any] | None:
        try:
            return self._queue.get(timeout=IDLE_WAIT) if wait else self._queue.get_nowait()
        except queue.Empty:
            return None

    # -- commands ------------------------------------------------------------------
    def _handle(self, cid: int, command: Any) -> None:
        try:
            if isinstance(command, c.Build):
                self._build_race(command.exp, command.dataset)
            elif isinstance(command, c.SetGrid):
                self.grid = (max(0, int(command.nx)), max(0, int(command.ny)))
            elif isinstance(command, c.Pause):
                self.running = False
            elif self.race is None:
                self._deliver(Failed(self.error or "no race is built", cid))
            elif isinstance(command, (c.Run, c.Toggle)):
                if self.running:
                    self.running = isinstance(command, c.Run)
                elif self.race.finished:
                    self._deliver(Failed("every variant has stopped: press r to race again", cid))
                else:
                    self.running = True
            elif isinstance(command, c.TrainEpochs):
                self.running = False
                for _ in range(max(1, int(command.n))):
                    if not self.race.finished:
                        self._train_epoch()
            elif isinstance(command, c.Reset):
                self._build_race(self.race.exp, self.race.trainers[0].dataset)
            elif isinstance(command, StepVariant):
                self._step(cid, command.variant)
            else:
                self._deliver(Failed(f"the race view cannot do {type(command).__name__}", cid))
        except Exception as err:  # noqa: BLE001 - a command never ends the worker
            self.running = False
            self._deliver(Failed(f"{type(err).__name__}: {err}", cid))

    def _build_race(self, exp: Experiment, dataset: Any) -> None:
        self.running = False
        self._copies = {}
        self._build += 1
        self._unsent = True
        try:
            self.race = self._make_race(copy.deepcopy(exp), exp.race, self.source)
            self.error = None
        except self._RaceError as err:
            self.race, self.error = None, str(err)

    def _step(self, cid: int, v: int) -> None:
        if not (isinstance(v, int) and 0 <= v < len(self.race.variants)):
            self._deliver(Failed(f"no variant {v}", cid))
            return
        self.running = False
        if v not in self._copies:
            self._copies[v] = self.race.lone_copy(v)
        self._deliver(StepTaken(self._copies[v].step(), cid))

    def _train_epoch(self) -> None:
        race = self.race
        self._copies = {}  # the variants move on: a step-through starts from where they are
        race.train_epoch()
        self._unsent = True
        if race.finished:
            self.running = False
            self._deliver(Notice("every variant has stopped: the table has their final and best numbers"))

    # -- publishing ----------------------------------------------------------------
    def _publish(self) -> None:
        self._unsent = False
        race = self.race
        if race is None:
            self._deliver(RaceProgress(build=self._build, error=self.error))
            return
        nx, ny = self.grid
        boundaries = []
        for trainer in race.trainers:
            try:
                plane = trainer.dataset.has_plane and nx > 0 and ny > 0
                boundaries.append(trainer.boundary(nx, ny) if plane else None)
            except Exception:  # noqa: BLE001 - a drawing problem must not stop the race
                boundaries.append(None)
        self._deliver(RaceProgress(
            build=self._build,
            names=tuple(race.names),
            epoch=race.epoch,
            epochs=max(v_exp.train.epochs for _, _, v_exp in race.variants),
            curves=tuple(_curve(h) for h in race.history),
            boundaries=tuple(boundaries),
            table=tuple(race.table()),
            running=self.running,
            finished=race.finished,
            device_label=race.device_label,
            seconds=race.seconds,
            step_of={v: t.step_count for v, t in self._copies.items()},
        ))
