"""What an experiment implies: sizes, task, output layer and optimizer options.

Small questions the engine, the views and the checks all ask of an experiment; one
answer each, so that they cannot disagree.
"""
from __future__ import annotations

from tuidl import inline
from tuidl.engine import facts

from .schema import (
    DIGITS_SIDE,
    OPTIMIZER_DEFAULTS,
    REGRESSION_DATASETS,
    DataConfig,
    Experiment,
    TrainConfig,
)


def n_train(data: DataConfig) -> int:
    """Number of training points: round(samples * train_fraction), as make_dataset splits;
    for dataset "points", the points of data.x."""
    if data.dataset == "points":
        return len(data.x)
    return int(round(data.samples * data.train_fraction))


def split_sizes(data: DataConfig) -> tuple[int, int]:
    """(training points, validation points) for a data section."""
    if data.dataset == "points":
        return len(data.x), len(data.x_val)
    nt = n_train(data)
    return nt, data.samples - nt


def is_regression(data: DataConfig) -> bool:
    """A regression set: the plane, points whose y are values (a number with a decimal point),
    or a CSV whose target is values to fit."""
    if data.dataset == "points":
        return inline.are_values(data.y, data.y_val)
    if data.dataset == "csv":
        return data.task == "regression"
    return data.dataset in REGRESSION_DATASETS


def has_plane(data: DataConfig) -> bool:
    """Whether the inputs are two coordinates of a plane, so that the features (x1, x2, x1^2,
    ...) apply and the decision boundary can be drawn: every set but the digits and a CSV
    with other than two input columns."""
    if data.dataset == "digits":
        return False
    if data.dataset == "csv":
        return len(data.columns) == 2
    return True


def input_names(data: DataConfig) -> list[str]:
    """The network's inputs: the features on a plane, else the CSV's columns or the pixels."""
    if has_plane(data):
        return list(data.features)
    if data.dataset == "digits":
        return [f"r{r}c{c}" for r in range(DIGITS_SIDE) for c in range(DIGITS_SIDE)]
    return list(data.columns)


def layer_sizes(exp: Experiment) -> list[int]:
    """[inputs, hidden units..., output units]: the network's dense layers."""
    return [len(input_names(exp.data)), *(layer.units for layer in exp.model.hidden), output_units(exp)]


def default_experiment() -> Experiment:
    """TF Playground's default: circle, 2→4→2→1 tanh, SGD lr 0.03, batch 10."""
    return Experiment()


def task(exp: Experiment) -> str:
    """"regression", "binary" or "multiclass"."""
    if is_regression(exp.data):
        return "regression"
    return "binary" if exp.data.classes == 2 else "multiclass"


def output_units(exp: Experiment) -> int:
    """Width of the output layer: 1 for bce and mse, the number of classes for ce."""
    if exp.train.loss == "ce":
        return exp.data.classes
    return 1


def output_activation(exp: Experiment) -> str:
    """The output layer's activation: the one its loss pairs with (sigmoid for bce, ...)."""
    return facts.LOSSES[exp.train.loss].output_activation


def optimizer_options(train: TrainConfig) -> dict[str, object]:
    """torch.optim keyword arguments (lr excluded): the defaults merged with train.options."""
    opts = dict(OPTIMIZER_DEFAULTS[train.optimizer])
    opts.update(train.options)
    if "betas" in opts:
        opts["betas"] = tuple(float(b) for b in opts["betas"])  # type: ignore[union-attr]
    return opts
