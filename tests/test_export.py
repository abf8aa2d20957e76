"""Export to PyTorch: the script, run with plain python and without tuidl, reproduces the
engine's runs; the data it makes is tuidl's, array for array; the weights load into its
nn.Sequential and predict what the trainer predicts; the CLI and the app's action."""
from __future__ import annotations

import copy
import importlib.util
import inspect
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import async_test, settle, small_exp, start, train_epochs

from tuidl import config as cfg
from tuidl import lessons
from tuidl.config import Layer
from tuidl.data import make_dataset
from tuidl.engine.checkpoint import save_checkpoint
from tuidl.engine.trainer import Trainer
from tuidl.export import data_code as data_code_module
from tuidl.export import export, script_text, sequential_state_dict

# float32: the script's autograd and torch.optim against the engine's explicit ops, a few
# epochs on: the same numbers up to float32 rounding. float64: the same up to float64's.
RTOL = {"float32": 1e-5, "float64": 1e-12}

# Runs each exported script in turn in one interpreter (torch is imported once), with tuidl
# made unimportable, as `python SCRIPT --save SCRIPT.trained.pt`.
RUNNER = """
import runpy, sys, traceback
sys.modules["tuidl"] = None  # any `import tuidl` in a script fails
for script in sys.argv[1:]:
    print("=== " + script, flush=True)
    sys.argv = [script, "--save", script[:-3] + ".trained.pt"]
    try:
        runpy.run_path(script, run_name="__main__")
    except BaseException:
        traceback.print_exc(file=sys.stdout)
"""

EPOCH_LINE = re.compile(r"^epoch (\d+): train loss ([^,\s]+)(?:, val loss ([^,\s]+))?"
                        r"(?:, train accuracy ([^,\s]+))?(?:, val accuracy ([^,\s]+))?$", re.M)


def experiment(dataset="circle", loss="bce", optimizer="sgd", lr=0.03, options=None, hidden=None, init="torch",
               features=None, l1=0.0, early_stopping=0, min_delta=0.0, dtype="float32", classes=2, noise=0.0,
               epochs=4) -> cfg.Experiment:
    exp = small_exp(dataset)
    exp.data.classes, exp.data.noise = classes, noise
    if features:
        exp.data.features = features
    if hidden is not None:
        exp.model.hidden = hidden
    exp.model.init = init
    t = exp.train
    t.loss, t.optimizer, t.lr, t.options = loss, optimizer, lr, dict(options or {})
    t.l1, t.early_stopping, t.min_delta, t.dtype, t.epochs = l1, early_stopping, min_delta, dtype, epochs
    t.device = "cpu"
    cfg.validate(exp)
    return exp


def lesson(name: str, epochs: int = 4) -> cfg.Experiment:
    exp, _ = lessons.load(name)
    exp.train.epochs, exp.train.device = epochs, "cpu"
    return exp


def regression_points() -> cfg.Experiment:
    exp = experiment(loss="mse", hidden=[Layer(4, "tanh")], lr=0.05)
    d = exp.data
    d.dataset, d.features = "points", ["x1", "x2", "x1^2"]
    d.x = [[-1.0, 2.0], [2.0, 1.0], [1.0, -1.0], [-2.0, -1.0], [0.5, 2.0], [3.0, 3.0]]
    d.y = [0.5, 1.5, -0.25, -1.0, 1.0, 2.5]
    d.x_val, d.y_val = [[0.0, 1.0], [1.0, 1.0]], [0.25, 1.0]
    exp.train.batch_size = 2
    cfg.validate(exp)
    return exp


def example(name: str, epochs: int = 3) -> cfg.Experiment:
    exp = cfg.load(Path(__file__).parent.parent / "examples" / name)
    exp.train.epochs, exp.train.device = epochs, "cpu"
    return exp


CASES = {
    "sgd": experiment(),
    "sgd-momentum-dampening-decay": experiment(options={"momentum": 0.9, "dampening": 0.1, "weight_decay": 1e-3}),
    "sgd-nesterov": experiment(lr=0.01, options={"momentum": 0.9, "nesterov": True}),
    "adam-amsgrad": experiment(optimizer="adam", lr=0.01,
                               options={"betas": (0.8, 0.99), "amsgrad": True, "weight_decay": 1e-3}),
    "rmsprop-centered-momentum": experiment(optimizer="rmsprop", lr=0.003,
                                            options={"centered": True, "momentum": 0.5, "alpha": 0.9}),
    "adagrad-zeros": experiment(optimizer="adagrad", lr=0.05, init="zeros",
                                options={"lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    "adadelta-xavier": experiment(optimizer="adadelta", lr=1.0, init="xavier", options={"rho": 0.8}),
    "dropout-l1-he": experiment(dataset="xor", noise=0.2, optimizer="adam", lr=0.01, init="he", l1=1e-3,
                                hidden=[Layer(8, "relu", 0.3), Layer(8, "leaky_relu", 0.2)],
                                features=["x1", "x2", "x1*x2", "sin(x1)"]),
    "ce-spiral": experiment(dataset="spiral", classes=3, loss="ce", optimizer="adam", lr=0.01,
                            hidden=[Layer(8, "tanh"), Layer(8, "sigmoid")]),
    "mse-plane": experiment(dataset="plane", loss="mse", noise=0.1, init="xavier",
                            hidden=[Layer(6, "linear"), Layer(4, "sigmoid")]),
    "early-stopping": experiment(dataset="moons", early_stopping=1, min_delta=10.0, epochs=6),  # stops at 2
    "float64-dropout-ce": experiment(dataset="gauss", classes=4, loss="ce", optimizer="adam", lr=0.01,
                                     dtype="float64", hidden=[Layer(8, "tanh", 0.5)]),
    "lesson-perceptron": lesson("perceptron"),  # points, its own initial weights, no validation set
    "lesson-will-i-pass": lesson("will-i-pass"),
    "points-regression": regression_points(),
    "csv-fruit": example("fruit.toml"),  # a dataset read from a file: written as its arrays
}


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location(f"exported_{path.stem.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def trained(exp: cfg.Experiment) -> Trainer:
    trainer = Trainer(copy.deepcopy(exp))
    while trainer.status is None:
        trainer.train_epoch()
    return trainer


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each case exported, then every script run in one plain interpreter: case -> (trainer, output)."""
    folder = tmp_path_factory.mktemp("export")
    scripts = []
    for name, exp in CASES.items():
        export(Trainer(copy.deepcopy(exp)), folder / f"{name}.py", folder / f"{name}.pt", title=name)
        scripts.append(str(folder / f"{name}.py"))
    done = subprocess.run([sys.executable, "-c", RUNNER, *scripts], capture_output=True, text=True, timeout=300,
                          cwd=folder)
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = dict(zip(CASES, done.stdout.split("=== ")[1:]))
    return folder, {name: (trained(exp), outputs[name]) for name, exp in CASES.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_the_script_reproduces_the_engines_run(runs, name):
    folder, results = runs
    trainer, output = results[name]
    assert "Traceback" not in output, output
    lines = EPOCH_LINE.findall(output)
    assert [int(line[0]) for line in lines] == [r.epoch for r in trainer.history]
    rtol = RTOL[trainer.exp.train.dtype]
    for line, record in zip(lines, trainer.history):
        assert float(line[1]) == pytest.approx(record.train_loss, rel=rtol, abs=1e-12)
        if record.val_loss is None:
            assert line[2] == ""
        else:
            assert float(line[2]) == pytest.approx(record.val_loss, rel=rtol, abs=1e-12)
        for text, value, n in ((line[3], record.train_accuracy, trainer.dataset.n_train),
                               (line[4], record.val_accuracy, trainer.dataset.n_val)):
            assert (text == "") == (value is None)
            if value is not None:  # an output at 0.5 may round the other way: one point at most
                assert abs(float(text) - value) <= 1 / n + 1e-4
    if trainer.exp.train.early_stopping:
        assert len(trainer.history) < trainer.exp.train.epochs  # it did stop early, here and there
        assert f"early stopping at epoch {trainer.epoch}: restored the weights of epoch {trainer.best_epoch}" in output
    # the weights the script ends with (restored by early stopping too) are the engine's
    theirs = torch.load(folder / f"{name}.trained.pt", weights_only=True)
    ours = sequential_state_dict(trainer.exp, trainer.network.state_dict())
    assert theirs.keys() == ours.keys()
    for key in ours:
        torch.testing.assert_close(theirs[key], ours[key], rtol=rtol * 10, atol=rtol)


def test_the_script_needs_no_tuidl(runs):
    folder, _ = runs
    for path in folder.glob("*.py"):
        text = path.read_text()
        assert "tuidl" in text  # it says where it came from
        assert not re.search(r"^\s*(import\s+tuidl|from\s+tuidl(\.\w+)*\s+import)\b", text, re.M)
        assert str(Path.cwd()) not in text and str(folder) not in text  # no paths of this machine


GENERATED = [d for d in cfg.DATASETS if d in data_code_module.GENERATORS]


@pytest.mark.parametrize("dataset", GENERATED)
def test_the_scripts_data_are_tuidls_array_for_array(tmp_path, dataset):
    assert set(GENERATED) == set(cfg.GENERATED_DATASETS)  # every generated dataset is written as its generator
    exp = small_exp(dataset)
    exp.data.noise, exp.data.seed, exp.data.samples, exp.data.train_fraction = 0.3, 7, 301, 0.6
    exp.data.features = list(cfg.FEATURES)
    exp.data.classes = 3 if dataset in cfg.MULTICLASS_DATASETS else 2
    if dataset == "plane":
        exp.train.loss = "mse"
    if exp.data.classes > 2:
        exp.train.loss = "ce"
    assert_same_data(tmp_path, exp, make_dataset(exp.data))


def test_datasets_without_a_generator_are_written_as_their_arrays(tmp_path, monkeypatch):
    for dataset, loss in (("spiral", "ce"), ("plane", "mse")):
        exp = small_exp(dataset)
        exp.data.noise, exp.data.features, exp.train.loss = 0.2, ["x1", "sin(x2)", "x1*x2"], loss
        monkeypatch.delitem(data_code_module.GENERATORS, dataset)
        text = assert_same_data(tmp_path, exp, make_dataset(exp.data))
        assert "X_TRAIN = np.array(" in text and "def generate" not in text


@pytest.mark.parametrize("dataset", GENERATED)
def test_the_script_carries_the_generators_own_source(dataset):
    generator = data_code_module.GENERATORS[dataset]
    text = script_text(small_exp(dataset), title="test")
    assert inspect.getsource(generator) in text  # datasets.py is the one home of the formula
    assert f"points, labels = {generator.__name__}(rng, SAMPLES, NOISE, " in text


def test_a_generator_using_what_the_script_lacks_is_refused(monkeypatch):
    def _imported(rng, n, noise, k):
        return make_dataset(n)

    source = "def _imported(rng, n, noise, k):\n    return make_dataset(n)"
    monkeypatch.setattr(data_code_module, "_definitions", lambda: {"_imported": (0, source, True)})
    with pytest.raises(ValueError, match="_imported uses make_dataset, which tuidl/data/datasets.py does not define"):
        data_code_module.generator_code(_imported)


def assert_same_data(folder: Path, exp: cfg.Experiment, dataset) -> str:
    path = folder / f"data_{exp.data.dataset}.py"
    path.write_text(script_text(exp, dataset, title="test"))
    x_train, y_train, x_val, y_val = load_module(path).make_data()
    assert np.array_equal(x_train, dataset.x_train) and np.array_equal(x_val, dataset.x_val)
    assert np.array_equal(y_train, dataset.y_train.reshape(-1)) and np.array_equal(y_val, dataset.y_val.reshape(-1))
    assert x_train.dtype == dataset.x_train.dtype and y_train.dtype == dataset.y_train.dtype
    return path.read_text()


@pytest.mark.parametrize("init", ["torch", "xavier", "he", "zeros", "weights"])
def test_the_scripts_initial_weights_are_the_engines(tmp_path, init):
    exp = experiment(init=init if init != "weights" else "torch", hidden=[Layer(3, "relu", 0.1), Layer(2, "tanh")])
    if init == "weights":
        exp.model.weights = [cfg.LayerWeights(W=[[0.5, -1.0]] * 3, b=[0.1, 0.2, 0.3]),
                             cfg.LayerWeights(W=[[1.0, 2.0, 3.0]] * 2, b=[0.0, -0.5]),
                             cfg.LayerWeights(W=[[-1.5, 0.25]], b=[2.0])]
    path = tmp_path / "init.py"
    trainer = Trainer(exp)
    path.write_text(script_text(exp, trainer.dataset, title="test"))
    module = load_module(path)
    model = module.make_model()
    module.init_weights(model)
    ours = sequential_state_dict(exp, trainer.network.state_dict())
    assert list(model.state_dict()) == list(ours)  # Linear, ReLU, Dropout, Linear, Tanh, Linear: keys 0, 3, 5
    for key, value in model.state_dict().items():
        assert torch.equal(value, ours[key]), key


def test_cli_exports_a_checkpoints_weights_which_predict_as_the_trainer(tmp_path):
    exp = CASES["ce-spiral"]
    trainer = Trainer(copy.deepcopy(exp))
    for _ in range(3):
        trainer.train_epoch()
    save_checkpoint(trainer, tmp_path / "run.ckpt")
    done = subprocess.run([sys.executable, "-m", "tuidl", "export", str(tmp_path / "run.ckpt"),
                           "--code", str(tmp_path / "model.py"), "--weights", str(tmp_path / "model.pt")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "model.py" in done.stdout and "after 3 epochs" in done.stdout
    module = load_module(tmp_path / "model.py")
    model = module.make_model()
    model.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))
    x_val = torch.as_tensor(trainer.dataset.x_val, dtype=module.DTYPE)
    predicted = module.predict(model, x_val).numpy()
    expected = trainer.predict(trainer.dataset.points_val)
    np.testing.assert_allclose(predicted, expected, rtol=1e-6, atol=1e-7)
    assert predicted.argmax(axis=1).tolist() == expected.argmax(axis=1).tolist()
    assert not np.allclose(expected, Trainer(copy.deepcopy(exp)).predict(trainer.dataset.points_val))  # trained


def test_cli_refuses_what_it_cannot_write_in_one_line(tmp_path):
    toml = tmp_path / "exp.toml"
    cfg.save(small_exp(), toml)
    before = toml.read_text()
    for args, said in (([str(toml), "--code", str(toml)], "is FILE itself"),
                       ([str(toml), "--code", str(tmp_path / "no-such-folder" / "m.py")], "cannot write the export")):
        done = subprocess.run([sys.executable, "-m", "tuidl", "export", *args], capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and said in done.stderr
    assert toml.read_text() == before  # the experiment was not written over
    assert list(tmp_path.iterdir()) == [toml]  # nor a temporary file left


@async_test
async def test_the_apps_export_writes_a_script_that_trains_to_the_apps_losses(tmp_path):
    from tuidl.ui.app import TuidlApp

    exp = small_exp("moons")
    exp.model.hidden[0].dropout = 0.2
    toml = tmp_path / "moons.toml"
    cfg.save(exp, toml)
    app = TuidlApp(cfg.load(toml), path=str(toml), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await train_epochs(app, 3)
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Export to PyTorch")
        command.callback()
        await settle(app)
        history = app.snap.history
        message = app.last_message
    code, weights = tmp_path / "moons.py", tmp_path / "moons.pt"
    assert code.is_file() and weights.is_file()
    assert f"{code}" in message and f"{weights}" in message and "after 3 epochs" in message
    done = subprocess.run([sys.executable, str(code), "--epochs", "3"], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = EPOCH_LINE.findall(done.stdout)
    assert len(lines) == 3
    for line, record in zip(lines, history):
        assert float(line[1]) == pytest.approx(record.train_loss, rel=RTOL["float32"])
        assert float(line[2]) == pytest.approx(record.val_loss, rel=RTOL["float32"])
    loaded = subprocess.run([sys.executable, str(code), "--load", str(weights)], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    train_loss = float(re.search(r"train loss ([^,\s]+)", loaded.stdout).group(1))
    assert math.isclose(train_loss, history[-1].train_loss, rel_tol=1e-5)  # the weights the app trained


def test_writing_the_script_needs_neither_torch_nor_textual():
    code = ("import sys\nfrom tuidl.export import script_text\nfrom tuidl.config import default_experiment\n"
            "script_text(default_experiment(), title='t')\n"
            "print([m for m in ('torch', 'textual') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
