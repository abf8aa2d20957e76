"""The `tuidl` command run as a user runs it: a subprocess."""
import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

EXAMPLE = "examples/playground.toml"


def tuidl(*args: str, check: bool = True, cwd=None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "tuidl", *args], capture_output=True, text=True, timeout=300,
                            cwd=cwd)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_train_json_reaches_95_percent_on_the_example():
    out = tuidl("train", EXAMPLE, "--json").stdout.splitlines()
    lines = [json.loads(line) for line in out]
    assert len(lines) == 201
    epochs, final = lines[:-1], lines[-1]
    assert [e["epoch"] for e in epochs] == list(range(1, 201))
    assert set(epochs[0]) == {"epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy", "seconds",
                              "grad_norms", "update_ratios", "train_r2", "val_r2"}
    assert epochs[0]["train_r2"] is None  # classification: no R²
    assert all(e["seconds"] > 0 for e in epochs)
    assert final["final"] is True
    assert final["val_accuracy"] >= 0.95


def test_train_shows_progress_and_summary_and_saves(tmp_path):
    result = tuidl("train", EXAMPLE, "--epochs", "5", "--save", str(tmp_path / "run.pt"))
    assert "epoch" in result.stdout and "val accuracy" in result.stdout
    from tuidl.engine.checkpoint import load_checkpoint

    trainer = load_checkpoint(tmp_path / "run.pt")
    assert trainer.epoch == 5 and len(trainer.history) == 5


def json_lines(result: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_saved_run_goes_on_with_the_losses_of_an_unbroken_run(tmp_path, dtype):
    path = str(tmp_path / "run.pt")
    unbroken = json_lines(tuidl("train", EXAMPLE, "--epochs", "60", "--dtype", dtype, "--json"))
    first = json_lines(tuidl("train", EXAMPLE, "--epochs", "30", "--dtype", dtype, "--json", "--save", path))
    assert first[-1]["saved"] == path and first[-1]["epochs"] == 30
    resumed = json_lines(tuidl("train", path, "--epochs", "60", "--json", "--save", path))
    added, summary = resumed[:-1], resumed[-1]
    assert [e["epoch"] for e in added] == list(range(31, 61))
    keys = ("epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy")
    assert [[e[k] for k in keys] for e in added] == [[e[k] for k in keys] for e in unbroken[30:60]]
    assert (summary["epochs"], summary["resumed_from"], summary["status"]) == (60, 30, "finished 60 epochs")
    again = tuidl("train", path, "--epochs", "60", check=False)  # the saved file is at epoch 60 now
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert again.stderr.strip() == f"tuidl: error: {path}: already trained 60 epochs: pass --epochs with a larger total to go on"


def test_a_checkpoint_is_traced_from_where_it_stopped_and_keeps_its_seed(tmp_path):
    path = str(tmp_path / "run.pt")
    tuidl("train", EXAMPLE, "--epochs", "2", "--dtype", "float64", "--save", path)
    from tuidl.engine.checkpoint import load_checkpoint

    saved = load_checkpoint(path)
    doc = json.loads(tuidl("trace", path, "--steps", "2", "--json").stdout)
    assert [s["step"] for s in doc["steps"]] == [saved.step_count + 1, saved.step_count + 2]
    assert doc["steps"][0]["epoch"] == 3
    for layer, (W, b) in zip(doc["steps"][0]["layers"], saved.weights()):
        assert layer["W"] == W.tolist() and layer["b"] == b.tolist()
    for command in ("train", "trace"):
        result = tuidl(command, path, "--seed", "1", check=False)
        assert result.returncode == 2 and "--seed" in result.stderr and "Traceback" not in result.stderr


def _junk(tmp_path, kind: str) -> str:
    path = tmp_path / {"png": "picture.png", "zip": "other.zip", "torch": "model.pt", "bytes": "junk.bin"}[kind]
    if kind == "png":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    elif kind == "zip":
        import zipfile

        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("notes.txt", "not an experiment")
    elif kind == "torch":
        torch.save({"weight": torch.ones(2)}, path)
    else:
        path.write_bytes(bytes(range(256)) * 8)
    return str(path)


@pytest.mark.parametrize("command, kind", [(["train"], "png"), (["trace"], "zip"), (["app"], "torch"), ([], "bytes")])
def test_a_file_that_is_neither_experiment_nor_checkpoint_gets_one_clear_line(tmp_path, command, kind):
    path = _junk(tmp_path, kind)
    result = tuidl(*command, path, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"tuidl: error: {path}: neither an experiment file (TOML text) nor a tuidl checkpoint"
        + (" (a PyTorch file; tuidl checkpoints are written by `tuidl train --save`)" if kind == "torch" else "")]


def test_the_app_opens_a_checkpoint_on_its_experiment(tmp_path, monkeypatch):
    """`tuidl CHECKPOINT` hands the app the checkpoint's experiment and path; a .toml, none."""
    import types

    from click.testing import CliRunner

    from tuidl.cli import main

    path = str(tmp_path / "run.pt")
    tuidl("train", EXAMPLE, "--epochs", "1", "--seed", "7", "--save", path)
    opened = []

    class FakeApp:
        return_code = 0

        def __init__(self, exp, path=None, checkpoint=None):
            opened.append((exp, path, checkpoint))

        def run(self):
            pass

    monkeypatch.setitem(sys.modules, "tuidl.ui.app", types.SimpleNamespace(TuidlApp=FakeApp))
    for args in ([path], ["app", path], [EXAMPLE]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    from tuidl import config as cfg

    expected = cfg.load(EXAMPLE)
    expected.train.epochs, expected.train.seed = 1, 7
    assert opened == [(expected, path, path), (expected, path, path), (cfg.load(EXAMPLE), EXAMPLE, None)]


def test_a_crashed_app_ends_the_command_with_status_1(monkeypatch):
    import types

    from click.testing import CliRunner

    from tuidl.cli import main

    class CrashedApp:
        return_code = 1  # what Textual sets when an exception ended the app

        def __init__(self, *args, **kwargs):
            pass

        def run(self):
            pass

    monkeypatch.setitem(sys.modules, "tuidl.ui.app", types.SimpleNamespace(TuidlApp=CrashedApp))
    assert CliRunner().invoke(main, []).exit_code == 1
    assert CliRunner().invoke(main, ["lesson", "perceptron"]).exit_code == 1


def test_regression_json_has_null_accuracy(tmp_path):
    path = tmp_path / "plane.toml"
    path.write_text('[data]\ndataset = "plane"\n[train]\nloss = "mse"\nepochs = 2\n')
    lines = [json.loads(line) for line in tuidl("train", str(path), "--json").stdout.splitlines()]
    assert lines[0]["val_accuracy"] is None and lines[-1]["final"]


@pytest.mark.parametrize(
    "text, words",
    [
        ("[data]\nnosie = 0.1\n", ["data.nosie", "noise"]),
        ("[train]\nlr = \"fast\"\n", ["train.lr", "fast"]),
        ("[train]\nlr = -1.0\n", ["train.lr", "-1"]),
        ("[train]\noptimizer = \"adamw\"\n", ["train.optimizer", "adamw", "adam"]),
        ("[data]\ndataset = \"plane\"\n", ["plane", "mse"]),
        ("[model]\nhidden = [{ units = 0 }]\n", ["units", "0"]),
        ("[train\n", ["line"]),
    ],
)
def test_bad_input_is_a_clear_error_with_status_2(tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = tuidl("train", str(path), check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "bad.toml" in result.stderr
    for word in words:
        assert word in result.stderr


def test_missing_file_is_a_clear_error():
    result = tuidl("train", "no/such/file.toml", check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no/such/file.toml" in result.stderr


def test_unavailable_device_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = tuidl("train", EXAMPLE, "--device", "cuda", check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cuda" in result.stderr


def _replay(doc: dict, make_optimizer) -> None:
    """Re-run the traced steps with torch.autograd and torch.optim; compare every number."""
    layers = doc["steps"][0]["layers"]
    params = []
    for layer in layers:
        params += [torch.tensor(layer["W"], dtype=torch.float64, requires_grad=True),
                   torch.tensor(layer["b"], dtype=torch.float64, requires_grad=True)]
    optimizer = make_optimizer(params)
    acts = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "linear": lambda z: z}

    def close(ours, theirs):
        ours = torch.tensor(ours, dtype=torch.float64)
        scale = max(theirs.abs().max().item(), 1e-300)
        assert (ours - theirs.detach()).abs().max().item() / scale <= 1e-10

    for step in doc["steps"]:
        x, y = torch.tensor(step["x"], dtype=torch.float64), torch.tensor(step["y"], dtype=torch.float64)
        h = x
        for i, layer in enumerate(step["layers"]):
            close(layer["W"], params[2 * i])
            close(layer["input"], h)
            z = F.linear(h, params[2 * i], params[2 * i + 1])
            if i < len(step["layers"]) - 1:
                h = acts[layer["activation"]](z)
                if layer["dropout_mask"] is not None:
                    h = h * torch.tensor(layer["dropout_mask"], dtype=torch.float64)
        loss = F.binary_cross_entropy_with_logits(z, y)
        optimizer.zero_grad()
        loss.backward()
        assert step["loss"] == pytest.approx(loss.item(), rel=1e-10)
        for i, layer in enumerate(step["layers"]):
            close(layer["grad_W"], params[2 * i].grad)
            close(layer["grad_b"], params[2 * i + 1].grad)
        optimizer.step()
        for i, layer in enumerate(step["layers"]):
            close(layer["W_after"], params[2 * i])
            close(layer["b_after"], params[2 * i + 1])


@pytest.mark.parametrize(
    "options, make_optimizer",
    [
        ('optimizer = "sgd"\nlr = 0.1\n[train.options]\nmomentum = 0.9\nnesterov = true\n',
         lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
        ('optimizer = "adam"\nlr = 0.01\n[train.options]\nweight_decay = 0.01\n',
         lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.01)),
    ],
)
def test_trace_replays_exactly_in_torch(tmp_path, options, make_optimizer):
    path = tmp_path / "trace.toml"
    path.write_text('[model]\nhidden = [{ units = 4, activation = "tanh", dropout = 0.25 }, { units = 2, activation = "relu" }]\n'
                    "[train]\n" + options)
    doc = json.loads(tuidl("trace", str(path), "--steps", "5", "--dtype", "float64", "--json").stdout)
    assert doc["dtype"] == "float64" and len(doc["steps"]) == 5
    first = doc["steps"][0]["layers"][0]
    assert set(first) >= {"index", "activation", "W", "b", "input", "z", "a", "dropout_mask", "grad_a", "grad_z",
                          "grad_W", "grad_b", "W_after", "b_after", "optimizer_state"}
    _replay(doc, make_optimizer)


def test_trace_text_is_readable():
    out = tuidl("trace", EXAMPLE).stdout
    assert "Forward" in out and "Backward" in out and "Update" in out


def test_bench_json_runs_both_loops():
    doc = json.loads(tuidl("bench", "--epochs", "1", "--repeats", "1", "--json").stdout)
    assert len(doc["results"]) == 4  # the three 2-D networks and the digits
    for row in doc["results"]:
        assert row["tuidl_epochs_per_s"] > 0 and row["pytorch_epochs_per_s"] > 0
        assert row["ratio"] == pytest.approx(row["tuidl_epochs_per_s"] / row["pytorch_epochs_per_s"])
        assert row["ceiling"] == pytest.approx(row["products_epochs_per_s"] / row["pytorch_epochs_per_s"])


def test_help_lists_the_commands():
    out = tuidl("--help").stdout
    for word in ("train", "trace", "bench"):
        assert word in out


@pytest.mark.parametrize("command", [["train"], ["trace"], []])
def test_arrays_nested_thousands_deep_get_one_line_not_a_traceback(tmp_path, command):
    path = tmp_path / "deep.toml"
    path.write_text('[data]\ndataset = "points"\nx = ' + "[" * 5000 + "]" * 5000 + "\n")
    result = subprocess.run([sys.executable, "-m", "tuidl", *command, str(path)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "nested too deeply" in result.stderr and "Traceback" not in result.stderr


def test_ctrl_c_stops_and_saves_what_was_trained(tmp_path):  # after the batch: tests/test_signals.py
    import signal

    save = tmp_path / "run.ckpt"
    process = subprocess.Popen([sys.executable, "-m", "tuidl", "train", EXAMPLE, "--epochs", "100000", "--json",
                                "--save", str(save)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = process.stdout.readline()  # an epoch is done
    assert json.loads(first)["epoch"] == 1
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err
    summary = json.loads(out.splitlines()[-1])
    assert summary["interrupted"] and summary["status"].startswith("interrupted ")
    assert summary["saved"] == str(save)
    resumed = tuidl("train", str(save), "--epochs", str(summary["epochs"] + 2), "--json").stdout.splitlines()
    assert json.loads(resumed[-1])["epochs"] == summary["epochs"] + 2


def _products(run) -> list[tuple[int, int, int]]:
    """(rows, inner, columns) of every matrix product `run` makes, sorted."""
    from torch.overrides import TorchFunctionMode

    seen = []

    class Products(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "")
            if name in ("mm", "addmm"):
                a, b = args[-2:] if name == "addmm" else args[:2]
                seen.append((a.shape[0], a.shape[1], b.shape[1]))
            return func(*args, **(kwargs or {}))

    with Products():
        run()
    return sorted(seen)


def test_bench_ceiling_times_the_engines_own_matrix_products():
    from tuidl.bench import CONFIGS, MatrixProducts, experiment
    from tuidl.engine.trainer import Trainer

    hidden, activation, batch_size = CONFIGS["2→128×3→1 relu, batch 32"]
    trainer = Trainer(experiment(hidden, activation, batch_size, "cpu"))
    assert trainer.x_train.shape[0] % batch_size  # a smaller last batch is covered
    assert _products(MatrixProducts(trainer).train_epoch) == _products(trainer.train_epoch)


def test_a_csv_given_as_file_trains_the_default_network_on_its_last_column(tmp_path):
    """`tuidl train fruit.csv` read the CSV as TOML ("invalid TOML: Expected '=' …")."""
    import shutil

    shutil.copy("examples/fruit.csv", tmp_path / "fruit.csv")
    by_csv = json_lines(tuidl("train", str(tmp_path / "fruit.csv"), "--epochs", "3", "--json"))
    (tmp_path / "exp.toml").write_text('[data]\ndataset = "csv"\npath = "fruit.csv"\ntarget = "fruit"\n')
    by_file = json_lines(tuidl("train", str(tmp_path / "exp.toml"), "--epochs", "3", "--json"))
    assert by_csv[-1]["final"] and len(by_csv) == len(by_file) == 4
    assert [e["train_loss"] for e in by_csv[:-1]] == [e["train_loss"] for e in by_file[:-1]]  # the same run
    assert by_csv[-1]["val_accuracy"] is not None  # text classes: classification, ce


@pytest.mark.parametrize("text", ["", "weight\n1\n2\n", "a,,c\n1,2,3\n"])
def test_a_csv_without_two_named_columns_is_one_line_and_status_2(tmp_path, text):
    (tmp_path / "d.csv").write_text(text)
    result = tuidl("train", str(tmp_path / "d.csv"), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (f"tuidl: error: {tmp_path / 'd.csv'}: line 1: a CSV needs a header line of "
                                     "column names, two at least (the inputs, then the target)")


def test_export_without_paths_writes_the_script_and_the_weights_where_the_app_does(tmp_path):
    """`tuidl export FILE` stopped at "Missing option '--code'"."""
    import shutil

    exp = tmp_path / "spiral.toml"
    shutil.copy("examples/spiral_adam.toml", exp)
    out = tuidl("export", str(exp)).stdout
    assert (tmp_path / "spiral.py").is_file() and (tmp_path / "spiral.pt").is_file()
    assert f"wrote {tmp_path / 'spiral.py'}" in out and f"wrote {tmp_path / 'spiral.pt'}" in out
    tuidl("train", str(exp), "--epochs", "1", "--save", str(tmp_path / "run.pt"))
    tuidl("export", str(tmp_path / "run.pt"))  # never over the checkpoint itself
    assert (tmp_path / "run-pytorch.py").is_file() and (tmp_path / "run-pytorch.pt").is_file()
    tuidl("export", "perceptron", cwd=tmp_path)  # a lesson: in the current folder
    assert (tmp_path / "perceptron.py").is_file() and (tmp_path / "perceptron.pt").is_file()
