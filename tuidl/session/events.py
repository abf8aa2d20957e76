"""What the training process tells the app: frozen dataclasses, delivered by Session's thread.

Every value in them is a copy the worker no longer touches (numpy arrays, plain records).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tuidl.config import Experiment


@dataclass(frozen=True)
class Snapshot:
    """The training run as the views draw it."""

    build: int = 0  # bumped each time a network is (re)built
    exp: Experiment | None = None  # the experiment of the network in use (None: none built yet)
    epoch: int = 0  # completed epochs
    steps: int = 0  # optimizer steps since initialisation
    batch_in_epoch: int = 0  # mini-batches done in the unfinished epoch
    batches_per_epoch: int = 0
    history: tuple = ()  # every EpochRecord of this build
    boundary: np.ndarray | None = None  # (ny, nx), see Trainer.boundary; None without 2-D inputs
    boundary_size: tuple[int, int] = (0, 0)  # (nx, ny) it was computed for
    weights: list | None = None  # [(W, b)] per layer
    status: str | None = None  # finished / early stopping / diverged, else None
    diverged: bool = False
    running: bool = False
    rate: float = 0.0  # epochs per second while running, else 0
    speed: float | None = None  # the speed limit in force (None: as fast as it goes)
    device_label: str = ""
    done: int = 0  # id of the last command fully processed
    plane_view: tuple[int, int] | None = None  # (layer, unit) whose activation `boundary` holds; None: the output
    # Classification without a plane (digits, a CSV of other than 2 inputs): the validation
    # set's predicted classes (n_val,) and the confusion matrix (k, k), row = true class,
    # column = predicted (tuidl.engine.confusion); None otherwise.
    val_predicted: np.ndarray | None = None
    confusion: np.ndarray | None = None
    unsaved: bool = False  # trained or edited since it was last saved or opened (a fresh, untouched network: False)


@dataclass(frozen=True)
class EngineLoaded:
    """torch is imported and the first network built (or refused: a Failed follows)."""

    devices: dict[str, str | None] = field(default_factory=dict)  # experiment's device name → description, None if absent
    device_label: str = ""


@dataclass(frozen=True)
class EngineFailed:
    """The engine could not load or the training process ended: nothing more will come."""

    message: str


@dataclass(frozen=True)
class Progress:
    snapshot: Snapshot


@dataclass(frozen=True)
class StepTaken:
    record: Any  # the StepRecord
    command_id: int


@dataclass(frozen=True)
class Notice:
    """Something to tell the learner (the run finished, epochs changed, weights reset, …)."""

    message: str


@dataclass(frozen=True)
class Failed:
    """A command refused or broken, with why and what to do. `exp`: the experiment the engine
    keeps after a refused Build (the app reverts to it); None otherwise."""

    message: str
    command_id: int
    exp: Experiment | None = None


@dataclass(frozen=True)
class GradCheckDone:
    """The answer to GradCheck: a tuidl.engine.records.GradCheckReport."""

    report: Any
    command_id: int


@dataclass(frozen=True)
class DivergenceFound:
    """Training met its first value that is not finite; sent right after that epoch (before
    the Notice of the status). `record`: the StepRecord of the first step that holds one (the
    step-through opens on it); `message`: which layer and parameter went first, with the
    learning rate, the gradient and the update; `divergence`: the
    tuidl.engine.records.Divergence with every field."""

    record: Any
    message: str
    divergence: Any = None


Event = EngineLoaded | EngineFailed | Progress | StepTaken | Notice | Failed
Event = Event | GradCheckDone | DivergenceFound


@dataclass(frozen=True)
class Saved:
    """The answer to Save: the checkpoint at `path` holds the run at `epoch` (`steps`
    optimizer steps). Until the run changes again, snapshots say `unsaved=False`."""

    path: str
    epoch: int
    steps: int
    command_id: int


Event = Event | Saved
