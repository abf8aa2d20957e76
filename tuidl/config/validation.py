"""validate(): every value of an experiment checked against its rule.

Works on experiments built in code as well as loaded ones; the first bad value raises
ConfigError. A race's shape is checked here too (race_problem).
"""
from __future__ import annotations

import math

from tuidl import inline

from .derived import (
    has_plane,
    input_names,
    is_regression,
    layer_sizes,
    n_train,
    optimizer_options,
)
from .errors import ConfigError, _fmt, _unknown
from .schema import (
    ACTIVATIONS,
    DATASETS,
    DEVICES,
    DIGITS_CLASSES,
    DIGITS_SAMPLES,
    DTYPES,
    FEATURES,
    FILE_DATASETS,
    INITS,
    LOSSES,
    MAX_EPOCHS,
    MAX_HIDDEN_LAYERS,
    MAX_RACE_VARIANTS,
    MAX_UNITS,
    MULTICLASS_DATASETS,
    OPTIMIZER_DEFAULTS,
    OPTIMIZERS,
    RACE_KEYS,
    RACE_OPTION_KEYS,
    DataConfig,
    Experiment,
    Layer,
    ModelConfig,
    TrainConfig,
)


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
