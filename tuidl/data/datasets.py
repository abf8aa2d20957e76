"""The 2-D datasets (numpy only).

Generators follow TF Playground's (src/dataset.ts) in the plane [-6, 6]²: circle, xor,
gauss, spiral and the regression plane, plus two-moons and the lecture's "Will I pass this
class?". Playground's labels -1/+1 become class indices 0/1 (positive -> 1). Noise runs
0 … 0.5 as in Playground: for circle, xor and plane it moves the point at which the label
is decided (so labels near the boundary flip), for gauss it widens the blobs, for spiral
and moons it jitters the points, for pass it softens the pass probability.

Everything comes from ``np.random.default_rng(data.seed)``: the same DataConfig always
gives identical arrays. The points are generated, shuffled, and the first
``round(samples * train_fraction)`` are the training set, the rest the validation set.

Features are computed from the raw points and are not standardised (like Playground).

Datasets "csv" and "digits" are read from a file: see file_sets.py.

Dataset "points" is the experiment file's own points (data.x, data.y, data.x_val,
data.y_val), in the order written: no shuffle, so training point 0 is x[0]. Its plane is
data.extent, else the points' bounding box with a margin; without x_val there is no
validation set.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config import (
    DATASETS,
    FILE_DATASETS,
    GENERATED_DATASETS,
    MULTICLASS_DATASETS,
    REGRESSION_DATASETS,
    DataConfig,
    is_regression,
    n_train,
)
from .features import map_features

PLANE_EXTENT = (-6.0, 6.0, -6.0, 6.0)
PASS_EXTENT = (0.0, 12.0, 0.0, 12.0)


@dataclass
class Dataset:
    name: str
    task: str                 # "binary" | "multiclass" | "regression"
    n_classes: int            # 0 for regression
    points_train: np.ndarray  # (n, 2) float64, raw 2-D points (for drawing)
    points_val: np.ndarray
    x_train: np.ndarray       # (n, k) float64 after feature mapping
    x_val: np.ndarray
    y_train: np.ndarray       # (n,) int64 class index; (n, 1) float64 for regression
    y_val: np.ndarray
    feature_names: list[str] = field(default_factory=list)
    extent: tuple[float, float, float, float] = PLANE_EXTENT  # xmin, xmax, ymin, ymax
    axis_labels: tuple[str, str] = ("x1", "x2")
    class_names: list[str] = field(default_factory=list)  # a file's names of the classes ([]: 0, 1, ...)
    image_shape: tuple[int, int] | None = None  # each example is an image of (rows, cols) pixels (digits)

    @property
    def has_plane(self) -> bool:
        """Whether the examples are points of a plane (the boundary view): without one
        (digits, a CSV of other than two inputs) points_train and points_val are (n, 0)."""
        return self.points_train.shape[1] == 2

    @property
    def n_train(self) -> int:
        return len(self.points_train)

    @property
    def n_val(self) -> int:
        return len(self.points_val)

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]


def _counts(n: int, k: int) -> list[int]:
    """n points split over k classes as evenly as possible."""
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


# --------------------------------------------------------------------------- generators
# Each returns (points (n, 2) float64, labels (n,) int64 or (n,) float64 for regression).

def _circle(rng: np.random.Generator, n: int, noise: float, k: int):
    """Playground's circle: class 1 inside radius 2.5, class 0 in the ring 3.5 … 5.

    The label is decided at the point moved by uniform(-5, 5)·noise in x and y.
    """
    radius = 5.0
    n_in, n_out = n - n // 2, n // 2
    r = np.concatenate([rng.uniform(0, radius * 0.5, n_in), rng.uniform(radius * 0.7, radius, n_out)])
    angle = rng.uniform(0, 2 * np.pi, n)
    pts = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    shift = rng.uniform(-radius, radius, (n, 2)) * noise
    label = (np.hypot(*(pts + shift).T) < radius * 0.5).astype(np.int64)
    return pts, label


def _xor(rng: np.random.Generator, n: int, noise: float, k: int):
    """Playground's xor: uniform in (-5, 5)², pushed 0.3 away from the axes; class 1 where x·y >= 0."""
    pts = rng.uniform(-5, 5, (n, 2))
    pts += np.where(pts > 0, 0.3, -0.3)
    shift = rng.uniform(-5, 5, (n, 2)) * noise
    moved = pts + shift
    label = (moved[:, 0] * moved[:, 1] >= 0).astype(np.int64)
    return pts, label


def _gauss(rng: np.random.Generator, n: int, noise: float, k: int):
    """Gaussian blobs; variance 0.5 … 4 as noise goes 0 … 0.5 (Playground's scale).

    k = 2: Playground's two gaussians, class 1 at (2, 2), class 0 at (-2, -2).
    k > 2: k blobs evenly on a circle of radius 4, class c at angle 225° + c·360°/k.
    """
    variance = 0.5 + (4 - 0.5) * noise / 0.5
    radius = 2 * np.sqrt(2) if k == 2 else 4.0
    pts, labels = [], []
    for c, m in enumerate(_counts(n, k)):
        a = 1.25 * np.pi + 2 * np.pi * c / k
        centre = np.array([radius * np.cos(a), radius * np.sin(a)])
        pts.append(centre + rng.normal(0.0, np.sqrt(variance), (m, 2)))
        labels.append(np.full(m, c, dtype=np.int64))
    return np.concatenate(pts), np.concatenate(labels)


def _spiral(rng: np.random.Generator, n: int, noise: float, k: int):
    """Playground's spiral: arms r = 5·i/m, angle 1.75·2π·i/m + δ, jittered by uniform(-1, 1)·noise.

    Class c has phase δ = π + 2πc/k (for k = 2: class 1 is Playground's positive arm, δ = 0).
    """
    pts, labels = [], []
    for c, m in enumerate(_counts(n, k)):
        i = np.arange(m)
        r = i / m * 5
        t = 1.75 * i / m * 2 * np.pi + np.pi + 2 * np.pi * c / k
        p = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        p += rng.uniform(-1, 1, (m, 2)) * noise
        pts.append(p)
        labels.append(np.full(m, c, dtype=np.int64))
    return np.concatenate(pts), np.concatenate(labels)


def _moons(rng: np.random.Generator, n: int, noise: float, k: int):
    """Two interleaving half-moons (as sklearn's make_moons), scaled by 10/3 and centred.

    Class 0 is the upper moon (cos t, sin t), class 1 the lower (1 − cos t, 0.5 − sin t),
    t uniform in [0, π]; then centred and scaled to x in about [-5, 5], y in [-2.5, 2.5].
    Noise adds gaussian jitter with standard deviation 0.6·noise in moon units (so noise
    0.5 is sklearn's noise 0.3, where the moons overlap), 2·noise in the plane.
    """
    n0, n1 = n - n // 2, n // 2
    t0 = rng.uniform(0, np.pi, n0)
    t1 = rng.uniform(0, np.pi, n1)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    pts = np.concatenate([upper, lower])
    pts += rng.normal(0.0, 0.6 * noise, (n, 2))
    pts = (pts - np.array([0.5, 0.25])) * (10 / 3)
    labels = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    return pts, labels


def _plane(rng: np.random.Generator, n: int, noise: float, k: int):
    """Playground's regression plane: target (x1 + x2) / 10, in about [-1.2, 1.2].

    Points uniform in (-6, 6)²; the target is read at the point moved by uniform(-6, 6)·noise.
    """
    radius = 6.0
    pts = rng.uniform(-radius, radius, (n, 2))
    shift = rng.uniform(-radius, radius, (n, 2)) * noise
    target = (pts + shift).sum(axis=1) / 10.0
    return pts, target.astype(np.float64)


PASS_WEIGHTS = (1.0, 1.0)
PASS_THRESHOLD = 8.0
PASS_SHARPNESS = 4.0


def pass_probability(points: np.ndarray, noise: float = 0.0) -> np.ndarray:
    """P(pass) of the "Will I pass this class?" generator at points (n, 2)."""
    p = np.asarray(points, dtype=np.float64)
    score = PASS_WEIGHTS[0] * p[:, 0] + PASS_WEIGHTS[1] * p[:, 1] - PASS_THRESHOLD
    s = PASS_SHARPNESS / (1.0 + 10.0 * noise)
    return 1.0 / (1.0 + np.exp(-s * score))


def _pass(rng: np.random.Generator, n: int, noise: float, k: int):
    """The lecture's "Will I pass this class?".

    x1 = lectures attended, x2 = hours spent on the final project, both uniform in
    [0, 12] (continuous). The score is z = s·(x1 + x2 − 8) with sharpness
    s = 4 / (1 + 10·noise); P(pass) = σ(z) and the label is drawn from it (1 = pass). So
    more lectures and more hours mean a likelier pass; the lecture's student x = (4, 5)
    passes with probability σ(4) ≈ 0.98 at noise 0 (≈ 0.66 at noise 0.5). About 3 in 4
    points pass (the line x1 + x2 = 8 cuts off the lower-left corner of the square).
    The points live in [0, 12]² and are not centred; like every dataset here they are not
    standardised, which this small range tolerates.
    """
    pts = rng.uniform(0.0, 12.0, (n, 2))
    prob = pass_probability(pts, noise)
    labels = (rng.uniform(0.0, 1.0, n) < prob).astype(np.int64)
    return pts, labels


# dataset -> its generator (rng, n, noise, k) -> (points (n, 2), labels (n,)); the exported
# script carries their source (tuidl.export.data_code), so they use numpy and this module only
GENERATORS = {
    "circle": _circle,
    "xor": _xor,
    "gauss": _gauss,
    "spiral": _spiral,
    "moons": _moons,
    "pass": _pass,
    "plane": _plane,
}
assert set(GENERATORS) == set(GENERATED_DATASETS)


def points_extent(points: np.ndarray) -> tuple[float, float, float, float]:
    """The points' bounding box, widened on each side by a fifth of its span (at least 1),
    so that no point sits on the plane's edge and a single point still has room."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    margin = np.maximum((hi - lo) * 0.2, 1.0)
    lo, hi = lo - margin, hi + margin
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def _points_dataset(cfg: DataConfig) -> Dataset:
    """The file's own points, in the order written (the first point is training point 0)."""
    if not cfg.x:
        raise ValueError('dataset "points" needs its training points: data.x and data.y')
    regression = is_regression(cfg)
    pts_train = np.asarray(cfg.x, dtype=np.float64).reshape(-1, 2)
    pts_val = np.asarray(cfg.x_val, dtype=np.float64).reshape(-1, 2)
    if regression:
        y_train = np.asarray(cfg.y, dtype=np.float64).reshape(-1, 1)
        y_val = np.asarray(cfg.y_val, dtype=np.float64).reshape(-1, 1)
        task, n_classes = "regression", 0
    else:
        y_train = np.asarray(cfg.y, dtype=np.int64).reshape(-1)
        y_val = np.asarray(cfg.y_val, dtype=np.int64).reshape(-1)
        task, n_classes = ("binary" if cfg.classes == 2 else "multiclass"), int(cfg.classes)
    features = list(cfg.features)
    return Dataset(
        name="points", task=task, n_classes=n_classes,
        points_train=pts_train, points_val=pts_val,
        x_train=map_features(pts_train, features), x_val=map_features(pts_val, features),
        y_train=y_train, y_val=y_val, feature_names=features,
        extent=tuple(float(v) for v in cfg.extent) if cfg.extent else points_extent(np.concatenate([pts_train, pts_val])),
        axis_labels=tuple(cfg.axis_labels) if cfg.axis_labels else ("x1", "x2"),
    )


def make_dataset(cfg: DataConfig) -> Dataset:
    """Generate, shuffle, split and feature-map the dataset described by cfg (deterministic)."""
    if cfg.dataset == "points":
        return _points_dataset(cfg)
    if cfg.dataset in FILE_DATASETS:
        from .file_sets import make_file_dataset  # it builds on this module

        return make_file_dataset(cfg)
    if cfg.dataset not in GENERATORS:
        raise ValueError(f"unknown dataset {cfg.dataset!r} (allowed: {', '.join(DATASETS)})")
    k = int(cfg.classes)
    if k < 2 or (k > 2 and cfg.dataset not in MULTICLASS_DATASETS):
        raise ValueError(f"dataset {cfg.dataset!r} cannot have {k} classes")
    n = int(cfg.samples)
    rng = np.random.default_rng(cfg.seed)
    pts, labels = GENERATORS[cfg.dataset](rng, n, float(cfg.noise), k)
    order = rng.permutation(n)
    pts = np.ascontiguousarray(pts[order], dtype=np.float64)
    labels = labels[order]

    regression = cfg.dataset in REGRESSION_DATASETS
    if regression:
        y = labels.astype(np.float64).reshape(-1, 1)
        task, n_classes = "regression", 0
    else:
        y = labels.astype(np.int64)
        task, n_classes = ("binary" if k == 2 else "multiclass"), k

    nt = n_train(cfg)
    features = list(cfg.features)
    x = map_features(pts, features)
    if cfg.dataset == "pass":
        extent, axis_labels = PASS_EXTENT, ("lectures attended", "hours on final project")
    else:
        extent, axis_labels = PLANE_EXTENT, ("x1", "x2")
    if cfg.axis_labels:
        axis_labels = tuple(cfg.axis_labels)
    return Dataset(
        name=cfg.dataset,
        task=task,
        n_classes=n_classes,
        points_train=pts[:nt].copy(),
        points_val=pts[nt:].copy(),
        x_train=x[:nt].copy(),
        x_val=x[nt:].copy(),
        y_train=y[:nt].copy(),
        y_val=y[nt:].copy(),
        feature_names=features,
        extent=extent,
        axis_labels=axis_labels,
    )
