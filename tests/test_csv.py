"""dataset = "csv": reading, inferring, standardising, the messages for bad files, training."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tuidl import config as cfg
from tuidl.config import ConfigError
from tuidl.data import make_dataset
from tuidl.data.split import row_order

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def blobs(n: int = 60, seed: int = 0) -> list[list[object]]:
    """Three inputs on different scales; the class follows from the first two."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        a, b, c = rng.normal(100, 20), rng.normal(0, 0.01), rng.normal(5, 1)
        label = ["low", "mid", "high"][int(a > 100) + int(b > 0)]
        rows.append([round(a, 3), round(b, 6), round(c, 3), label])
    return rows


def experiment_file(tmp_path: Path, data: str, train: str = "") -> Path:
    path = tmp_path / "exp.toml"
    path.write_text(f'[data]\ndataset = "csv"\n{data}\n[train]\n{train}\n')
    return path


def test_loading_fills_in_what_the_file_says(tmp_path):
    rows = blobs()
    write_csv(tmp_path / "d.csv", ["a", "b", "c", "kind"], rows)
    exp = cfg.load(experiment_file(tmp_path, 'path = "d.csv"\ntarget = "kind"\ntrain_fraction = 0.75'))
    d = exp.data
    assert d.columns == ["a", "b", "c"] and d.task == "classification"
    assert d.class_names == sorted({r[3] for r in rows}) and d.classes == len(d.class_names)
    assert d.samples == len(rows) and exp.train.loss == "ce"
    assert cfg.layer_sizes(exp)[0] == 3 and not cfg.has_plane(d)
    # the statistics are those of the training rows
    x = np.array([r[:3] for r in rows], dtype=float)
    train, val = row_order(len(rows), d)
    assert np.allclose(d.mean, x[train].mean(axis=0)) and np.allclose(d.std, x[train].std(axis=0))
    ds = make_dataset(d)
    assert ds.x_train.shape == (len(train), 3) and ds.x_val.shape == (len(val), 3)
    assert np.allclose(ds.x_train.mean(axis=0), 0, atol=1e-9) and np.allclose(ds.x_train.std(axis=0), 1)
    assert not ds.has_plane and ds.points_train.shape == (len(train), 0)
    assert [d.class_names[k] for k in ds.y_val] == [rows[i][3] for i in val]


def test_columns_choose_the_inputs_and_numbers_order_the_classes(tmp_path):
    rows = [[i, i % 7, ("10", "2", "33")[i % 3]] for i in range(30)]
    write_csv(tmp_path / "d.csv", ["u", "v", "y"], rows)
    exp = cfg.load(experiment_file(tmp_path, 'path = "d.csv"\ntarget = "y"\ncolumns = ["v"]'))
    assert exp.data.columns == ["v"] and exp.data.class_names == ["2", "10", "33"]  # by value, not as text
    ds = make_dataset(exp.data)
    assert [exp.data.class_names[k] for k in ds.y_train] == [rows[i][2] for i in row_order(30, exp.data)[0]]


@pytest.mark.parametrize("values, task, loss", [
    ([0.5 * i for i in range(30)], "regression", "mse"),          # numbers with a point: values to fit
    ([i for i in range(30)], "regression", "mse"),                 # more whole numbers than classes allowed
    ([i % 2 for i in range(30)], "classification", "bce"),         # two whole numbers: two classes
])
def test_the_task_is_inferred_from_the_target(tmp_path, values, task, loss):
    write_csv(tmp_path / "d.csv", ["a", "b", "t"], [[i, -i, v] for i, v in enumerate(values)])
    exp = cfg.load(experiment_file(tmp_path, 'path = "d.csv"\ntarget = "t"'))
    assert (exp.data.task, exp.train.loss, cfg.is_regression(exp.data)) == (task, loss, task == "regression")
    if task == "regression":
        assert make_dataset(exp.data).y_train.shape[1] == 1


def test_the_task_can_be_overridden(tmp_path):
    write_csv(tmp_path / "d.csv", ["a", "b", "t"], [[i, -i, i % 3] for i in range(30)])
    exp = cfg.load(experiment_file(tmp_path, 'path = "d.csv"\ntarget = "t"\ntask = "regression"'))
    assert exp.data.task == "regression" and exp.train.loss == "mse"


def test_two_columns_are_a_plane_where_the_features_apply(tmp_path):
    write_csv(tmp_path / "d.csv", ["height", "width", "k"], [[i, (i * 7) % 11, i % 2] for i in range(40)])
    exp = cfg.load(experiment_file(tmp_path, 'path = "d.csv"\ntarget = "k"\nfeatures = ["x1", "x2", "x1*x2"]'))
    ds = make_dataset(exp.data)
    assert cfg.has_plane(exp.data) and ds.has_plane and ds.axis_labels == ("height", "width")
    assert cfg.layer_sizes(exp)[0] == 3 and ds.x_train.shape[1] == 3
    p = ds.points_train
    assert np.allclose(ds.x_train, np.stack([p[:, 0], p[:, 1], p[:, 0] * p[:, 1]], axis=1))


def test_saved_and_reopened_elsewhere_it_keeps_the_file_and_its_statistics(tmp_path):
    write_csv(tmp_path / "d.csv", ["a", "b", "c", "kind"], blobs())
    exp = cfg.load(experiment_file(tmp_path, 'path = "d.csv"\ntarget = "kind"'))
    (tmp_path / "sub").mkdir()
    cfg.save(exp, tmp_path / "sub" / "saved.toml")
    assert 'path = "../d.csv"' in (tmp_path / "sub" / "saved.toml").read_text()  # relative, moves with the file
    # new rows change the file's statistics, but not those the experiment was saved with
    write_csv(tmp_path / "d.csv", ["a", "b", "c", "kind"], blobs(seed=1))
    again = cfg.load(tmp_path / "sub" / "saved.toml")
    assert again.data.mean == exp.data.mean and again.data.std == exp.data.std
    assert cfg.loads(cfg.dumps(again)) == again  # a checkpoint's copy: the absolute path


@pytest.mark.parametrize("csv_text, data, expected", [
    ("a,b,y\n1,2,0\n3,x,1\n", 'target = "y"', ['data.path = "d.csv"', "line 3", 'column "b"', '"x" is not a number']),
    ("a,b,y\n1,2,0\n3,,1\n", 'target = "y"', ["line 3", 'column "b"', "is empty"]),
    ("", 'target = "y"', ['data.path = "d.csv"', "empty"]),
    ("a,b,y\n", 'target = "y"', ['data.path = "d.csv"', "no rows"]),
    ("a,b,y\n1,2,0\n3,4\n", 'target = "y"', ["line 3", "2 cells", "3 columns"]),
    ("a,b,y\n" + "1,2,same\n" * 12, 'target = "y"', ['data.target = "y"', "d.csv", "same class", "at least 2"]),
    ("a,b,y\n1,2,0\n3,4,1\n", 'target = "z"', ['data.target = "z"', "no such column in d.csv", "line 1", "a, b, y"]),
    ("a,b,y\n1,2,0\n3,4,1\n", 'target = "y"\ncolumns = ["a", "q"]', ['data.columns[1] = "q"', "no such column", "line 1"]),
    ("a,b,y\n1,2,0\n3,4,1\n", 'target = "y"\ncolumns = ["y"]', ['data.columns[0] = "y"', "is the target"]),
    ("a,b,y\n1,2,0.5\n3,abc,1\n", 'target = "y"\ntask = "regression"', ["line 3", 'column "b"', '"abc"']),
])
def test_bad_files_are_named_with_line_and_column(tmp_path, monkeypatch, csv_text, data, expected):
    monkeypatch.chdir(tmp_path)  # the file is named as from here: d.csv
    (tmp_path / "d.csv").write_text(csv_text)
    with pytest.raises(ConfigError) as err:
        cfg.load(experiment_file(tmp_path, f'path = "d.csv"\n{data}'))
    message = str(err.value)
    assert message.startswith(str(tmp_path / "exp.toml")) and "\n" not in message
    for part in expected:
        assert part in message, message


@pytest.mark.parametrize("data, key", [
    ('target = "y"', "data.path"),
    ('path = "nowhere.csv"\ntarget = "y"', "data.path"),
    ('path = "d.csv"', "data.target"),
    ('path = "d.csv"\ntarget = "y"\nsamples = 5000', "data.samples"),
    ('path = "d.csv"\ntarget = "y"\ntask = "clustering"', "data.task"),
    ('path = "d.csv"\ntarget = "y"\nmean = [0.0]', "data.mean"),
])
def test_bad_settings_are_refused(tmp_path, data, key):
    write_csv(tmp_path / "d.csv", ["a", "b", "y"], [[i, -i, i % 2] for i in range(20)])
    with pytest.raises(ConfigError) as err:
        cfg.load(experiment_file(tmp_path, data))
    assert err.value.key == key, str(err.value)


def test_a_regression_csv_needs_mse(tmp_path):
    write_csv(tmp_path / "d.csv", ["a", "b", "y"], [[i, -i, i * 0.5] for i in range(20)])
    with pytest.raises(ConfigError, match='train.loss = "bce".*regression'):
        cfg.load(experiment_file(tmp_path, 'path = "d.csv"\ntarget = "y"', 'loss = "bce"'))


def test_a_network_with_three_inputs_learns_the_rule(tmp_path):
    from tuidl.engine.trainer import Trainer

    write_csv(tmp_path / "d.csv", ["a", "b", "c", "kind"], blobs(n=200))
    exp = cfg.load(experiment_file(tmp_path, 'path = "d.csv"\ntarget = "kind"',
                                   'optimizer = "adam"\nlr = 0.03\nepochs = 30'))
    trainer = Trainer(exp)
    assert trainer.network.layers[0].W.shape[1] == 3
    first = trainer.train_epoch()
    for _ in range(29):
        last = trainer.train_epoch()
    # b alone is ±0.01 wide: standardised, it is as learnable as a
    assert last.val_loss < first.val_loss and last.val_accuracy > 0.9


def test_the_cli_trains_the_example_and_names_a_bad_cell(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(EXAMPLES.parent)}
    ok = subprocess.run([sys.executable, "-m", "tuidl", "train", str(EXAMPLES / "fruit.toml"), "--epochs", "3",
                         "--json"], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert ok.returncode == 0, ok.stderr
    (tmp_path / "d.csv").write_text("a,b,y\n1,2,0\n3,oops,1\n")
    bad = subprocess.run([sys.executable, "-m", "tuidl", "train", str(experiment_file(tmp_path, 'path = "d.csv"\ntarget = "y"'))],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert 'line 3, column "b": "oops" is not a number' in bad.stderr
