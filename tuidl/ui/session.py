"""The training session: a worker owns the Trainer; the UI polls snapshots.

No textual and no torch at import time. The UI sends commands with `Session.send` and
reads `Session.snapshot` (replaced whole, never mutated) from its frame timer, so the UI
thread never waits on training.

The worker runs in a child process by default. In a thread of the app's own process the
training loop and the drawing would share one interpreter lock: every torch op releases
it and then waits for the drawing to give it back, which cut training to a third and the
frame rate below 10/s on a 2-core machine. A process trains at full speed on its own
core, and torch's import (seconds) stays off the UI's process. `Session(in_process=True)`
keeps the worker in a thread (tests that do not need the process use it).
"""
from __future__ import annotations

import copy
import multiprocessing
import os
import queue
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from tuidl.config import ConfigError, Experiment

PUBLISH_INTERVAL = 1 / 15  # seconds between snapshots while training (the UI draws each)


@dataclass(frozen=True)
class Snapshot:
    """What the UI draws. Every field is a copy the worker no longer touches."""

    version: int = 0
    loaded: bool = False  # the engine (torch) has been imported
    load_error: str | None = None
    devices: dict[str, str | None] = field(default_factory=dict)
    device_label: str = ""
    exp: Experiment | None = None  # the experiment of the trainer in use
    build: int = 0  # bumped each time a trainer is (re)built
    epoch: int = 0
    steps: int = 0
    batch_in_epoch: int = 0
    batches_per_epoch: int = 0
    history: tuple = ()  # every EpochRecord of this build (the worker sends only new ones)
    history_from: int = 0  # index of the worker's first record in `history`
    boundary: np.ndarray | None = None
    boundary_size: tuple[int, int] = (0, 0)
    weights: list | None = None
    status: str | None = None
    running: bool = False
    rate: float = 0.0  # epochs per second while running
    step_record: Any = None
    step_version: int = 0
    error: str | None = None  # the last command's error (ConfigError message)
    error_version: int = 0
    notice: str | None = None
    notice_version: int = 0
    done: int = 0  # id of the last command fully processed


class Session:
    """The UI's end: commands out, snapshots in."""

    def __init__(self, exp: Experiment, dataset: Any = None, source: str = "<experiment>",
                 in_process: bool = False):
        self._lock = threading.Lock()
        self._ids = 0
        self.snapshot = Snapshot()
        self._grid: tuple[int, int] = (48, 32)
        self._history: list = []
        self._history_build = -1
        self._stop = threading.Event()
        self.in_process = in_process
        args = (copy.deepcopy(exp), dataset, source, self._grid)
        if in_process:
            self._commands: Any = queue.Queue()
            self._worker = Worker(*args, self._commands, self._receive)
        else:
            ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads or locks inherited
            self._commands = ctx.Queue()
            self._snapshots = ctx.Queue()
            self._process = ctx.Process(target=run_worker_process, args=(*args, self._commands, self._snapshots),
                                        daemon=True, name="tuidl-trainer")

    @property
    def grid(self) -> tuple[int, int]:
        return self._grid

    @grid.setter
    def grid(self, size: tuple[int, int]) -> None:
        """The boundary resolution the UI wants (sent to the worker when it changes)."""
        if size != self._grid:
            self._grid = size
            self.send("grid", size)

    def send(self, command: str, *args: Any) -> int:
        """Queue a command for the worker; returns its id (see Snapshot.done)."""
        with self._lock:
            self._ids += 1
            cid = self._ids
            self._commands.put((cid, command, args))
        return cid

    def loop(self, cancelled: Callable[[], bool] = lambda: False) -> None:
        """Body of the app's thread worker: runs the worker here, or feeds the process's snapshots."""
        if self.in_process:
            self._worker.loop(lambda: cancelled() or self._stop.is_set())
            return
        self._process.start()
        while not self._stop.is_set() and not cancelled():
            try:
                self._receive(self._snapshots.get(timeout=0.1))
            except queue.Empty:
                if not self._process.is_alive():
                    self._receive(replace(self.snapshot, load_error="the training process ended unexpectedly",
                                          version=self.snapshot.version + 1, history=()))
                    return

    def _receive(self, snap: Snapshot) -> None:
        """Append the worker's new history records to those of this build, then publish."""
        if snap.build != self._history_build:
            self._history, self._history_build = [], snap.build
        del self._history[snap.history_from:]
        self._history.extend(snap.history)
        step_record = snap.step_record
        if snap.step_version == self.snapshot.step_version:
            step_record = self.snapshot.step_record
        self.snapshot = replace(snap, history=tuple(self._history), history_from=0, step_record=step_record)

    def stop(self) -> None:
        self._stop.set()
        self._commands.put((0, "quit", ()))
        process = getattr(self, "_process", None)
        if process is not None and process.pid is not None:
            process.join(timeout=2)
            if process.is_alive():
                process.terminate()


def run_worker_process(exp: Experiment, dataset: Any, source: str, grid: tuple[int, int],
                       commands: Any, snapshots: Any) -> None:
    """The child process: silent (the terminal belongs to the app), ends with its parent."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    parent = os.getppid()
    Worker(exp, dataset, source, grid, commands, snapshots.put).loop(lambda: os.getppid() != parent)


class Worker:
    """Owns the Trainer; every Trainer call happens on the worker's thread."""

    def __init__(self, exp: Experiment, dataset: Any, source: str, grid: tuple[int, int],
                 commands: Any, deliver: Callable[[Snapshot], None]):
        self._queue = commands
        self._deliver = deliver
        self.grid = grid
        self.source = source
        self._initial = (exp, dataset)
        self.snapshot = Snapshot()
        self._trainer = None
        self._running = False
        self._rate_marks: list[tuple[float, int]] = []
        self._error: tuple[str | None, int] = (None, 0)
        self._notice: tuple[str | None, int] = (None, 0)
        self._step: tuple[Any, int] = (None, 0)
        self._build = 0
        self._done = 0
        self._sent_history = 0
        self._devices: dict[str, str | None] = {}

    # -- worker side -----------------------------------------------------------------
    def loop(self, cancelled: Callable[[], bool] = lambda: False) -> None:
        """The worker thread's body: import the engine, build, then serve commands."""
        try:
            from tuidl.engine.devices import available_devices
            from tuidl.engine.trainer import Trainer
        except Exception as err:  # noqa: BLE001 - shown on screen, never a crash
            self._publish(load_error=f"could not load the engine: {err}")
            return
        self._Trainer = Trainer
        try:
            self._devices = available_devices()
        except Exception:  # noqa: BLE001
            self._devices = {"auto": "cpu", "cpu": "cpu", "cuda": None, "mps": None}
        exp, dataset = self._initial
        self._build_trainer(exp, dataset, notice=None)
        self._publish()
        last_publish = time.perf_counter()
        while not cancelled():
            try:
                timeout = 0.0 if self._running else 0.05
                item = self._queue.get(timeout=timeout) if timeout else self._queue.get_nowait()
            except queue.Empty:
                item = None
            dirty = False
            while item is not None:
                cid, command, args = item
                if command == "quit":
                    return
                self._handle(command, args)
                self._done = cid
                dirty = True
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
            if self._running:
                self._train_one_epoch()
                dirty = dirty or not self._running  # the run has just ended: show where it ended
            now = time.perf_counter()
            if dirty or (self._running and now - last_publish >= PUBLISH_INTERVAL):
                self._publish()
                last_publish = now

    def _handle(self, command: str, args: tuple) -> None:
        t = self._trainer
        try:
            if command == "build":
                exp, dataset, notice = args
                self._running = False
                self._build_trainer(exp, dataset, notice)
            elif t is None:
                self._set_error("the network could not be built; fix the setting shown above")
            elif command == "run":
                if t.status is not None:
                    self._set_error(f"{t.status}. Press r to reset, or raise Epochs in the Training tab.")
                else:
                    self._running = True
                    self._rate_marks = [(time.perf_counter(), t.epoch)]
            elif command == "grid":
                self.grid = tuple(args[0])
            elif command == "pause":
                self._running = False
            elif command == "toggle":
                self._handle("pause" if self._running else "run", ())
            elif command == "epoch":
                self._running = False
                n = args[0] if args else 1
                for _ in range(n):
                    if t.diverged:
                        self._set_error(t.status)
                        break
                    t.train_epoch()
                self._after_training()
            elif command == "step":
                self._running = False
                if t.diverged:
                    self._set_error(t.status)
                else:
                    record = t.step()
                    self._step = (record, self._step[1] + 1)
                    self._after_training()
            elif command == "reset":
                self._running = False
                self._build_trainer(t.exp, t.dataset, "weights reset: the network is re-initialised (epoch 0)")
            elif command == "epochs":
                n = int(args[0])
                t.exp.train.epochs = n
                if t.status and t.status.startswith("finished") and t.epoch < n:
                    t.status = None
                self._set_notice(f"epochs set to {n} (training goes on; weights kept)")
        except Exception as err:  # noqa: BLE001 - errors never crash the app
            self._running = False
            self._set_error(f"{type(err).__name__}: {err}" if not isinstance(err, ConfigError) else str(err))

    def _train_one_epoch(self) -> None:
        t = self._trainer
        try:
            t.train_epoch()
        except Exception as err:  # noqa: BLE001
            self._running = False
            self._set_error(f"training stopped: {type(err).__name__}: {err}")
            return
        self._after_training()
        now = time.perf_counter()
        self._rate_marks.append((now, t.epoch))
        while len(self._rate_marks) > 2 and now - self._rate_marks[0][0] > 1.0:
            self._rate_marks.pop(0)

    def _after_training(self) -> None:
        t = self._trainer
        if t.status is not None and self._running:
            self._running = False
            if t.diverged:
                self._set_error(f"{t.status}. Training paused.")
            else:
                self._set_notice(f"{t.status}. Training paused.")
        elif t.status is not None and t.diverged:
            self._set_error(f"{t.status}.")

    def _build_trainer(self, exp: Experiment, dataset: Any, notice: str | None) -> None:
        exp = copy.deepcopy(exp)
        try:
            trainer = self._Trainer(exp, dataset=dataset, source=self.source)
        except ConfigError as err:
            self._set_error(str(err))
            return
        except Exception as err:  # noqa: BLE001
            self._set_error(f"could not build the network: {type(err).__name__}: {err}")
            return
        self._trainer = trainer
        self._build += 1
        self._sent_history = 0
        self._step = (None, self._step[1] + 1)
        self._rate_marks = []
        if notice:
            self._set_notice(notice)

    def _set_error(self, message: str | None) -> None:
        self._error = (message, self._error[1] + 1)

    def _set_notice(self, message: str | None) -> None:
        self._notice = (message, self._notice[1] + 1)

    def _publish(self, load_error: str | None = None) -> None:
        t = self._trainer
        if t is None:
            self.snapshot = Snapshot(
                version=self.snapshot.version + 1,
                loaded=load_error is None,
                load_error=load_error,
                devices=dict(self._devices),
                error=self._error[0],
                error_version=self._error[1],
                done=self._done,
            )
            self._deliver(self.snapshot)
            return
        nx, ny = self.grid
        boundary = None
        weights = None
        try:
            if t.dataset.points_train.shape[1] == 2 and nx > 0 and ny > 0:
                boundary = t.boundary(nx, ny)
            weights = t.weights()
        except Exception:  # noqa: BLE001 - a drawing problem must not stop training
            boundary = None
        rate = 0.0
        if self._running and len(self._rate_marks) >= 2:
            (t0, e0), (t1, e1) = self._rate_marks[0], self._rate_marks[-1]
            rate = (e1 - e0) / (t1 - t0) if t1 > t0 else 0.0
        self.snapshot = Snapshot(
            version=self.snapshot.version + 1,
            loaded=True,
            devices=dict(self._devices),
            device_label=t.device_label,
            exp=copy.deepcopy(t.exp),
            build=self._build,
            epoch=t.epoch,
            steps=t.step_count,
            batch_in_epoch=t.batch_in_epoch,
            batches_per_epoch=t.batches_per_epoch,
            history=tuple(t.history[self._sent_history:]),
            history_from=self._sent_history,
            boundary=boundary,
            boundary_size=(nx, ny),
            weights=weights,
            status=t.status,
            running=self._running,
            rate=rate,
            # a step record is sent once, with the snapshot that announces it
            step_record=self._step[0] if self._step[1] != self.snapshot.step_version else None,
            step_version=self._step[1],
            error=self._error[0],
            error_version=self._error[1],
            notice=self._notice[0],
            notice_version=self._notice[1],
            done=self._done,
        )
        self._sent_history = len(t.history)
        self._deliver(self.snapshot)
