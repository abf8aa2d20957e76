"""The worker: owns the Trainer and serves the typed commands; every Trainer call happens here.

It runs in the training process (run_worker_process) or, for tests, in a thread of the
app's process. It never blocks on anything but its command queue, so every command is
answered promptly, even while training or waiting between epochs at a low speed.
"""
from __future__ import annotations

import copy
import os
import queue
import time
from dataclasses import dataclass
from typing import Any, Callable

from tuidl import config as cfg
from tuidl.config import ConfigError, Experiment
from tuidl.session import commands as c
from tuidl.session.events import EngineFailed, EngineLoaded, Failed, Notice, Snapshot, StepTaken
from tuidl.session.events import DivergenceFound, GradCheckDone
from tuidl.session.events import Saved

PUBLISH_INTERVAL = 1 / 15  # seconds between snapshots while training fast (the app draws each)
IDLE_WAIT = 0.1  # longest wait for a command, so that a lost parent is noticed
RATE_WINDOW = 1.0  # seconds of epochs the rate is measured over


@dataclass(frozen=True)
class ProgressDelta:
    """A Snapshot whose history holds only the records not sent before, from index
    `history_from` of the build's history: Session turns it into a Progress with the whole."""

    snapshot: Snapshot
    history_from: int


def refusal(trainer: Any) -> str:
    """Why the run cannot train on, and what to press."""
    if trainer.finished:
        return f"{trainer.status}: raise epochs in the Train tab to go on, or press r to reset"
    if trainer.diverged:
        return f"{trainer.status}; press r to reset (the step-through, n, still shows what the network computes)"
    return f"{trainer.status}: press r to reset"


def _message(err: Exception) -> str:
    from tuidl.engine.faults import is_out_of_memory

    if is_out_of_memory(err):  # the device's memory, not a bug: say what to make smaller
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        return (f"out of memory ({first[:120]}): make the batch size or the network smaller, "
                "or train on the CPU (Device tab)")
    return str(err) if isinstance(err, ConfigError) else f"{type(err).__name__}: {err}"


def run_worker_process(worker_class: type, exp: Experiment, dataset: Any, source: str, checkpoint: str | None,
                       commands: Any, events: Any) -> None:
    """The training process: silent (the terminal belongs to the app), ends with its parent.
    `worker_class`: Worker, or another with its constructor and loop (RaceWorker)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    events.cancel_join_thread()  # quit at once, even with events the app no longer reads in the pipe
    parent = os.getppid()
    worker_class(exp, dataset, source, commands, events.put, checkpoint=checkpoint).loop(
        lambda: os.getppid() != parent)


class Worker:
    def __init__(self, exp: Experiment, dataset: Any, source: str, commands: Any,
                 deliver: Callable[[Any], None], checkpoint: str | None = None):
        self._queue = commands
        self._deliver = deliver
        self._initial = (exp, dataset, checkpoint)
        self.source = source
        self.grid: tuple[int, int] = (48, 32)
        self.plane_view: tuple[int, int] | None = None  # the neuron the plane shows (SetPlaneView)
        self.speed: float | None = None
        self.trainer: Any = None
        self.running = False
        self._build = 0
        self._done = 0
        self._sent_history = 0
        self._next_epoch_at = 0.0
        self._run_cid = 0  # the command that started the run in progress
        self._told_divergence: Any = None  # the trainer's Divergence once DivergenceFound is sent
        self._epoch_marks: list[tuple[float, int]] = []  # (time, epoch) of recent epochs while running
        self._edits = 0  # weights set by hand in this build (SetWeight)
        self._saved_key: tuple | None = None  # _state_key() when last saved or opened from a checkpoint

    # -- the loop ------------------------------------------------------------------
    def loop(self, cancelled: Callable[[], bool] = lambda: False) -> None:
        """Import the engine, build the first network, then serve commands until Quit."""
        try:
            from tuidl.engine.devices import available_devices
            from tuidl.engine.trainer import Trainer
        except Exception as err:  # noqa: BLE001 - shown on screen, never a crash
            self._deliver(EngineFailed(f"could not load the engine: {err}"))
            return
        self._Trainer = Trainer
        try:
            devices = available_devices()
        except Exception:  # noqa: BLE001 - the device list is informative only
            devices = {"auto": "cpu", "cpu": "cpu", "cuda": None, "mps": None}
        deliver, held = self._deliver, []
        self._deliver = held.append  # what the first build says comes after EngineLoaded
        try:
            self._first_build()
        finally:
            self._deliver = deliver
        deliver(EngineLoaded(devices, self.trainer.device_label if self.trainer else ""))
        for event in held:
            deliver(event)
        self._publish()
        last_publish = time.perf_counter()
        while not cancelled():
            handled = False
            item = self._next_command()
            while item is not None:
                cid, command = item
                if isinstance(command, c.Quit):
                    return
                self._handle(cid, command)
                self._done = cid
                handled = True
                item = self._next_command(wait=False)
            trained = self.running and time.perf_counter() >= self._next_epoch_at and self._train_one_epoch()
            now = time.perf_counter()
            per_epoch = self.speed is not None and self.speed <= 1 / PUBLISH_INTERVAL
            if handled or (trained and (per_epoch or not self.running or now - last_publish >= PUBLISH_INTERVAL)):
                self._publish()
                last_publish = now

    def _next_command(self, wait: bool = True) -> tuple[int, Any] | None:
        """The next command; waits until the next epoch is due (or IDLE_WAIT) when `wait`."""
        timeout = 0.0
        if wait:
            timeout = IDLE_WAIT
            if self.running:
                timeout = min(IDLE_WAIT, max(0.0, self._next_epoch_at - time.perf_counter()))
        try:
            return self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
        except queue.Empty:
            return None

    # -- commands ------------------------------------------------------------------
    def _handle(self, cid: int, command: Any) -> None:
        try:
            if isinstance(command, c.Build):
                self.running = False
                self._build_from(command.exp, command.dataset, command.notice, cid)
            elif isinstance(command, c.SetGrid):
                self.grid = (max(0, int(command.nx)), max(0, int(command.ny)))
            elif isinstance(command, c.SetSpeed):
                self._set_speed(command.epochs_per_second)
            elif isinstance(command, c.Pause):
                self.running = False
            elif self.trainer is None:
                self._deliver(Failed("no network is built: fix the setting shown and try again", cid))
            elif isinstance(command, c.Toggle):
                self._handle(cid, c.Pause() if self.running else c.Run())
            elif isinstance(command, c.Run):
                self._run(cid)
            elif isinstance(command, c.TrainEpochs):
                self._train_epochs(cid, command.n)
            elif isinstance(command, c.Step):
                self._step(cid)
            elif isinstance(command, c.Reset):
                self.running = False
                t = self.trainer
                self._build_from(t.exp, t.dataset, "weights reset: the network is re-initialised (epoch 0)", cid)
            elif isinstance(command, c.SetEpochs):
                self._set_epochs(cid, command.n)
            elif isinstance(command, c.SetWeight):
                self.trainer.set_weight(command.layer, command.row, command.col, command.value)
                self._edits += 1
            elif isinstance(command, c.SetPlaneView):
                self._set_plane_view(command.layer, command.unit)
            elif isinstance(command, c.GradCheck):
                self._grad_check(cid, command.steps)
            elif isinstance(command, c.Export):
                self._export(cid, command)
            elif isinstance(command, c.Save):
                self._save(cid, command.path)
            elif isinstance(command, c.SetPoints):
                self._set_points(command.exp, command.dataset)
            else:
                self._deliver(Failed(f"unknown command {command!r}", cid))
        except Exception as err:  # noqa: BLE001 - a command never ends the worker
            self.running = False
            self._deliver(Failed(_message(err), cid))

    def _run(self, cid: int) -> None:
        if self.trainer.status is not None:
            self._deliver(Failed(refusal(self.trainer), cid))
            return
        if not self.running:
            self.running = True
            self._run_cid = cid
            self._epoch_marks = []
            self._next_epoch_at = time.perf_counter()

    def _train_epochs(self, cid: int, n: int) -> None:
        self.running = False
        t = self.trainer
        if t.status is not None:
            self._deliver(Failed(refusal(t), cid))
            return
        for _ in range(max(1, int(n))):
            t.train_epoch()
            if t.status is not None:
                self._tell_divergence()
                self._deliver(Notice(f"{t.status}."))
                break

    def _step(self, cid: int) -> None:
        self.running = False
        t = self.trainer
        if t.status is not None and not t.diverged:
            self._deliver(Failed(refusal(t), cid))
            return
        record = t.step()
        self._deliver(StepTaken(record, cid))
        self._tell_divergence()
        if t.diverged:
            self._deliver(Notice(f"the run has diverged (this step's loss is {record.loss}): "
                                 "the step shows what the network computes now; press r to reset"))

    def _set_epochs(self, cid: int, n: int) -> None:
        if not (isinstance(n, int) and 1 <= n <= cfg.MAX_EPOCHS):
            self._deliver(Failed(f"epochs {n!r}: a whole number from 1 to {cfg.MAX_EPOCHS}", cid))
            return
        t = self.trainer
        t.set_epochs(n)
        if t.finished:
            self.running = False
            self._deliver(Notice(f"epochs set to {n}: the run has {t.status} (weights kept)"))
        else:
            self._deliver(Notice(f"epochs set to {n} (training goes on; weights kept)"))

    def _set_speed(self, speed: float | None) -> None:
        if speed is not None and not (0 < speed < float("inf")):
            raise ValueError(f"speed {speed!r}: a number of epochs per second > 0, or None for no limit")
        self.speed = None if speed is None else float(speed)
        self._next_epoch_at = time.perf_counter()

    def _set_plane_view(self, layer: int | None, unit: int | None) -> None:
        if layer is None and unit is None:
            self.plane_view = None
        elif not self._neuron_exists(layer, unit):
            raise ValueError(f"no neuron {unit!r} in layer {layer!r} to show on the plane")
        else:
            self.plane_view = (layer, unit)

    def _set_points(self, exp: Experiment, dataset: Any) -> None:
        """New data for the same network: weights, optimizer state and history go on."""
        if dataset is None:
            from tuidl.data import make_dataset

            dataset = make_dataset(exp.data)
        self.trainer.use_dataset(dataset, copy.deepcopy(exp))
        self._edits += 1  # a run with other data than the one saved

    def _neuron_exists(self, layer: Any, unit: Any) -> bool:
        layers = self.trainer.network.layers
        return (isinstance(layer, int) and isinstance(unit, int) and 0 <= layer < len(layers)
                and 0 <= unit < layers[layer].n_out)

    # -- building ------------------------------------------------------------------
    def _first_build(self) -> None:
        exp, dataset, checkpoint = self._initial
        if checkpoint is not None:
            try:
                from tuidl.engine.checkpoint import load_checkpoint

                self._use(load_checkpoint(checkpoint, copy.deepcopy(exp), dataset))
                self._saved_key = self._state_key()  # as saved: nothing to lose yet
                return
            except Exception as err:  # noqa: BLE001 - open the experiment fresh instead
                self._deliver(Failed(f"could not resume {checkpoint}: {_message(err)}; "
                                     "the network starts from epoch 0", 0))
        self._build_from(exp, dataset, None, 0)

    def _build_from(self, exp: Experiment, dataset: Any, notice: str | None, cid: int) -> None:
        try:
            trainer = self._Trainer(copy.deepcopy(exp), dataset=dataset, source=self.source)
        except Exception as err:  # noqa: BLE001 - the app reverts to the experiment kept
            what = _message(err) if isinstance(err, ConfigError) else f"could not build the network: {_message(err)}"
            kept = copy.deepcopy(self.trainer.exp) if self.trainer is not None else None
            self._deliver(Failed(what, cid, kept))
            return
        self._use(trainer)
        if notice:
            self._deliver(Notice(notice))

    def _use(self, trainer: Any) -> None:
        self.trainer = trainer
        self._build += 1
        self._edits = 0
        self._sent_history = 0
        self._epoch_marks = []
        if self.plane_view is not None and not self._neuron_exists(*self.plane_view):
            self.plane_view = None  # that neuron is not in the new network: the output again

    # -- training ------------------------------------------------------------------
    def _train_one_epoch(self) -> bool:
        t = self.trainer
        try:
            t.train_epoch()
        except Exception as err:  # noqa: BLE001
            self.running = False
            self._deliver(Failed(f"training stopped: {_message(err)}", self._run_cid))
            return True
        now = time.perf_counter()
        interval = 0.0 if self.speed is None else 1 / self.speed
        self._next_epoch_at = max(self._next_epoch_at + interval, now)  # never a burst to catch up
        self._epoch_marks.append((now, t.epoch))
        while len(self._epoch_marks) > 2 and now - self._epoch_marks[0][0] > RATE_WINDOW:
            self._epoch_marks.pop(0)
        if t.status is not None:
            self.running = False
            self._tell_divergence()
            self._deliver(Notice(f"{t.status}. Training paused."))
        return True

    # -- saving ------------------------------------------------------------------------
    def _state_key(self) -> tuple:
        """Changes whenever the run does: a new build, a step trained, a weight set by hand."""
        return (self._build, self.trainer.step_count, self._edits)

    def _unsaved(self) -> bool:
        """Trained or edited since the last save (or since it was opened from a checkpoint);
        a network nobody has trained or edited has nothing to lose."""
        t = self.trainer
        return (t.step_count > 0 or self._edits > 0) and self._state_key() != self._saved_key

    def _save(self, cid: int, path: str) -> None:
        from tuidl.engine.checkpoint import save_checkpoint

        t = self.trainer
        try:
            save_checkpoint(t, path)
        except OSError as err:
            self._deliver(Failed(f"could not save {path}: {err.strerror or err}; nothing was written", cid))
            return
        self._saved_key = self._state_key()
        self._deliver(Saved(str(path), t.epoch, t.step_count, cid))

    def _export(self, cid: int, command: c.Export) -> None:
        """The experiment as a PyTorch script and the weights as they are now (tuidl.export)."""
        from tuidl.export import export, weights_description

        try:
            export(self.trainer, command.code_path, command.weights_path, title=command.title)
        except OSError as err:
            self._deliver(Failed(f"could not export to {err.filename or command.code_path}: "
                                 f"{err.strerror or err}", cid))
            return
        self._deliver(Notice(f"exported to PyTorch: {command.code_path} (python {command.code_path} trains it) "
                             f"and {command.weights_path}: {weights_description(self.trainer)}"))

    # -- the gradient check and divergence explained ----------------------------------
    def _grad_check(self, cid: int, steps: int) -> None:
        """Backprop against finite differences at the current weights; the run is not changed."""
        from tuidl.engine.gradcheck import gradient_check

        t = self.trainer
        try:
            report = gradient_check(t.exp, steps=steps, source=self.source, trainer=t)
        except ValueError as err:  # the weights are not finite
            self._deliver(Failed(f"gradient check: {err}", cid))
            return
        self._deliver(GradCheckDone(report, cid))

    def _tell_divergence(self) -> None:
        """DivergenceFound, once per run, as soon as the trainer has explained its divergence."""
        found = getattr(self.trainer, "divergence", None)
        if found is not None and found is not self._told_divergence:
            self._told_divergence = found
            self._deliver(DivergenceFound(found.record, found.message, found))

    def _rate(self) -> float:
        if not self.running or len(self._epoch_marks) < 2:
            return 0.0
        (t0, e0), (t1, e1) = self._epoch_marks[0], self._epoch_marks[-1]
        return (e1 - e0) / (t1 - t0) if t1 > t0 else 0.0

    # -- publishing ----------------------------------------------------------------
    @staticmethod
    def _validation_classes(t: Any) -> tuple | None:
        """What the confusion matrix and the digits grid show, where there is no plane."""
        if t.dataset.has_plane:
            return None
        try:
            from tuidl.engine.confusion import validation_classes

            return validation_classes(t)
        except Exception:  # noqa: BLE001 - a drawing problem must not stop training
            return None

    def _publish(self) -> None:
        t = self.trainer
        if t is None:
            snap = Snapshot(speed=self.speed, done=self._done)
            self._deliver(ProgressDelta(snap, 0))
            return
        nx, ny = self.grid
        boundary = weights = None
        view = self.plane_view
        try:
            if t.dataset.points_train.shape[1] == 2 and nx > 0 and ny > 0:
                boundary = t.boundary(nx, ny) if view is None else t.neuron_map(*view, nx, ny)
            weights = t.weights()
        except Exception:  # noqa: BLE001 - a drawing problem must not stop training
            boundary = None
        classes = self._validation_classes(t)
        snap = Snapshot(
            build=self._build,
            exp=copy.deepcopy(t.exp),
            epoch=t.epoch,
            steps=t.step_count,
            batch_in_epoch=t.batch_in_epoch,
            batches_per_epoch=t.batches_per_epoch,
            history=tuple(t.history[self._sent_history:]),
            boundary=boundary,
            boundary_size=(nx, ny) if boundary is not None else (0, 0),
            weights=weights,
            status=t.status,
            diverged=t.diverged,
            running=self.running,
            rate=self._rate(),
            speed=self.speed,
            device_label=t.device_label,
            done=self._done,
            plane_view=view if boundary is not None else None,
            val_predicted=classes[0] if classes else None,
            confusion=classes[1] if classes else None,
            unsaved=self._unsaved(),
        )
        self._deliver(ProgressDelta(snap, self._sent_history))
        self._sent_history = len(t.history)
