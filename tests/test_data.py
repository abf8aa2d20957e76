"""Datasets and features: determinism, shapes, balance, split sizes, feature values."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tuidl.config import FEATURES, GENERATED_DATASETS, DataConfig
from tuidl.data import Dataset, grid_points, make_dataset, map_features
from tuidl.data.datasets import pass_probability

ROOT = Path(__file__).resolve().parents[1]


def _arrays(d: Dataset):
    return [d.points_train, d.points_val, d.x_train, d.x_val, d.y_train, d.y_val]


@pytest.mark.parametrize("name", GENERATED_DATASETS)
@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_every_dataset_generates(name, noise):
    cfg = DataConfig(dataset=name, samples=300, noise=noise, train_fraction=0.6,
                     features=list(FEATURES), seed=3)
    d = make_dataset(cfg)
    assert d.name == name
    assert d.points_train.shape == (180, 2) and d.points_val.shape == (120, 2)
    assert d.x_train.shape == (180, 7) and d.x_val.shape == (120, 7)
    for a in (d.points_train, d.points_val, d.x_train, d.x_val):
        assert a.dtype == np.float64 and np.isfinite(a).all()
    assert d.feature_names == list(FEATURES)
    xmin, xmax, ymin, ymax = d.extent
    assert xmin < xmax and ymin < ymax
    if name == "plane":
        assert d.task == "regression" and d.n_classes == 0
        assert d.y_train.shape == (180, 1) and d.y_train.dtype == np.float64
        y = np.concatenate([d.y_train, d.y_val])
        assert np.abs(y).max() <= 1.2 + 1.2 * noise + 1e-9
    else:
        assert d.task == "binary" and d.n_classes == 2
        assert d.y_train.shape == (180,) and d.y_train.dtype == np.int64
        assert set(np.unique(np.concatenate([d.y_train, d.y_val]))) <= {0, 1}
    if name == "pass":
        assert d.extent == (0.0, 12.0, 0.0, 12.0)
        assert d.axis_labels == ("lectures attended", "hours on final project")
        pts = np.concatenate([d.points_train, d.points_val])
        assert pts.min() >= 0 and pts.max() <= 12
    else:
        assert d.extent == (-6.0, 6.0, -6.0, 6.0) and d.axis_labels == ("x1", "x2")


@pytest.mark.parametrize("name", GENERATED_DATASETS)
def test_same_seed_same_arrays(name):
    cfg = DataConfig(dataset=name, noise=0.2, seed=11)
    a, b = make_dataset(cfg), make_dataset(DataConfig(dataset=name, noise=0.2, seed=11))
    for x, y in zip(_arrays(a), _arrays(b)):
        assert np.array_equal(x, y)
    c = make_dataset(DataConfig(dataset=name, noise=0.2, seed=12))
    assert not np.array_equal(a.points_train, c.points_train)


@pytest.mark.parametrize("samples, fraction, n_train", [
    (500, 0.5, 250), (20, 0.1, 2), (5000, 0.9, 4500), (333, 0.3, 100), (101, 0.5, 50),
])
def test_split_sizes(samples, fraction, n_train):
    d = make_dataset(DataConfig(samples=samples, train_fraction=fraction))
    assert len(d.points_train) == n_train == d.n_train
    assert len(d.points_val) == samples - n_train == d.n_val
    assert len(d.y_train) == n_train and len(d.x_val) == samples - n_train


def test_split_is_shuffled():
    d = make_dataset(DataConfig(dataset="circle"))
    # circle is generated inside first, ring second: a shuffled split mixes both into train.
    assert 0.35 < d.y_train.mean() < 0.65 and 0.35 < d.y_val.mean() < 0.65


@pytest.mark.parametrize("name, lo, hi", [
    ("circle", 0.5, 0.5), ("xor", 0.4, 0.6), ("gauss", 0.5, 0.5), ("spiral", 0.5, 0.5),
    ("moons", 0.5, 0.5), ("pass", 0.6, 0.9),
])
def test_label_balance(name, lo, hi):
    d = make_dataset(DataConfig(dataset=name, samples=1000))
    y = np.concatenate([d.y_train, d.y_val])
    assert lo - 1e-9 <= y.mean() <= hi + 1e-9


def test_circle_labels_follow_the_radius_without_noise():
    d = make_dataset(DataConfig(dataset="circle"))
    r = np.hypot(*d.points_train.T)
    assert (r[d.y_train == 1] < 2.5).all() and (r[d.y_train == 0] >= 3.5).all()


def test_xor_labels_without_noise():
    d = make_dataset(DataConfig(dataset="xor"))
    p = d.points_train
    assert np.array_equal(d.y_train, (p[:, 0] * p[:, 1] >= 0).astype(np.int64))
    assert (np.abs(p) >= 0.3).all()


def test_gauss_centres():
    d = make_dataset(DataConfig(dataset="gauss", samples=2000))
    p, y = d.points_train, d.y_train
    assert np.allclose(p[y == 1].mean(axis=0), [2, 2], atol=0.2)
    assert np.allclose(p[y == 0].mean(axis=0), [-2, -2], atol=0.2)


def test_plane_target_without_noise():
    d = make_dataset(DataConfig(dataset="plane"))
    assert np.allclose(d.y_train[:, 0], d.points_train.sum(axis=1) / 10)


def test_noise_changes_labels_not_points():
    a = make_dataset(DataConfig(dataset="circle", noise=0.0))
    b = make_dataset(DataConfig(dataset="circle", noise=0.3))
    assert np.array_equal(a.points_train, b.points_train)
    assert not np.array_equal(a.y_train, b.y_train)


def test_pass_lecture_student():
    # The lecture's student x = (4, 5) passes; more lectures / more hours -> likelier pass.
    p = pass_probability(np.array([[4.0, 5.0], [2.0, 2.0], [10.0, 10.0], [6.0, 5.0]]))
    assert p[0] > 0.9 and p[1] < 0.1 and p[2] > 0.99 and p[3] > p[0]
    noisy = pass_probability(np.array([[4.0, 5.0]]), noise=0.5)
    assert 0.5 < noisy[0] < p[0]


@pytest.mark.parametrize("name", ["gauss", "spiral"])
@pytest.mark.parametrize("k", [3, 5, 8])
def test_more_classes(name, k):
    d = make_dataset(DataConfig(dataset=name, samples=400, classes=k))
    assert d.task == "multiclass" and d.n_classes == k
    y = np.concatenate([d.y_train, d.y_val])
    counts = np.bincount(y, minlength=k)
    assert len(counts) == k and counts.min() >= 400 // k and counts.max() <= 400 // k + 1


def test_two_classes_refused_elsewhere():
    with pytest.raises(ValueError):
        make_dataset(DataConfig(dataset="circle", classes=3))
    with pytest.raises(ValueError):
        make_dataset(DataConfig(dataset="nope"))


def test_map_features_values():
    pts = np.array([[1.0, 2.0], [-0.5, 3.0]])
    x = map_features(pts, ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"])
    expect = np.array([
        [1.0, 2.0, 1.0, 4.0, 2.0, np.sin(1.0), np.sin(2.0)],
        [-0.5, 3.0, 0.25, 9.0, -1.5, np.sin(-0.5), np.sin(3.0)],
    ])
    assert x.dtype == np.float64 and np.allclose(x, expect)
    # the order given is kept
    assert np.allclose(map_features(pts, ["x1*x2", "x1"]), expect[:, [4, 0]])
    with pytest.raises(ValueError):
        map_features(pts, ["x3"])


def test_dataset_features_match_points():
    d = make_dataset(DataConfig(features=["sin(x2)", "x1^2"]))
    assert np.allclose(d.x_train, map_features(d.points_train, ["sin(x2)", "x1^2"]))
    assert d.feature_names == ["sin(x2)", "x1^2"]


def test_grid_points():
    g = grid_points((-6, 6, -6, 6), 4, 3)
    assert g.shape == (12, 2)
    rows = g.reshape(3, 4, 2)
    assert np.allclose(rows[0, :, 1], 4.0)      # top row: largest y (cell centres)
    assert np.allclose(rows[-1, :, 1], -4.0)
    assert np.allclose(rows[0, :, 0], [-4.5, -1.5, 1.5, 4.5])  # x grows along a row
    assert np.allclose(rows[:, 0, 0], -4.5)


def test_no_torch_or_textual_import():
    code = ("import tuidl.config, tuidl.data, sys; "
            "assert 'torch' not in sys.modules and 'textual' not in sys.modules, "
            "[m for m in sys.modules if m.startswith(('torch', 'textual'))]")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# --------------------------------------------------------------------------- the file's own points

def _points(**kw) -> DataConfig:
    base = dict(dataset="points", x=[[-1.0, 2.0], [2.0, 1.0], [0.0, -3.0]], y=[0, 1, 1])
    base.update(kw)
    return DataConfig(**base)


def test_points_keep_their_order_and_need_no_validation_set():
    d = make_dataset(_points(features=["x1", "x2", "x1^2"]))
    assert d.name == "points" and d.task == "binary" and d.n_classes == 2
    assert d.points_train.tolist() == [[-1.0, 2.0], [2.0, 1.0], [0.0, -3.0]]  # as written: point 0 first
    assert d.y_train.tolist() == [0, 1, 1] and d.y_train.dtype == np.int64
    assert d.x_train.tolist() == [[-1.0, 2.0, 1.0], [2.0, 1.0, 4.0], [0.0, -3.0, 0.0]]
    assert d.points_val.shape == (0, 2) and d.x_val.shape == (0, 3) and d.y_val.shape == (0,)
    assert d.n_val == 0 and d.axis_labels == ("x1", "x2")


def test_points_plane_is_their_box_with_a_margin():
    d = make_dataset(_points(x_val=[[5.0, 0.0]], y_val=[0]))
    xmin, xmax, ymin, ymax = d.extent
    pts = np.concatenate([d.points_train, d.points_val])
    assert xmin < pts[:, 0].min() and xmax > pts[:, 0].max() and ymin < pts[:, 1].min() and ymax > pts[:, 1].max()
    assert (xmin, xmax) == pytest.approx((-1 - 1.2, 5 + 1.2))  # a fifth of the span 6 each side
    assert (ymin, ymax) == pytest.approx((-3 - 1.0, 2 + 1.0))  # a fifth of 5, at least 1
    one = make_dataset(_points(x=[[1.0, 1.0]], y=[1])).extent
    assert one == (0.0, 2.0, 0.0, 2.0)  # a single point still has room around it
    assert d.points_val.tolist() == [[5.0, 0.0]] and d.y_val.tolist() == [0]


def test_points_with_values_are_regression_targets():
    d = make_dataset(_points(y=[0.5, -1.0, 2.0]))
    assert d.task == "regression" and d.n_classes == 0
    assert d.y_train.shape == (3, 1) and d.y_train.dtype == np.float64 and d.y_val.shape == (0, 1)


def test_points_without_points_are_refused():
    with pytest.raises(ValueError, match="data.x"):
        make_dataset(DataConfig(dataset="points"))


def test_axis_labels_name_the_plane_of_any_dataset():
    d = make_dataset(_points(axis_labels=["lectures attended", "hours on the final project"]))
    assert d.axis_labels == ("lectures attended", "hours on the final project")
    assert make_dataset(DataConfig(dataset="circle", axis_labels=["a", "b"])).axis_labels == ("a", "b")
    assert make_dataset(DataConfig(dataset="pass")).axis_labels == ("lectures attended", "hours on final project")
