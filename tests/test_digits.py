"""dataset = "digits": the shipped file, its dataset, and a network that learns it."""
from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from tuidl import config as cfg
from tuidl.config import ConfigError
from tuidl.data import make_dataset
from tuidl.data.digits import load_digits

ROOT = Path(__file__).resolve().parent.parent


def test_the_shipped_file_is_the_whole_set_with_its_licence():
    pixels, digits = load_digits()
    assert pixels.shape == (1797, 64) and digits.shape == (1797,)
    assert pixels.min() == 0 and pixels.max() == 16
    assert sorted(set(digits.tolist())) == list(range(10))
    assert np.bincount(digits).min() > 150  # about 180 of each digit
    note = (ROOT / "tuidl" / "data" / "DIGITS_LICENSE.txt").read_text()
    assert "CC BY 4.0" in note and "UCI" in note
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert {"digits.csv.gz", "DIGITS_LICENSE.txt"} <= set(package_data["tuidl.data"])


def test_a_digits_experiment_takes_every_image_ten_classes_and_ce():
    exp = cfg.loads('[data]\ndataset = "digits"\ntrain_fraction = 0.8\n')
    assert (exp.data.samples, exp.data.classes, exp.train.loss) == (1797, 10, "ce")
    assert cfg.layer_sizes(exp)[0] == 64 and cfg.layer_sizes(exp)[-1] == 10 and not cfg.has_plane(exp.data)
    ds = make_dataset(exp.data)
    assert ds.x_train.shape == (round(1797 * 0.8), 64) and len(ds.y_train) + len(ds.y_val) == 1797
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0  # pixels / 16
    assert not ds.has_plane and ds.image_shape == (8, 8) and ds.class_names == [str(k) for k in range(10)]
    # the rows are the file's: each example's pixels and label belong together
    pixels, digits = load_digits()
    row = int(np.flatnonzero((pixels / 16.0 == ds.x_val[0]).all(axis=1))[0])
    assert digits[row] == ds.y_val[0]


def test_fewer_samples_take_a_seeded_subset():
    exp = cfg.loads('[data]\ndataset = "digits"\nsamples = 300\nseed = 4\n')
    a, b = make_dataset(exp.data), make_dataset(exp.data)
    assert a.n_train + a.n_val == 300 and np.array_equal(a.x_train, b.x_train)
    exp.data.seed = 5
    assert not np.array_equal(make_dataset(exp.data).x_train, a.x_train)


@pytest.mark.parametrize("text, key", [
    ('[data]\ndataset = "digits"\nclasses = 3\n', "data.classes"),
    ('[data]\ndataset = "digits"\nsamples = 2000\n', "data.samples"),
    ('[data]\ndataset = "digits"\n[train]\nloss = "bce"\n', "data.classes"),
])
def test_bad_digits_settings_are_refused(text, key):
    with pytest.raises(ConfigError) as err:
        cfg.loads(text)
    assert err.value.key in (key, "train.loss"), str(err.value)


def test_choosing_digits_and_back():
    exp = cfg.change_dataset(cfg.default_experiment(), "digits")
    cfg.validate(exp)
    assert (exp.data.samples, exp.data.classes, exp.train.loss) == (1797, 10, "ce")
    back = cfg.change_dataset(exp, "circle")
    cfg.validate(back)
    assert back.data.samples == cfg.DataConfig().samples and back.data.classes == 2


def test_a_short_run_learns_far_above_chance():
    from tuidl.engine.trainer import Trainer

    exp = cfg.loads('[data]\ndataset = "digits"\nsamples = 600\n[model]\nhidden = [{ units = 32, activation = "relu" }]\n'
                    '[train]\noptimizer = "adam"\nlr = 0.01\nbatch_size = 32\nepochs = 5\n')
    trainer = Trainer(exp)
    records = [trainer.train_epoch() for _ in range(5)]
    assert records[0].val_accuracy < records[-1].val_accuracy
    assert records[-1].val_accuracy > 0.6  # chance is 0.1


def test_the_bench_row_builds_the_digits_network_and_its_idiomatic_twin():
    from tuidl import bench
    from tuidl.engine.trainer import Trainer

    hidden, activation, batch_size, dataset = bench.CONFIGS["digits 64→128→64→10 relu, batch 64"]
    exp = bench.experiment(hidden, activation, batch_size, "cpu", dataset)
    assert cfg.layer_sizes(exp) == [64, 128, 64, 10] and exp.train.batch_size == 64
    trainer = Trainer(exp)
    loop = bench.IdiomaticLoop(trainer)
    before = [p.detach().clone() for p in loop.model.parameters()]
    loop.train_epoch()
    assert loop.model[-1].out_features == 10
    assert all(not np.array_equal(a.numpy(), b.detach().numpy()) for a, b in zip(before, loop.model.parameters()))
