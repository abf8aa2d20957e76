"""The training session: one worker thread owns the Trainer; the UI polls snapshots.

No textual and no torch at import time. The app runs `Session.loop` in a Textual thread
worker; every Trainer call happens on that thread. The UI sends commands with
`Session.send` (a queue) and reads `Session.snapshot` (replaced atomically, never
mutated) from its frame timer, so the UI thread never waits on training.
"""
from __future__ import annotations

import copy
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from tuidl.config import ConfigError, Experiment

PUBLISH_INTERVAL = 0.1  # seconds between snapshots while training


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
    history: tuple = ()
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
    def __init__(self, exp: Experiment, dataset: Any = None, source: str = "<experiment>"):
        self._queue: queue.Queue = queue.Queue()
        self._ids = 0
        self._lock = threading.Lock()
        self.snapshot = Snapshot()
        self.grid: tuple[int, int] = (48, 32)  # boundary resolution wanted by the UI
        self.source = source
        self._initial = (copy.deepcopy(exp), dataset)
        self._stop = threading.Event()
        # worker-only state
        self._trainer = None
        self._running = False
        self._rate_marks: list[tuple[float, int]] = []
        self._error: tuple[str | None, int] = (None, 0)
        self._notice: tuple[str | None, int] = (None, 0)
        self._step: tuple[Any, int] = (None, 0)
        self._build = 0
        self._done = 0
        self._devices: dict[str, str | None] = {}

    # -- UI side ---------------------------------------------------------------------
    def send(self, command: str, *args: Any) -> int:
        """Queue a command for the worker; returns its id (see Snapshot.done)."""
        with self._lock:
            self._ids += 1
            cid = self._ids
        self._queue.put((cid, command, args))
        return cid

    def stop(self) -> None:
        self._stop.set()
        self._queue.put((0, "quit", ()))

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
        while not self._stop.is_set() and not cancelled():
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
            history=tuple(t.history),
            boundary=boundary,
            boundary_size=(nx, ny),
            weights=weights,
            status=t.status,
            running=self._running,
            rate=rate,
            step_record=self._step[0],
            step_version=self._step[1],
            error=self._error[0],
            error_version=self._error[1],
            notice=self._notice[0],
            notice_version=self._notice[1],
            done=self._done,
        )
