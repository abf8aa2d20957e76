"""The datasets read from a file: a CSV of the learner's own, and the shipped digits (numpy only).

Both take the file's rows through split.row_order. A CSV's inputs are standardised with
the experiment's data.mean and data.std (filled in from the training rows when the
experiment was loaded); with exactly two input columns they are a plane, so the features
and the boundary view apply. The digits' pixels are divided by 16, to 0..1: already on one
scale, and the grid of digits draws them as they are.
"""
from __future__ import annotations

import numpy as np

from ..config import ConfigError, DIGITS_CLASSES, DIGITS_SIDE, DataConfig, has_plane, input_names
from . import csv_file
from .datasets import Dataset, points_extent
from .digits import PIXEL_MAX, load_digits
from .features import map_features
from .split import row_order


def _raise(key: str, value: object, rule: str) -> None:
    raise ConfigError("<data>", key, value, rule)


def make_file_dataset(cfg: DataConfig) -> Dataset:
    if cfg.dataset == "digits":
        return _digits(cfg)
    return _csv(cfg)


def _digits(cfg: DataConfig) -> Dataset:
    pixels, digits = load_digits()
    train, val = row_order(len(digits), cfg)
    x = pixels.astype(np.float64) / PIXEL_MAX
    return Dataset(
        name="digits", task="multiclass", n_classes=DIGITS_CLASSES,
        points_train=np.empty((len(train), 0)), points_val=np.empty((len(val), 0)),
        x_train=x[train], x_val=x[val], y_train=digits[train].copy(), y_val=digits[val].copy(),
        feature_names=input_names(cfg), class_names=[str(k) for k in range(DIGITS_CLASSES)],
        image_shape=(DIGITS_SIDE, DIGITS_SIDE),
    )


def _csv(cfg: DataConfig) -> Dataset:
    data = csv_file.read(_raise, cfg)
    train, val = row_order(len(data.x), cfg)
    x = (data.x - np.asarray(cfg.mean)) / np.asarray(cfg.std)
    if data.task == "regression":
        task, n_classes = "regression", 0
    else:
        n_classes = len(data.class_names)
        task = "binary" if n_classes == 2 else "multiclass"
    plane = has_plane(cfg)
    if plane:  # two standardised columns are the plane's coordinates
        points = x
        inputs = map_features(points, list(cfg.features))
        extent = points_extent(points)
        axis_labels = tuple(cfg.axis_labels) if cfg.axis_labels else tuple(data.columns)
    else:
        points, inputs = np.empty((len(x), 0)), x
        extent, axis_labels = (-1.0, 1.0, -1.0, 1.0), ("", "")
    return Dataset(
        name="csv", task=task, n_classes=n_classes,
        points_train=points[train], points_val=points[val],
        x_train=inputs[train], x_val=inputs[val], y_train=data.y[train], y_val=data.y[val],
        feature_names=input_names(cfg), extent=extent, axis_labels=axis_labels,
        class_names=list(data.class_names),
    )
