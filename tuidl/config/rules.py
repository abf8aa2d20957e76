"""The experiment's rules: the edits that tie fields together (dataset and loss, optimizer
and lr, layers and initial weights), shared by the app's forms and the CLI.

Each returns a new Experiment and leaves its argument alone; whether the result is
allowed is still validate's job.
"""
from __future__ import annotations

import copy
import os

from tuidl import inline

from .derived import is_regression, layer_sizes
from .errors import _MISSING, ConfigError
from .schema import (
    DEFAULT_LR,
    DIGITS_CLASSES,
    DIGITS_SAMPLES,
    FILE_DATASETS,
    GENERATED_DATASETS,
    MULTICLASS_DATASETS,
    REGRESSION_DATASETS,
    DataConfig,
    Experiment,
    Layer,
)
from .validation import _Checker, _is_int


def choosable_datasets(exp: Experiment) -> tuple[str, ...]:
    """The datasets `exp` can change to: the generated ones (the classes' sets, then the
    values'), the digits; "points" only where the experiment has its own points, "csv" only
    where it has a CSV file (a file is named in the experiment file, not by choosing)."""
    classes = tuple(d for d in GENERATED_DATASETS if d not in REGRESSION_DATASETS) + ("digits",)
    return (classes + REGRESSION_DATASETS + (("points",) if exp.data.dataset == "points" else ())
            + (("csv",) if exp.data.path else ()))


def change_dataset(exp: Experiment, name: str) -> Experiment:
    """Use dataset `name`: a regression set takes mse; leaving one, mse becomes bce again;
    a dataset that cannot draw more than two classes gets classes = 2. A file's dataset
    (digits, or the CSV the experiment was opened with) takes all its rows, its classes and
    the loss that fits them; leaving one, the samples go back to the default."""
    new = copy.deepcopy(exp)
    new.data.dataset = name
    if name not in MULTICLASS_DATASETS:
        new.data.classes = 2
    if name in FILE_DATASETS and exp.data.dataset != name:
        fill_file_data(new, "refused", None, given=set())
        return keep_fitting_weights(new)
    if exp.data.dataset in FILE_DATASETS and name not in FILE_DATASETS:
        new.data.samples = DataConfig().samples
    if is_regression(new.data):
        new.train.loss = "mse"
    elif is_regression(exp.data) and new.train.loss == "mse":
        new.train.loss = "bce"
    return keep_fitting_weights(new)


def default_loss(data: DataConfig) -> str:
    """The loss that fits a dataset's targets: mse for values, bce for 2 classes, else ce."""
    if is_regression(data):
        return "mse"
    return "bce" if data.classes == 2 else "ce"


def fill_file_data(exp: Experiment, source: str, base: str | os.PathLike | None, given: set[str]) -> None:
    """What a file's dataset says about itself, where the experiment does not (`given`: the
    data keys it sets, and "train.loss" when it sets the loss): the digits' size and classes;
    a CSV's absolute path, its columns, task, classes, standardisation and size; and the
    loss that fits. In place; a CSV's problems raise ConfigError naming file, line and column."""
    d = exp.data
    if d.dataset not in FILE_DATASETS:
        return
    if d.dataset == "digits":
        if "samples" not in given:
            d.samples = DIGITS_SAMPLES
        if "classes" not in given:
            d.classes = DIGITS_CLASSES
    else:
        if isinstance(d.path, str) and d.path.strip():
            d.path = os.path.abspath(os.path.join(base or os.getcwd(), os.path.expanduser(d.path.strip())))
        from tuidl.data import csv_file  # numpy, only when a CSV is used

        csv_file.fill(_Checker(source).fail, d, given)
    if "train.loss" not in given:
        exp.train.loss = default_loss(d)


def keep_fitting_weights(exp: Experiment) -> Experiment:
    """The file's initial weights stay while they fit the network; once a change of the
    network (units, layers, features, loss, classes) makes them not fit, they are dropped
    (in place) and the weights are drawn from the seed again. Returns exp."""
    if exp.model.weights and not inline.weights_fit(exp.model.weights, _sizes_or_none(exp) or []):
        exp.model.weights = []
    return exp


def _sizes_or_none(exp: Experiment) -> list[int] | None:
    try:
        return layer_sizes(exp)
    except (TypeError, KeyError, AttributeError):  # a field still invalid: validate names it
        return None


def change_optimizer(exp: Experiment, name: str) -> Experiment:
    """Use optimizer `name` with its own default options. Adadelta's lr is a scale near 1,
    not a step size: entering or leaving it sets lr to the new optimizer's default.
    The same optimizer again keeps its options."""
    new = copy.deepcopy(exp)
    old = exp.train.optimizer
    if name == old:
        return new
    new.train.optimizer = name
    new.train.options = {}
    if "adadelta" in (name, old) and name in DEFAULT_LR:
        new.train.lr = DEFAULT_LR[name]
    return new


def _layer_index(exp: Experiment, index: int, source: str) -> int:
    n = len(exp.model.hidden)
    if not _is_int(index) or not 0 <= index < n:
        raise ConfigError(source, f"model.hidden[{index}]", _MISSING,
                          f"no such layer: the network has {n} hidden layer{'' if n == 1 else 's'}",
                          message=f"{source}: model.hidden[{index}]: no such layer "
                                  f"(the network has {n} hidden layer{'' if n == 1 else 's'})")
    return index


def insert_layer(exp: Experiment, after: int | None, source: str = "refused") -> tuple[Experiment, int]:
    """A new hidden layer after layer `after`, with its units and activation (dropout 0);
    after=None: a Layer(4, "relu") at the end. Returns (the new experiment, the new layer's index)."""
    new = copy.deepcopy(exp)
    if after is None:
        at, layer = len(new.model.hidden), Layer(4, "relu")
    else:
        template = new.model.hidden[_layer_index(exp, after, source)]
        at, layer = after + 1, Layer(template.units, template.activation, 0.0)
    new.model.hidden.insert(at, layer)
    return keep_fitting_weights(new), at


def delete_layer(exp: Experiment, index: int, source: str = "refused") -> tuple[Experiment, int | None]:
    """Remove hidden layer `index`. Returns (the new experiment, the layer to select next:
    the one now at `index`, else the last one, None when no hidden layer is left)."""
    new = copy.deepcopy(exp)
    del new.model.hidden[_layer_index(exp, index, source)]
    n = len(new.model.hidden)
    return keep_fitting_weights(new), (min(index, n - 1) if n else None)
