"""What the app asks of the training process: small frozen dataclasses, one per command.

Session.send(command) queues one and returns its id; the events that answer it (StepTaken,
Failed) carry that id, and every Progress says the id of the last command fully processed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tuidl.config import Experiment


@dataclass(frozen=True)
class Build:
    """A new network from `exp` (epoch 0). `dataset`: the Dataset the app already made from
    exp.data (None: the worker makes it). `notice`: said once the network is built."""

    exp: Experiment
    dataset: Any = None
    notice: str | None = None


@dataclass(frozen=True)
class Run:
    """Train epoch after epoch until Pause, the last epoch, early stopping or divergence."""


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Toggle:
    """Run when paused, pause when running."""


@dataclass(frozen=True)
class TrainEpochs:
    """Train n epochs now (the rest of the current one counts as the first)."""

    n: int = 1


@dataclass(frozen=True)
class Step:
    """One mini-batch step, recorded phase by phase: answered by StepTaken or Failed."""


@dataclass(frozen=True)
class Reset:
    """The same experiment re-initialised: epoch 0, the initial weights."""


@dataclass(frozen=True)
class SetEpochs:
    """The epoch to train until; the weights are kept (a finished run may go on)."""

    n: int


@dataclass(frozen=True)
class SetGrid:
    """The boundary's resolution the plane wants: nx columns, ny rows."""

    nx: int
    ny: int


@dataclass(frozen=True)
class SetSpeed:
    """At most this many epochs per second while running; None: as fast as it goes."""

    epochs_per_second: float | None


@dataclass(frozen=True)
class SetWeight:
    """One entry of the network set by hand: W[row, col] of dense layer `layer` (0 = the
    first hidden layer), or its bias b[row] when col is None. No epoch is trained; the
    Progress that follows shows the boundary and the weights with it."""

    layer: int
    row: int
    col: int | None
    value: float


@dataclass(frozen=True)
class SetPlaneView:
    """What the plane's heatmap shows: the activation of neuron `unit` of dense layer
    `layer`, or the network's output when both are None (the default)."""

    layer: int | None = None
    unit: int | None = None


@dataclass(frozen=True)
class GradCheck:
    """Check backprop's gradients against finite differences at the current weights (a
    float64 copy takes `steps` steps; the run is not changed): answered by GradCheckDone or
    Failed."""

    steps: int = 1


@dataclass(frozen=True)
class Quit:
    pass


Command = Build | Run | Pause | Toggle | TrainEpochs | Step | Reset | SetEpochs | SetGrid | SetSpeed | Quit
Command = Command | SetWeight | SetPlaneView
Command = Command | GradCheck


@dataclass(frozen=True)
class Save:
    """Write a checkpoint of the run as it is now (experiment, weights, optimizer state,
    history, random state; tuidl.engine.checkpoint, atomic) to `path`: answered by Saved, or
    by Failed with why (a folder that is not there or not writable)."""

    path: str


Command = Command | Save


@dataclass(frozen=True)
class Export:
    """Write the experiment as a standalone PyTorch script to `code_path` and the network's
    weights as they are now (a state_dict for the script's nn.Sequential) to `weights_path`
    (tuidl.export, atomic): answered by a Notice that says where, or by Failed. `title`:
    where the experiment came from, for the script's first line."""

    code_path: str
    weights_path: str
    title: str = "an experiment of the app"


Command = Command | Export


@dataclass(frozen=True)
class SetPoints:
    """Train on other data from here on (points drawn by hand): `exp` is the experiment with
    the new data (dataset "points"; the network's settings unchanged) and `dataset` the
    Dataset the app made from it. The weights, the optimizer's state, the epoch and the
    history are kept; the next epoch runs over the new points (Trainer.use_dataset)."""

    exp: Experiment
    dataset: Any = None


Command = Command | SetPoints
