"""The experiment as data: dataclasses, TOML load/save and validation.

No torch and no textual here: the app's first frame and the CLI's error path import
this module alone.
"""
from __future__ import annotations

import copy
import json
import math
import os
import re
import tempfile
import tomllib
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path

import tomli_w

from tuidl import inline
from tuidl.engine import facts

# "points": the file's own points (data.x, data.y), for a lesson's handful of examples.
# "csv": the columns of a CSV file (data.path, data.target); "digits": the 8×8 handwritten
# digits shipped inside tuidl (tuidl/data/digits.csv.gz).
DATASETS = ("circle", "xor", "gauss", "spiral", "moons", "pass", "plane", "points", "csv", "digits")
# Datasets read from a file: their rows, inputs and classes are the file's.
FILE_DATASETS = ("csv", "digits")
# The datasets drawn from a generator, which need nothing but their name.
GENERATED_DATASETS = tuple(d for d in DATASETS if d not in ("points", *FILE_DATASETS))
REGRESSION_DATASETS = ("plane",)
# Datasets that can have more than two classes (data.classes > 2).
MULTICLASS_DATASETS = ("gauss", "spiral", "points")
# Keys of the file's own data and weights: written only when given, never set from a form.
INLINE_KEYS = ("x", "y", "x_val", "y_val", "axis_labels", "extent", "weights",
               "path", "target", "columns", "task", "class_names", "mean", "std")
CSV_TASKS = ("classification", "regression")
MAX_CSV_CLASSES = 20  # a target with more distinct whole numbers is taken for values to fit
DIGITS_SAMPLES = 1797  # images in tuidl/data/digits.csv.gz
DIGITS_CLASSES = 10
DIGITS_SIDE = 8  # each image is 8 × 8 pixels
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
ACTIVATIONS = facts.HIDDEN_ACTIVATIONS
INITS = ("torch", "xavier", "he", "zeros")
LOSSES = tuple(facts.LOSSES)
OPTIMIZERS = tuple(facts.OPTIMIZERS)
DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("float32", "float64")

# torch.optim's own keyword names and defaults (lr lives in [train] itself).
OPTIMIZER_DEFAULTS: dict[str, dict[str, object]] = {
    "sgd": {"momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0},
    "adam": {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False},
    "rmsprop": {"alpha": 0.99, "eps": 1e-8, "momentum": 0.0, "centered": False, "weight_decay": 0.0},
    "adagrad": {"lr_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10, "weight_decay": 0.0},
    "adadelta": {"rho": 0.9, "eps": 1e-6, "weight_decay": 0.0},
}
MAX_HIDDEN_LAYERS = 8
MAX_UNITS = 256
MAX_EPOCHS = 100_000
MAX_RACE_VARIANTS = 8
# What a race may vary ([race] in a file, `tuidl race --vary`, the app's race view); activation
# and dropout are every hidden layer's. An optimizer option (momentum, betas, ...) too.
RACE_KEYS = ("optimizer", "lr", "batch_size", "activation", "dropout", "l1", "init")
RACE_OPTION_KEYS = tuple(sorted({k for opts in OPTIMIZER_DEFAULTS.values() for k in opts}))
DEFAULT_LR = {"sgd": 1e-3, "adam": 1e-3, "rmsprop": 1e-2, "adagrad": 1e-2, "adadelta": 1.0}


@dataclass
class Layer:
    units: int
    activation: str = "tanh"
    dropout: float = 0.0


@dataclass
class DataConfig:
    dataset: str = "circle"
    samples: int = 500
    noise: float = 0.0
    train_fraction: float = 0.5
    features: list[str] = field(default_factory=lambda: ["x1", "x2"])
    seed: int = 1
    classes: int = 2
    # dataset = "points": the training points [[x1, x2], ...], one y each (integers: class
    # labels; numbers with a decimal point: values to fit), and optional validation points.
    x: list[list[float]] = field(default_factory=list)
    y: list[int | float] = field(default_factory=list)
    x_val: list[list[float]] = field(default_factory=list)
    y_val: list[int | float] = field(default_factory=list)
    axis_labels: list[str] = field(default_factory=list)  # the plane's two axis names ([] = the dataset's)
    # [xmin, xmax, ymin, ymax] of the points' plane ([] = their bounding box with a margin):
    # points drawn by hand keep the plane they were drawn on
    extent: list[float] = field(default_factory=list)
    # dataset = "csv": the file (relative to the experiment file; absolute once loaded), the
    # target column, the input columns ([] = all but the target) and the task ("" = inferred:
    # text or a few whole numbers are classes, other numbers values to fit). Loading fills in
    # columns, task, class_names (the target's values in class-index order) and the inputs'
    # standardisation (mean and std of the training rows); saved with the experiment, so that
    # a reopened experiment or a checkpoint standardises the same way.
    path: str = ""
    target: str = ""
    columns: list[str] = field(default_factory=list)
    task: str = ""
    class_names: list[str] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)


@dataclass
class LayerWeights:
    """Initial weights of one dense layer: W is (out, in) as in nn.Linear, b is (out,)."""
    W: list[list[float]]
    b: list[float]


@dataclass
class ModelConfig:
    hidden: list[Layer] = field(default_factory=lambda: [Layer(4, "tanh"), Layer(2, "tanh")])
    init: str = "torch"
    # Initial weights, one entry per dense layer including the output layer ([] = drawn by init
    # from train.seed). The seed still draws the batch order and the dropout masks.
    weights: list[LayerWeights] = field(default_factory=list)


@dataclass
class TrainConfig:
    loss: str = "bce"
    optimizer: str = "sgd"
    lr: float = 0.03
    batch_size: int = 10
    epochs: int = 200
    l1: float = 0.0
    early_stopping: int = 0
    min_delta: float = 0.0  # early stopping: a validation loss must fall by more than this to count
    device: str = "auto"
    seed: int = 1
    dtype: str = "float32"
    options: dict[str, object] = field(default_factory=dict)


@dataclass
class Experiment:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    # [race]: setting -> its values, e.g. {"optimizer": ["sgd", "adam"]} (see tuidl.race_plan)
    race: dict[str, list] = field(default_factory=dict)


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


# --------------------------------------------------------------------------- errors

_MISSING = object()


def _fmt(value: object, limit: int = 60) -> str:
    """A value as it would be written in TOML (short)."""
    if value is _MISSING:
        text = "(missing)"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, float):
        text = repr(value) if math.isfinite(value) else ("nan" if value != value else ("inf" if value > 0 else "-inf"))
    elif isinstance(value, (list, tuple)):
        text = "[" + ", ".join(_fmt(v, limit) for v in value) + "]"
    elif isinstance(value, dict):
        text = "{ " + ", ".join(f"{k} = {_fmt(v, limit)}" for k, v in value.items()) + " }"
    elif is_dataclass(value) and not isinstance(value, type):
        text = _fmt(asdict(value), limit)
    else:
        text = repr(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


class ConfigError(Exception):
    """A bad experiment: names the file, the dotted key, the value and what is allowed.

    str(err) is the whole message, e.g.
    ``experiment.toml: train.lr = -1.0: must be a number > 0 and <= 10``.
    Attributes: source, key (dotted, or None for a file-level error), value (the offending
    value, or None), allowed (the rule, as text), line (TOML syntax errors only, else None).
    """

    def __init__(self, source: str, key: str | None, value: object, allowed: str,
                 message: str | None = None, line: int | None = None):
        self.source = source
        self.key = key
        self.value = None if value is _MISSING else value
        self.allowed = allowed
        self.line = line
        if message is None:
            if key is None:
                message = f"{source}: {allowed}"
            elif value is _MISSING:
                message = f"{source}: {key} is missing: {allowed}"
            else:
                message = f"{source}: {key} = {_fmt(value)}: {allowed}"
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # picklable across processes / workers
        return (ConfigError, (self.source, self.key, self.value, self.allowed, self.message, self.line))


def _unknown(source: str, key: str, value: object, allowed) -> ConfigError:
    allowed_txt = ", ".join(allowed) if allowed else "none"
    return ConfigError(source, key, value, allowed_txt,
                       message=f"{source}: unknown key {key} = {_fmt(value)} (allowed: {allowed_txt})")


# --------------------------------------------------------------------------- validation

_SECTION_KEYS = {
    "data": tuple(f.name for f in fields(DataConfig)),
    "model": tuple(f.name for f in fields(ModelConfig)),
    "train": tuple(f.name for f in fields(TrainConfig)),
}
_LAYER_KEYS = tuple(f.name for f in fields(Layer))
_FLOAT_FIELDS = {
    "data": ("noise", "train_fraction"),
    "layer": ("dropout",),
    "train": ("lr", "l1", "min_delta"),
}


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class _Checker:
    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, value: object, allowed: str) -> None:
        raise ConfigError(self.source, key, value, allowed)

    def int_range(self, key: str, v: object, lo: int, hi: int | None = None) -> None:
        rule = f"must be an integer from {lo} to {hi}" if hi is not None else f"must be an integer >= {lo}"
        if not _is_int(v):
            self.fail(key, v, rule)
        if v < lo or (hi is not None and v > hi):  # type: ignore[operator]
            self.fail(key, v, rule)

    def num(self, key: str, v: object, rule: str, ok) -> None:
        """A finite number (int accepted) for which ok(v) holds; rule describes the range."""
        if not _is_num(v) or not math.isfinite(v) or not ok(v):  # type: ignore[arg-type]
            self.fail(key, v, f"must be a number {rule}")

    def bool_(self, key: str, v: object) -> None:
        if not isinstance(v, bool):
            self.fail(key, v, "must be true or false")

    def name(self, key: str, v: object, names: tuple[str, ...]) -> None:
        if not isinstance(v, str) or v not in names:
            self.fail(key, v, "must be one of " + ", ".join(f'"{n}"' for n in names))


def _check_data(c: _Checker, d: DataConfig) -> None:
    if not isinstance(d, DataConfig):
        c.fail("data", d, "must be a table ([data])")
    c.name("data.dataset", d.dataset, DATASETS)
    if d.dataset not in FILE_DATASETS:
        c.int_range("data.samples", d.samples, 20, 5000)
    c.num("data.noise", d.noise, "from 0 to 0.5", lambda v: 0 <= v <= 0.5)
    c.num("data.train_fraction", d.train_fraction, "from 0.1 to 0.9", lambda v: 0.1 <= v <= 0.9)
    feats = d.features
    if not isinstance(feats, (list, tuple)) or not feats:
        c.fail("data.features", feats, "must be a non-empty list of: " + ", ".join(FEATURES))
    seen: set[str] = set()
    for i, f in enumerate(feats):
        c.name(f"data.features[{i}]", f, FEATURES)
        if f in seen:
            c.fail(f"data.features[{i}]", f, "is listed twice: each feature at most once")
        seen.add(f)
    c.int_range("data.seed", d.seed, 0)
    if d.dataset in FILE_DATASETS:
        _check_file_data(c, d)
    else:
        c.int_range("data.classes", d.classes, 2, 8)
    if d.classes > 2 and d.dataset not in MULTICLASS_DATASETS + FILE_DATASETS:
        c.fail("data.classes", d.classes,
               f'must be 2 for dataset "{d.dataset}" (more classes only with: '
               + ", ".join(MULTICLASS_DATASETS) + ")")
    inline.check_points(c.fail, d.dataset, d.x, d.y, d.x_val, d.y_val, d.classes)
    inline.check_axis_labels(c.fail, d.axis_labels)
    _check_extent(c, d)


def _check_extent(c: _Checker, d: DataConfig) -> None:
    """data.extent: four finite numbers, each range not empty, with every point inside."""
    e = d.extent
    if not isinstance(e, list) or len(e) not in (0, 4) or not all(_is_num(v) and math.isfinite(v) for v in e):
        c.fail("data.extent", e, "must be [xmin, xmax, ymin, ymax]: four finite numbers")
    if not e:
        return
    if not (e[0] < e[1] and e[2] < e[3]):
        c.fail("data.extent", e, "must be [xmin, xmax, ymin, ymax] with xmin < xmax and ymin < ymax")
    for key, rows in (("data.x", d.x), ("data.x_val", d.x_val)):
        for i, (px, py) in enumerate(rows):
            if not (e[0] <= px <= e[1] and e[2] <= py <= e[3]):
                c.fail(f"{key}[{i}]", [px, py], f"is outside the plane data.extent = {_fmt(e)}")


def _check_file_data(c: _Checker, d: DataConfig) -> None:
    """The digits' size and classes; a CSV's file, columns, cells and classes (tuidl.data.csv_file)."""
    if d.dataset == "digits":
        c.int_range("data.samples", d.samples, 20, DIGITS_SAMPLES)
        if d.classes != DIGITS_CLASSES:
            c.fail("data.classes", d.classes, f'must be {DIGITS_CLASSES} for dataset "digits" (the digits 0 to 9)')
        return
    from tuidl.data import csv_file  # numpy, only when a CSV is used

    csv_file.check(c.fail, d)


def _check_weights(c: _Checker, exp: Experiment) -> None:
    """model.weights against the network's shapes; each error names the layer and both shapes."""
    hidden, n_layers = exp.model.hidden, len(exp.model.hidden) + 1
    sizes = layer_sizes(exp)
    names, why = [], []
    for i in range(n_layers):
        names.append(f"model.hidden[{i}]" if i < len(hidden) else "the output layer")
        kind = "input feature" if has_plane(exp.data) else "input"
        inputs = (f"{sizes[0]} {kind}{'s' * (sizes[0] != 1)} ({_fmt(', '.join(input_names(exp.data)))[1:-1]})" if i == 0
                  else f"the {sizes[i]} units of model.hidden[{i - 1}]")
        outputs = (f"{sizes[i + 1]} units" if i < len(hidden)
                   else f"{sizes[i + 1]} output unit{'s' * (sizes[i + 1] != 1)} for loss \"{exp.train.loss}\"")
        why.append(f"out = {outputs}, in = {inputs}")
    inline.check_weights(c.fail, exp.model.weights, sizes, names, why)


def _check_model(c: _Checker, m: ModelConfig) -> None:
    if not isinstance(m, ModelConfig):
        c.fail("model", m, "must be a table ([model])")
    if not isinstance(m.hidden, (list, tuple)):
        c.fail("model.hidden", m.hidden, 'must be a list of layers like { units = 4, activation = "tanh" }')
    if len(m.hidden) > MAX_HIDDEN_LAYERS:
        c.fail("model.hidden", m.hidden, f"must have at most {MAX_HIDDEN_LAYERS} hidden layers (0 is the perceptron)")
    for i, layer in enumerate(m.hidden):
        k = f"model.hidden[{i}]"
        if not isinstance(layer, Layer):
            c.fail(k, layer, 'must be a layer like { units = 4, activation = "tanh" }')
        c.int_range(f"{k}.units", layer.units, 1, MAX_UNITS)
        c.name(f"{k}.activation", layer.activation, ACTIVATIONS)
        c.num(f"{k}.dropout", layer.dropout, ">= 0 and < 1", lambda v: 0 <= v < 1)
    c.name("model.init", m.init, INITS)


def _check_options(c: _Checker, t: TrainConfig) -> None:
    opts = t.options
    if not isinstance(opts, dict):
        c.fail("train.options", opts, "must be a table ([train.options])")
    defaults = OPTIMIZER_DEFAULTS[t.optimizer]
    for k, v in opts.items():
        if k not in defaults:
            raise _unknown(c.source, f"train.options.{k}", v, tuple(defaults))
    for k, v in opts.items():
        key = f"train.options.{k}"
        if k == "betas":
            if (not isinstance(v, (list, tuple)) or len(v) != 2
                    or not all(_is_num(b) and math.isfinite(b) and 0 <= b < 1 for b in v)):
                c.fail(key, v, "must be two numbers in [0, 1), like [0.9, 0.999]")
        elif isinstance(defaults[k], bool):
            c.bool_(key, v)
        elif k == "rho":
            c.num(key, v, "from 0 to 1", lambda x: 0 <= x <= 1)
        elif k == "eps":
            c.num(key, v, "> 0 (with 0 a zero gradient gives 0/0 = NaN)", lambda x: x > 0)
        else:  # momentum, dampening, weight_decay, alpha, lr_decay, initial_accumulator_value
            c.num(key, v, ">= 0", lambda x: x >= 0)
    if opts.get("nesterov", False):
        merged = optimizer_options(t)
        if not merged["momentum"] > 0 or merged["dampening"] != 0:  # type: ignore[operator]
            c.fail("train.options.nesterov", True,
                   "needs momentum > 0 and dampening = 0 (torch's rule); here momentum = "
                   f"{_fmt(merged['momentum'])}, dampening = {_fmt(merged['dampening'])}")


def _check_train(c: _Checker, t: TrainConfig, d: DataConfig) -> None:
    if not isinstance(t, TrainConfig):
        c.fail("train", t, "must be a table ([train])")
    c.name("train.loss", t.loss, LOSSES)
    c.name("train.optimizer", t.optimizer, OPTIMIZERS)
    c.num("train.lr", t.lr, "> 0 and <= 10", lambda v: 0 < v <= 10)
    nt = n_train(d)
    if not _is_int(t.batch_size) or not 1 <= t.batch_size <= nt:
        c.fail("train.batch_size", t.batch_size,
               f"must be an integer from 1 to {nt} (the number of training points: "
               f"data.samples * data.train_fraction)")
    c.int_range("train.epochs", t.epochs, 1, MAX_EPOCHS)
    c.num("train.l1", t.l1, ">= 0", lambda v: v >= 0)
    c.int_range("train.early_stopping", t.early_stopping, 0)
    c.num("train.min_delta", t.min_delta, ">= 0", lambda v: v >= 0)
    c.name("train.device", t.device, DEVICES)
    c.int_range("train.seed", t.seed, 0)
    c.name("train.dtype", t.dtype, DTYPES)
    _check_options(c, t)
    # Does the loss fit the data?
    if d.dataset == "points":
        inline.check_values_fit_loss(c.fail, d.y, d.y_val, t.loss)
        if t.early_stopping and not d.x_val:
            c.fail("train.early_stopping", t.early_stopping,
                   "needs validation points (data.x_val, data.y_val) to watch: without them use 0")
    elif is_regression(d) and t.loss != "mse":
        c.fail("train.loss", t.loss, f'must be "mse": dataset "{d.dataset}" is a regression set')
    if t.loss == "bce" and d.classes != 2:
        c.fail("train.loss", t.loss,
               f'"bce" needs exactly 2 classes (data.classes = {d.classes}): use "ce"')


def validate(exp: Experiment, source: str = "<experiment>") -> None:
    """Check every value of an experiment; raise ConfigError on the first bad one.

    Works on experiments built in code as well as on loaded ones.
    """
    c = _Checker(source)
    if not isinstance(exp, Experiment):
        raise ConfigError(source, None, exp, "not an Experiment")
    _check_data(c, exp.data)
    _check_model(c, exp.model)
    _check_train(c, exp.train, exp.data)
    _check_weights(c, exp)
    problem = race_problem(exp.race, source)
    if problem:
        raise ConfigError(source, "race", exp.race, "", message=problem)


def race_problem(vary: object, source: str) -> str | None:
    """What is wrong with a race's shape (keys, lists, count), or None. Whether each value
    fits its field is checked when the variants are made (tuidl.race_plan)."""
    if not isinstance(vary, dict):
        return f"{source}: [race] must be a table like optimizer = [\"sgd\", \"adam\"]"
    for key, values in vary.items():
        if key not in RACE_KEYS and key not in RACE_OPTION_KEYS:
            return f"{source}: race: unknown key {key!r} (keys: {', '.join(RACE_KEYS + RACE_OPTION_KEYS)})"
        if not isinstance(values, (list, tuple)) or not values:
            return f"{source}: race.{key} must be a list of values, like [0.01, 0.1]"
        if any(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            return f"{source}: race.{key} has an empty value (values are separated by commas)"
        if len({repr(v) for v in values}) != len(values):
            return f"{source}: race.{key}: a value appears twice"
    n = math.prod(len(v) for v in vary.values())
    if n > MAX_RACE_VARIANTS:
        return f"{source}: {n} variants: a race has at most {MAX_RACE_VARIANTS} (the product of the lists)"
    return None


# --------------------------------------------------------------------------- dict / TOML

def _table(source: str, key: str, v: object) -> dict:
    if not isinstance(v, dict):
        raise ConfigError(source, key, v, f"must be a table ([{key}])")
    return v


def _coerce_floats(values: dict, names: tuple[str, ...]) -> dict:
    out = dict(values)
    for n in names:
        if n in out and _is_int(out[n]):
            out[n] = float(out[n])
    return out


def _coerce_options(opts: dict) -> dict:
    out = {}
    for k, v in opts.items():
        if k == "betas" and isinstance(v, (list, tuple)):
            v = tuple(float(b) if _is_int(b) else b for b in v)
        elif _is_int(v) and k != "nesterov":
            v = float(v)
        out[k] = v
    return out


def from_dict(d: dict, source: str = "<dict>", base: str | os.PathLike | None = None) -> Experiment:
    """Build and validate an Experiment from a parsed TOML document (every key optional).
    base: the folder a CSV's relative data.path is read from (the experiment file's; else
    the working directory)."""
    if not isinstance(d, dict):
        raise ConfigError(source, None, d, "the experiment must be a table of [data], [model], [train]")
    for k, v in d.items():
        if k not in _SECTION_KEYS and k != "race":
            raise _unknown(source, k, v, (*_SECTION_KEYS, "race"))
    sections = {}
    for name, keys in _SECTION_KEYS.items():
        sec = _table(source, name, d.get(name, {}))
        for k, v in sec.items():
            if k not in keys:
                raise _unknown(source, f"{name}.{k}", v, keys)
        sections[name] = sec

    data = _coerce_floats(sections["data"], _FLOAT_FIELDS["data"])
    if "features" in data and isinstance(data["features"], tuple):
        data["features"] = list(data["features"])
    for k in ("x", "x_val"):
        if k in data:
            data[k] = inline.to_float_rows(data[k])
    if "extent" in data:
        data["extent"] = inline.to_floats(data["extent"])

    model = dict(sections["model"])
    if "hidden" in model:
        hidden = model["hidden"]
        if not isinstance(hidden, list):
            raise ConfigError(source, "model.hidden", hidden,
                              'must be a list of layers like { units = 4, activation = "tanh" }')
        layers = []
        for i, layer in enumerate(hidden):
            k = f"model.hidden[{i}]"
            if not isinstance(layer, dict):
                raise ConfigError(source, k, layer, 'must be a layer like { units = 4, activation = "tanh" }')
            for lk, lv in layer.items():
                if lk not in _LAYER_KEYS:
                    raise _unknown(source, f"{k}.{lk}", lv, _LAYER_KEYS)
            if "units" not in layer:
                raise ConfigError(source, f"{k}.units", _MISSING, "every layer needs units (an integer from 1 to 256)")
            layers.append(Layer(**_coerce_floats(layer, _FLOAT_FIELDS["layer"])))
        model["hidden"] = layers
    if "weights" in model:
        model["weights"] = _weights_from_toml(source, model["weights"])

    train = _coerce_floats(sections["train"], _FLOAT_FIELDS["train"])
    if "options" in train:
        train["options"] = _coerce_options(_table(source, "train.options", train["options"]))

    race = _table(source, "race", d.get("race", {}))
    exp = Experiment(DataConfig(**data), ModelConfig(**model), TrainConfig(**train), dict(race))
    fill_file_data(exp, source, base, given=set(sections["data"]) | {f"train.{k}" for k in sections["train"]})
    validate(exp, source)
    return exp


def _weights_from_toml(source: str, entries: object) -> list[LayerWeights]:
    rule = "must be a list of { W = [[...]], b = [...] }, one per dense layer"
    if not isinstance(entries, list):
        raise ConfigError(source, "model.weights", entries, rule)
    out = []
    for i, entry in enumerate(entries):
        key = f"model.weights[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(source, key, entry, "must be a table { W = [[...]], b = [...] }")
        for k, v in entry.items():
            if k not in ("W", "b"):
                raise _unknown(source, f"{key}.{k}", v, ("W", "b"))
        for k in ("W", "b"):
            if k not in entry:
                raise ConfigError(source, f"{key}.{k}", _MISSING, "every layer's entry needs W (out × in) and b (out)")
        out.append(LayerWeights(inline.to_float_rows(entry["W"]), inline.to_floats(entry["b"])))
    return out


def to_dict(exp: Experiment) -> dict:
    """The experiment as plain TOML-ready data (every key written, except the inline data
    and weights when there are none; betas as a list)."""
    out = asdict(exp)
    out["data"]["features"] = list(exp.data.features)
    for section in ("data", "model"):
        for k in INLINE_KEYS:
            if k in out[section] and not out[section][k]:
                del out[section][k]
    opts = {}
    for k, v in exp.train.options.items():
        opts[k] = list(v) if isinstance(v, tuple) else v
    out["train"]["options"] = opts
    if exp.race:
        out["race"] = {k: [list(v) if isinstance(v, tuple) else v for v in values] for k, values in exp.race.items()}
    else:
        del out["race"]
    return out


_TOML_LINE = re.compile(r"at line (\d+)")


def loads(text: str, source: str = "<string>", base: str | os.PathLike | None = None) -> Experiment:
    """Parse and validate an experiment from TOML text; errors name `source`. base: see from_dict."""
    try:
        return _loads(text, source, base)
    except RecursionError:  # arrays nested thousands deep: no experiment key nests more than 3
        raise ConfigError(source, None, None, "invalid experiment: arrays or tables nested too deeply") from None


def _loads(text: str, source: str, base: str | os.PathLike | None = None) -> Experiment:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = _TOML_LINE.search(msg)
        line = int(m.group(1)) if m else getattr(e, "lineno", None)
        where = f"{source}: line {line}" if line is not None else source
        raise ConfigError(source, None, None, f"invalid TOML: {msg}",
                          message=f"{where}: invalid TOML: {msg}", line=line) from None
    return from_dict(doc, source, base)


def load(path: str | os.PathLike) -> Experiment:
    """Read and validate an experiment file."""
    p = Path(path)
    source = str(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, None, None, "no such file",
                          message=f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(source, None, None, f"cannot read: {e}",
                          message=f"{source}: cannot read: {e}") from None
    return loads(text, source, base=p.parent)


def dumps(exp: Experiment) -> str:
    """The experiment as TOML text; loads(dumps(e)) == e."""
    return tomli_w.dumps(to_dict(exp))


def save(exp: Experiment, path: str | os.PathLike) -> None:
    """Write the experiment atomically: a temporary file in the same folder, then os.replace.
    A CSV's path is written relative to that folder, so the two can move together."""
    p = Path(path)
    directory = p.parent if str(p.parent) else Path(".")
    if exp.data.path and os.path.isabs(exp.data.path):
        exp = copy.deepcopy(exp)
        exp.data.path = Path(os.path.relpath(exp.data.path, os.path.abspath(directory))).as_posix()
    text = dumps(exp)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# --------------------------------------------------------------------------- experiment rules
# Pure functions shared by the app's forms and the CLI: each returns a new Experiment and
# leaves its argument alone. They apply the rules that tie fields together; whether the
# result is allowed is still validate's job.

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


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
_SECTION_KEY = re.compile(r"^(data|model|train)\.(\w+)$")
_LAYER_KEY = re.compile(r"^model\.hidden\[(\d+)\]\.(\w+)$")
_OPTION_KEY = re.compile(r"^train\.options\.(\w+)$")
_SECTION_DEFAULTS = {"data": DataConfig(), "model": ModelConfig(), "train": TrainConfig()}


def _parse(text: str, like: object, key: str, source: str) -> object:
    """`text` read as the type of `like` (a default value of the same field)."""
    def refuse(what: str) -> ConfigError:
        return ConfigError(source, key, text, f"must be {what}",
                           message=f"{source}: {key} = {text!r}: must be {what}")

    if isinstance(like, bool):
        word = text.lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise refuse("true or false")
    if isinstance(like, int):
        try:
            return int(text)
        except ValueError:
            raise refuse("a whole number") from None
    if isinstance(like, float):
        try:
            return float(text)
        except ValueError:
            raise refuse("a number") from None
    if isinstance(like, (tuple, list)):  # betas, features: comma-separated
        parts = [p.strip() for p in text.strip("()[] ").split(",") if p.strip()]
        if isinstance(like, list):
            return parts
        try:
            return tuple(float(p) for p in parts)
        except ValueError:
            raise refuse("numbers separated by commas, like 0.9, 0.999") from None
    return text


def get_field(exp: Experiment, key: str) -> object:
    """The value at a dotted key, as set_field names them (an option not set: its default)."""
    if m := _SECTION_KEY.match(key):
        return getattr(getattr(exp, m.group(1)), m.group(2))
    if m := _LAYER_KEY.match(key):
        return getattr(exp.model.hidden[int(m.group(1))], m.group(2))
    if m := _OPTION_KEY.match(key):
        return optimizer_options(exp.train)[m.group(1)]
    raise KeyError(key)


def set_field(exp: Experiment, key: str, text: str, source: str = "refused") -> Experiment:
    """A form's text for a dotted key ("train.lr", "model.hidden[1].units",
    "train.options.betas", ...) parsed into the field's type. Text that does not parse
    raises ConfigError; the value's range is validate's to check. The dataset and the
    optimizer go through change_dataset and change_optimizer."""
    text = text.strip()
    if key == "data.dataset":
        return change_dataset(exp, text)
    if key == "train.optimizer":
        return change_optimizer(exp, text)
    new = copy.deepcopy(exp)
    if m := _SECTION_KEY.match(key):
        section, name = m.groups()
        settable = tuple(k for k in _SECTION_KEYS[section] if k not in ("hidden", "options", *INLINE_KEYS))
        if name not in settable:
            raise _unknown(source, key, text, settable)
        like = getattr(_SECTION_DEFAULTS[section], name)
        setattr(getattr(new, section), name, _parse(text, like, key, source))
    elif m := _LAYER_KEY.match(key):
        i, name = int(m.group(1)), m.group(2)
        layer = new.model.hidden[_layer_index(exp, i, source)]
        if name not in _LAYER_KEYS:
            raise _unknown(source, key, text, _LAYER_KEYS)
        setattr(layer, name, _parse(text, getattr(Layer(1), name), key, source))
    elif m := _OPTION_KEY.match(key):
        name = m.group(1)
        defaults = OPTIMIZER_DEFAULTS.get(new.train.optimizer, {})
        if name not in defaults:
            raise _unknown(source, key, text, tuple(defaults))
        new.train.options[name] = _parse(text, defaults[name], key, source)
    else:
        raise ConfigError(source, key, text, "not a field of the experiment",
                          message=f"{source}: {key}: not a field of the experiment "
                                  '(like "train.lr", "model.hidden[0].units", "train.options.momentum")')
    return keep_fitting_weights(new)
