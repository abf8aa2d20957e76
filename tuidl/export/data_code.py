"""The exported script's data section: Python source that makes tuidl's arrays.

A generated dataset is written out as its numpy generator (the one of tuidl.data.datasets,
with its constants inlined), so that the script draws the same arrays from the same seed;
the tests hold every generator here equal to tuidl's, array for array. A "points" set is
written as its points. Any other dataset (a CSV, the digits: read from a file) is written
as its arrays, as the network gets them, at the end of the script. No torch here.
"""
from __future__ import annotations

import textwrap

import numpy as np

from tuidl import config as cfg
from tuidl.config import Experiment

# generate(rng, n, noise) -> (points (n, 2), labels (n,)): tuidl.data.datasets' generators.
GENERATORS = {
    "circle": '''
def generate(rng, n, noise):
    """TF Playground's circle: class 1 inside radius 2.5, class 0 in the ring 3.5 … 5. The
    label is decided at the point moved by uniform(-5, 5)·noise in x and y."""
    radius = 5.0
    n_in, n_out = n - n // 2, n // 2
    inside = rng.uniform(0, radius * 0.5, n_in)
    ring = rng.uniform(radius * 0.7, radius, n_out)
    r = np.concatenate([inside, ring])
    angle = rng.uniform(0, 2 * np.pi, n)
    points = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    shift = rng.uniform(-radius, radius, (n, 2)) * noise
    labels = (np.hypot(*(points + shift).T) < radius * 0.5).astype(np.int64)
    return points, labels
''',
    "xor": '''
def generate(rng, n, noise):
    """TF Playground's xor: uniform in (-5, 5)², pushed 0.3 away from the axes; class 1
    where x1·x2 >= 0, decided at the point moved by uniform(-5, 5)·noise."""
    points = rng.uniform(-5, 5, (n, 2))
    points += np.where(points > 0, 0.3, -0.3)
    moved = points + rng.uniform(-5, 5, (n, 2)) * noise
    labels = (moved[:, 0] * moved[:, 1] >= 0).astype(np.int64)
    return points, labels
''',
    "gauss": '''
def generate(rng, n, noise):
    """Gaussian blobs of variance 0.5 … 4 as noise goes 0 … 0.5. Two classes: class 1 at
    (2, 2), class 0 at (-2, -2); more: CLASSES blobs on a circle of radius 4, class c at
    the angle 225° + c·360°/CLASSES."""
    k = CLASSES
    variance = 0.5 + (4 - 0.5) * noise / 0.5
    radius = 2 * np.sqrt(2) if k == 2 else 4.0
    points, labels = [], []
    for c in range(k):
        m = n // k + (1 if c < n % k else 0)  # n points split over the classes evenly
        a = 1.25 * np.pi + 2 * np.pi * c / k
        centre = np.array([radius * np.cos(a), radius * np.sin(a)])
        points.append(centre + rng.normal(0.0, np.sqrt(variance), (m, 2)))
        labels.append(np.full(m, c, dtype=np.int64))
    return np.concatenate(points), np.concatenate(labels)
''',
    "spiral": '''
def generate(rng, n, noise):
    """TF Playground's spiral: arm c at radius 5·i/m and angle 1.75·2π·i/m + π + 2πc/CLASSES,
    jittered by uniform(-1, 1)·noise."""
    k = CLASSES
    points, labels = [], []
    for c in range(k):
        m = n // k + (1 if c < n % k else 0)  # n points split over the classes evenly
        i = np.arange(m)
        r = i / m * 5
        t = 1.75 * i / m * 2 * np.pi + np.pi + 2 * np.pi * c / k
        p = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        p += rng.uniform(-1, 1, (m, 2)) * noise
        points.append(p)
        labels.append(np.full(m, c, dtype=np.int64))
    return np.concatenate(points), np.concatenate(labels)
''',
    "moons": '''
def generate(rng, n, noise):
    """Two interleaving half-moons (as sklearn's make_moons), centred and scaled by 10/3;
    noise adds gaussian jitter of standard deviation 0.6·noise in moon units."""
    n0, n1 = n - n // 2, n // 2
    t0 = rng.uniform(0, np.pi, n0)
    t1 = rng.uniform(0, np.pi, n1)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    points = np.concatenate([upper, lower])
    points += rng.normal(0.0, 0.6 * noise, (n, 2))
    points = (points - np.array([0.5, 0.25])) * (10 / 3)
    labels = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    return points, labels
''',
    "pass": '''
def generate(rng, n, noise):
    """"Will I pass this class?": x1 lectures attended, x2 hours on the final project, both
    uniform in [0, 12]; P(pass) = σ(s·(x1 + x2 − 8)) with s = 4/(1 + 10·noise), and the
    label (1 = pass) is drawn from it."""
    points = rng.uniform(0.0, 12.0, (n, 2))
    score = points[:, 0] + points[:, 1] - 8.0
    s = 4.0 / (1.0 + 10.0 * noise)
    probability = 1.0 / (1.0 + np.exp(-s * score))
    labels = (rng.uniform(0.0, 1.0, n) < probability).astype(np.int64)
    return points, labels
''',
    "plane": '''
def generate(rng, n, noise):
    """TF Playground's regression plane: the target (x1 + x2)/10, read at the point moved by
    uniform(-6, 6)·noise."""
    points = rng.uniform(-6.0, 6.0, (n, 2))
    shift = rng.uniform(-6.0, 6.0, (n, 2)) * noise
    target = (points + shift).sum(axis=1) / 10.0
    return points, target
''',
}

# The input features as numpy expressions of x1, x2 (tuidl.data.features').
FEATURE_CODE = {
    "x1": "x1", "x2": "x2", "x1^2": "x1 * x1", "x2^2": "x2 * x2", "x1*x2": "x1 * x2",
    "sin(x1)": "np.sin(x1)", "sin(x2)": "np.sin(x2)",
}
assert tuple(FEATURE_CODE) == cfg.FEATURES


def array_code(values, dtype: str) -> str:
    """An np.array literal, one row a line, every float written so that it reads back exactly."""
    a = np.asarray(values)
    if a.ndim == 2 and a.shape[0] > 0:
        rows = "\n".join(textwrap.fill("[" + ", ".join(_number(v) for v in row) + "],", 88,
                                       initial_indent="    ", subsequent_indent="     ") for row in a.tolist())
        return f"np.array([\n{rows}\n], dtype=np.{dtype})"
    if a.size == 0:
        width = a.shape[1] if a.ndim == 2 else 0
        return f"np.zeros({(0, width) if width else 0}, dtype=np.{dtype})"
    body = textwrap.fill(", ".join(_number(v) for v in a.reshape(-1).tolist()), 88,
                         initial_indent="    ", subsequent_indent="    ")
    return f"np.array([\n{body},\n], dtype=np.{dtype})"


def _number(v) -> str:
    return repr(float(v)) if isinstance(v, float) else str(int(v))


def features_code(features: list[str]) -> str:
    names = ", ".join(features)
    columns = ", ".join(FEATURE_CODE[f] for f in features)
    return f'''
def features(points):
    """The network's inputs from the 2-D points (not standardised, as in tuidl):
    {names}."""
    x1, x2 = points[:, 0], points[:, 1]
    return np.stack([{columns}], axis=1)
'''


def data_code(exp: Experiment, dataset=None) -> tuple[str, str]:
    """(the data section, its tables): constants and `make_data()`, which returns (x_train,
    y_train, x_val, y_val) as numpy arrays equal to tuidl's (y: class indices, or values for
    regression); the tables, if any, are long arrays that go at the end of the script, after
    the code. `dataset`: tuidl's Dataset, needed only for a dataset written as arrays."""
    d = exp.data
    if d.dataset in GENERATORS:
        return _generated(exp), ""
    if d.dataset == "points":
        return _points(exp), ""
    if dataset is None:
        from tuidl.data import make_dataset

        dataset = make_dataset(d)
    return _arrays(exp, dataset)


def _generated(exp: Experiment) -> str:
    d = exp.data
    n_train = cfg.n_train(d)
    classes = f"CLASSES = {d.classes}\n" if d.dataset in ("gauss", "spiral") else ""
    return f'''# -- the data ---------------------------------------------------------------------
# tuidl's "{d.dataset}" dataset: {d.samples} points drawn with numpy's default_rng(DATA_SEED),
# shuffled with it; the first N_TRAIN train, the rest validate.
DATA_SEED = {d.seed}
SAMPLES = {d.samples}
NOISE = {d.noise!r}
{classes}N_TRAIN = {n_train}  # round(SAMPLES · train fraction {d.train_fraction!r})

{GENERATORS[d.dataset]}
{features_code(list(d.features))}

def make_data():
    """(x_train, y_train, x_val, y_val) as numpy arrays, the ones tuidl makes."""
    rng = np.random.default_rng(DATA_SEED)
    points, labels = generate(rng, SAMPLES, NOISE)
    order = rng.permutation(SAMPLES)
    x, y = features(points[order]), labels[order]
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]
'''


def _points(exp: Experiment) -> str:
    d = exp.data
    y_type = "float64" if cfg.is_regression(d) else "int64"
    x_val = np.asarray(d.x_val, dtype=np.float64).reshape(-1, 2)
    return f'''# -- the data ---------------------------------------------------------------------
# The experiment's own points, in the order written (training point 0 is TRAIN_POINTS[0]).
TRAIN_POINTS = {array_code(np.asarray(d.x, dtype=np.float64).reshape(-1, 2), "float64")}
TRAIN_Y = {array_code(d.y, y_type)}
VAL_POINTS = {array_code(x_val, "float64")}
VAL_Y = {array_code(d.y_val, y_type)}

{features_code(list(d.features))}

def make_data():
    """(x_train, y_train, x_val, y_val) as numpy arrays, the ones tuidl makes."""
    return features(TRAIN_POINTS), TRAIN_Y, features(VAL_POINTS), VAL_Y
'''


def _arrays(exp: Experiment, dataset) -> tuple[str, str]:
    y_type = "float64" if dataset.task == "regression" else "int64"
    section = f'''# -- the data ---------------------------------------------------------------------
# tuidl's "{exp.data.dataset}" data, as the network gets it ({dataset.x_train.shape[1]} inputs); the arrays
# X_TRAIN, Y_TRAIN, X_VAL and Y_VAL are at the end of this file.


def make_data():
    """(x_train, y_train, x_val, y_val) as numpy arrays, the ones tuidl makes."""
    return X_TRAIN, Y_TRAIN, X_VAL, Y_VAL
'''
    tables = f'''# -- the data's arrays -------------------------------------------------------------
X_TRAIN = {array_code(dataset.x_train, "float64")}
Y_TRAIN = {array_code(np.asarray(dataset.y_train).reshape(-1), y_type)}
X_VAL = {array_code(dataset.x_val, "float64")}
Y_VAL = {array_code(np.asarray(dataset.y_val).reshape(-1), y_type)}
'''
    return section, tables
