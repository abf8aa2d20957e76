"""Input features computed from the raw 2-D points (numpy only).

The same seven features as TF Playground: x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2).
They are computed from the raw points and not standardised.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..config import FEATURES

_FEATURE_FUNCS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "x1": lambda a, b: a,
    "x2": lambda a, b: b,
    "x1^2": lambda a, b: a * a,
    "x2^2": lambda a, b: b * b,
    "x1*x2": lambda a, b: a * b,
    "sin(x1)": lambda a, b: np.sin(a),
    "sin(x2)": lambda a, b: np.sin(b),
}
assert tuple(_FEATURE_FUNCS) == FEATURES


def map_features(points: np.ndarray, features: Sequence[str]) -> np.ndarray:
    """Map raw points (n, 2) to the feature matrix (n, len(features)), float64, in the given order."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {pts.shape}")
    if len(features) == 0:
        raise ValueError("at least one feature is needed")
    x1, x2 = pts[:, 0], pts[:, 1]
    cols = []
    for f in features:
        try:
            fn = _FEATURE_FUNCS[f]
        except KeyError:
            raise ValueError(f"unknown feature {f!r} (allowed: {', '.join(FEATURES)})") from None
        cols.append(fn(x1, x2))
    return np.ascontiguousarray(np.stack(cols, axis=1), dtype=np.float64)


def grid_points(extent: Sequence[float], nx: int, ny: int) -> np.ndarray:
    """The centres of an nx × ny grid of cells over extent = (xmin, xmax, ymin, ymax).

    Returns (ny*nx, 2) float64, row-major: row 0 is the top row (largest y), and within a
    row x grows left to right, so ``values.reshape(ny, nx)`` is the heatmap as drawn.
    Cell centres (not the edges) are sampled: each drawn cell shows the value at its middle.
    """
    xmin, xmax, ymin, ymax = (float(v) for v in extent)
    if nx < 1 or ny < 1:
        raise ValueError(f"grid needs nx, ny >= 1, got {nx}, {ny}")
    xs = xmin + (np.arange(nx) + 0.5) * (xmax - xmin) / nx
    ys = ymax - (np.arange(ny) + 0.5) * (ymax - ymin) / ny
    gx, gy = np.meshgrid(xs, ys)  # (ny, nx) each, row 0 = top
    return np.stack([gx.ravel(), gy.ravel()], axis=1)
