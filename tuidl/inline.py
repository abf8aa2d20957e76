"""A lesson's inline values in the experiment file: its own points and its initial weights.

[data]  dataset = "points", x = [[x1, x2], ...], y = [...], x_val, y_val (optional)
[model] weights = [{ W = [[...]], b = [...] }, ...]   one entry per dense layer

The checks here take a `fail(key, value, rule)` callback (config's checker, which raises
ConfigError naming the file, the key, the value and the rule), so that this module needs
nothing from tuidl.config and tuidl.config stays the one place that calls them. No torch.

What the y values mean: integers (TOML 0, 1) are class labels; as soon as one value of
y or y_val has a decimal point (0.5, 1.0) the points are a regression set, values to fit,
and the loss must be "mse". Points always have two coordinates (the plane's x1, x2).
"""
from __future__ import annotations

import math
from typing import Callable

Fail = Callable[[str, object, str], None]

MAX_POINTS = 5000
MAX_LABEL_CHARS = 40


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def are_values(y: list, y_val: list) -> bool:
    """True when the targets are regression values (some number has a decimal point)."""
    return any(isinstance(v, float) for v in (*y, *y_val))


def to_float_rows(rows: object) -> object:
    """TOML integers in a list of number lists made floats ([[-1, 2]] -> [[-1.0, 2.0]]);
    anything else is left alone for the checks to name."""
    if not isinstance(rows, list):
        return rows
    return [[float(v) if _is_int(v) else v for v in row] if isinstance(row, list) else row for row in rows]


def to_floats(values: object) -> object:
    if not isinstance(values, list):
        return values
    return [float(v) if _is_int(v) else v for v in values]


# --------------------------------------------------------------------------- points

def check_points(fail: Fail, dataset: str, x: object, y: object, x_val: object, y_val: object,
                 classes: int) -> None:
    """The inline points (checked whenever given; used when dataset = "points")."""
    if dataset == "points" and (not isinstance(x, list) or not x):
        fail("data.x", x, 'dataset "points" takes its training points from the file: '
             "x = [[x1, x2], ...] with one y per point")
    _check_rows(fail, "data.x", x)
    _check_rows(fail, "data.x_val", x_val)
    for xs, ys, xk, yk in ((x, y, "data.x", "data.y"), (x_val, y_val, "data.x_val", "data.y_val")):
        if not isinstance(ys, list):
            fail(yk, ys, f"must be a list of numbers, one per point of {xk}")
        if len(ys) != len(xs):
            fail(yk, ys, f"has {len(ys)} value{'s' * (len(ys) != 1)} but {xk} has {len(xs)} "
                         f"point{'s' * (len(xs) != 1)}: one y per point")
        for i, v in enumerate(ys):
            if not _is_num(v):
                fail(f"{yk}[{i}]", v, "must be a finite number: a class (0, 1, ...) or a value to fit (0.5)")
    if len(x) + len(x_val) > MAX_POINTS:
        fail("data.x", f"{len(x) + len(x_val)} points", f"at most {MAX_POINTS} points in x and x_val together")
    if are_values(y, y_val):
        return
    for yk, ys in (("data.y", y), ("data.y_val", y_val)):
        for i, v in enumerate(ys):
            if not 0 <= v < classes:
                fail(f"{yk}[{i}]", v, f"must be a class from 0 to {classes - 1} (data.classes = {classes})")


def _check_rows(fail: Fail, key: str, rows: object) -> None:
    if not isinstance(rows, list):
        fail(key, rows, "must be a list of points like [[-1.0, 2.0], [0.5, 1.0]]")
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != 2 or not all(_is_num(v) for v in row):
            fail(f"{key}[{i}]", row, "each point must be two finite numbers [x1, x2]")


def check_values_fit_loss(fail: Fail, y: list, y_val: list, loss: str) -> None:
    """Regression values need mse; bce and ce need class labels."""
    if loss == "mse" or not are_values(y, y_val):
        return
    key, ys = ("data.y", y) if any(isinstance(v, float) for v in y) else ("data.y_val", y_val)
    i = next(i for i, v in enumerate(ys) if isinstance(v, float))
    fail(f"{key}[{i}]", ys[i],
         f'has a decimal point, which makes the points values to fit (regression); loss "{loss}" '
         'needs class labels: write them as integers (0, 1), or use loss "mse" for values')


def check_axis_labels(fail: Fail, labels: object) -> None:
    if not isinstance(labels, list) or len(labels) not in (0, 2):
        fail("data.axis_labels", labels, 'must be two names, like ["lectures attended", "hours on the project"]')
    for i, name in enumerate(labels):
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_LABEL_CHARS:
            fail(f"data.axis_labels[{i}]", name, f"must be a name of 1 to {MAX_LABEL_CHARS} characters")


# --------------------------------------------------------------------------- weights

def matrix_shape(W: object) -> tuple[int, int] | None:
    """(rows, columns) of a rectangular, non-empty list of lists of finite numbers, else None."""
    if not isinstance(W, list) or not W or not all(isinstance(r, list) for r in W):
        return None
    cols = len(W[0])
    if cols == 0 or any(len(r) != cols or not all(_is_num(v) for v in r) for r in W):
        return None
    return len(W), cols


def weights_fit(weights: list, sizes: list[int]) -> bool:
    """Whether weights has one {W, b} per dense layer of a network of these sizes."""
    if len(weights) != len(sizes) - 1:
        return False
    for entry, n_in, n_out in zip(weights, sizes[:-1], sizes[1:]):
        W, b = getattr(entry, "W", None), getattr(entry, "b", None)
        if matrix_shape(W) != (n_out, n_in) or not isinstance(b, list) or len(b) != n_out:
            return False
    return True


def check_weights(fail: Fail, weights: object, sizes: list[int], layer_names: list[str], why: list[str]) -> None:
    """weights: LayerWeights entries; sizes = [inputs, hidden units..., outputs];
    layer_names[i] names dense layer i and why[i] says where its (out, in) comes from."""
    if not isinstance(weights, list):
        fail("model.weights", weights, "must be a list of { W = [[...]], b = [...] }, one per dense layer")
    if not weights:
        return
    n = len(sizes) - 1
    if len(weights) != n:
        fail("model.weights", f"{len(weights)} entries",
             f"needs one {{ W, b }} per dense layer: this network has {n} "
             f"({n - 1} hidden layer{'s' * (n - 1 != 1)} and the output layer)")
    for i, (entry, n_in, n_out) in enumerate(zip(weights, sizes[:-1], sizes[1:])):
        key = f"model.weights[{i}]"
        W, b = getattr(entry, "W", None), getattr(entry, "b", None)
        shape = matrix_shape(W)
        if shape is None:
            fail(f"{key}.W", W, "must be rows of finite numbers, all of the same length (W is (out, in), as in nn.Linear)")
        if shape != (n_out, n_in):
            fail(f"{key}.W", W, f"has shape {shape} but {layer_names[i]} needs ({n_out}, {n_in}): {why[i]}")
        if not isinstance(b, list) or not all(_is_num(v) for v in b):
            fail(f"{key}.b", b, "must be a list of finite numbers, one per unit of the layer")
        if len(b) != n_out:
            fail(f"{key}.b", b, f"has {len(b)} number{'s' * (len(b) != 1)} but {layer_names[i]} has {n_out} "
                                f"unit{'s' * (n_out != 1)}: one bias per unit")
