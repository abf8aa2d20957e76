"""Points drawn by hand on the plane: the set as plain numbers, its edits, and the rules of
what may be added and what can train. No numpy, no torch, no Textual: the app's drawing
mode (tuidl/ui/plane_points.py, tuidl/ui/points_actions.py) uses it.

The first edit of a 2-D dataset takes its points as they are (training and validation)
and the plane they are shown on, which is kept as data.extent so that the plane does not
move under the cursor as points come and go. Added points go to the training set.
"""
from __future__ import annotations

import copy
import math
from collections import Counter
from dataclasses import dataclass, replace

# The values `c` cycles through for a regression set (the plane's targets lie in about ±1.2).
REGRESSION_VALUES = (-1.0, -0.5, 0.0, 0.5, 1.0)
MIN_PER_CLASS = 2  # training points each class needs before training goes on


class EditRefused(ValueError):
    """An edit that cannot be made; its text says why, for the message line."""


@dataclass(frozen=True)
class HandPoints:
    x: tuple[tuple[float, float], ...]  # training points
    y: tuple  # one class index (int) or value (float) per training point
    x_val: tuple[tuple[float, float], ...]
    y_val: tuple
    extent: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax
    classes: int  # the classes the network outputs; 0 for regression

    @property
    def regression(self) -> bool:
        return self.classes == 0

    @property
    def count(self) -> int:
        return len(self.x) + len(self.x_val)


def from_dataset(dataset, classes: int) -> HandPoints:
    """A Dataset's points as they are; classes: the experiment's data.classes."""
    regression = dataset.task == "regression"
    label = float if regression else int

    def rows(points):
        return tuple((float(p[0]), float(p[1])) for p in points.tolist())

    def labels(ys):
        return tuple(label(v) for v in ys.reshape(len(ys), -1)[:, 0].tolist()) if len(ys) else ()

    return HandPoints(rows(dataset.points_train), labels(dataset.y_train), rows(dataset.points_val),
                      labels(dataset.y_val), tuple(float(v) for v in dataset.extent), 0 if regression else int(classes))


def label_choices(points: HandPoints) -> tuple:
    """What `c` cycles through: the classes the network outputs, or a few values to fit."""
    return REGRESSION_VALUES if points.regression else tuple(range(points.classes))


def label_name(points: HandPoints, label) -> str:
    return f"value {label:g}" if points.regression else f"class {label}"


def _inside(extent, at) -> bool:
    return extent[0] <= at[0] <= extent[1] and extent[2] <= at[1] <= extent[3]


def add(points: HandPoints, at: tuple[float, float], label) -> HandPoints:
    """A training point of `label` at `at`, refused outside the plane or beyond the classes."""
    x, y = (float(v) for v in at)
    e = points.extent
    if not (math.isfinite(x) and math.isfinite(y) and _inside(e, (x, y))):
        raise EditRefused(f"({x:.3g}, {y:.3g}) is outside the plane [{e[0]:g}, {e[1]:g}] × [{e[2]:g}, {e[3]:g}]: "
                          "a point goes inside it")
    if points.regression:
        if not math.isfinite(float(label)):
            raise EditRefused(f"value {label!r}: a finite number")
        label = float(label)
    elif not (isinstance(label, int) and 0 <= label < points.classes):
        raise EditRefused(f"class {label!r}: this network has classes 0 to {points.classes - 1} "
                          "(more classes: a dataset with more, such as gauss, and loss ce)")
    return replace(points, x=points.x + ((x, y),), y=points.y + (label,))


def nearest(points: HandPoints, at: tuple[float, float]) -> tuple[bool, int] | None:
    """(validation?, index) of the point nearest to `at`, distances measured in fractions of
    the plane's width and height (as they look); None when there are no points."""
    e = points.extent
    sx, sy = (e[1] - e[0]) or 1.0, (e[3] - e[2]) or 1.0
    best, found = math.inf, None
    for val, rows in ((False, points.x), (True, points.x_val)):
        for i, (px, py) in enumerate(rows):
            d = math.hypot((px - at[0]) / sx, (py - at[1]) / sy)
            if d < best:
                best, found = d, (val, i)
    return found


def remove_nearest(points: HandPoints, at: tuple[float, float]) -> tuple[HandPoints, str]:
    """The set without the point nearest to `at`, and a description of the point removed."""
    found = nearest(points, at)
    if found is None:
        raise EditRefused("no points to remove")
    val, i = found
    rows, labels = (points.x_val, points.y_val) if val else (points.x, points.y)
    px, py = rows[i]
    what = f"{'validation' if val else 'training'} point ({px:.3g}, {py:.3g}), {label_name(points, labels[i])}"
    rows, labels = rows[:i] + rows[i + 1:], labels[:i] + labels[i + 1:]
    new = replace(points, x_val=rows, y_val=labels) if val else replace(points, x=rows, y=labels)
    return new, what


def clear(points: HandPoints) -> HandPoints:
    return replace(points, x=(), y=(), x_val=(), y_val=())


def training_problem(points: HandPoints) -> str | None:
    """Why this set cannot train yet (None: it can)."""
    if len(points.x) < MIN_PER_CLASS:
        return (f"training waits for points: {len(points.x)} training point{'s' * (len(points.x) != 1)}, "
                f"at least {MIN_PER_CLASS} needed (enter or a click adds one)")
    if points.regression:
        return None
    counts = Counter(points.y)
    if len(counts) < 2:
        return f"training waits for a second class: every training point is class {next(iter(counts))} (c changes it)"
    short = sorted(k for k, n in counts.items() if n < MIN_PER_CLASS)
    if short:
        return (f"training waits for class {short[0]}'s second point: each class needs at least "
                f"{MIN_PER_CLASS} training points")
    return None


def to_experiment(exp, points: HandPoints, axis_labels: tuple[str, str] = ("x1", "x2")):
    """A copy of `exp` whose data is this set (dataset "points", the plane as data.extent);
    the batch size shrinks to the training points where there are fewer. Needs training
    points (an experiment cannot hold an empty set); the caller validates the result."""
    if not points.x:
        raise EditRefused("no training points: an experiment needs at least one")
    new = copy.deepcopy(exp)
    d = new.data
    d.dataset = "points"
    d.x, d.y = [list(p) for p in points.x], list(points.y)
    d.x_val, d.y_val = [list(p) for p in points.x_val], list(points.y_val)
    d.extent = list(points.extent)
    if tuple(axis_labels) != ("x1", "x2") and all(axis_labels):
        d.axis_labels = list(axis_labels)  # the dataset's names of its axes (pass: lectures attended, …)
    new.train.batch_size = min(new.train.batch_size, len(points.x))
    return new
