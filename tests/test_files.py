"""Files that are not what a command wants: one clear line each, exit status 2, in `tuidl train`,
`tuidl trace` and the app's command (`tuidl FILE`), never a traceback, a hang or a usage text.

(Deeply nested arrays and junk of other kinds: tests/test_cli.py.)
"""
from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest

from tuidl import config as cfg

COMMANDS = {"train": ["train"], "trace": ["trace"], "app": []}


def tuidl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tuidl", *args], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def one_line(result: subprocess.CompletedProcess, path, *words: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith(f"tuidl: error: {path}: "), lines[0][:300]
    for word in words:
        assert word in lines[0], lines[0][:300]
    assert len(lines[0]) < 400
    return lines[0]


def _folder(tmp_path):
    path = tmp_path / "runs"
    path.mkdir()
    return path, ["is a folder"]


def _binary(tmp_path):
    path = tmp_path / "noise.toml"  # the name says TOML; the bytes do not
    path.write_bytes(random.Random(3).randbytes(4096))
    return path, ["neither an experiment file"]


def _big_text(tmp_path):
    path = tmp_path / "server.log"
    line = "2024-05-01 12:00:00 INFO request served in 12 ms\n"
    path.write_text(line * (10 * 2**20 // len(line) + 1))  # 10 MB of a log
    return path, ["line 1", "invalid TOML"]


def _big_binary(tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(random.Random(4).randbytes(10 * 2**20))
    return path, ["neither an experiment file"]


def _big_points(tmp_path):
    path = tmp_path / "many.toml"
    point = "[0.25, -1.5], "
    n = 10 * 2**20 // len(point)  # 10 MB of points: far more than an experiment takes
    path.write_text('[data]\ndataset = "points"\nx = [' + point * n + "]\ny = [" + "0, " * n + "]\n")
    return path, ["data.x", "at most"]


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("make", [_folder, _binary, _big_text, _big_binary], ids=lambda f: f.__name__.strip("_"))
def test_a_file_that_is_not_an_experiment_gets_one_line(tmp_path, command, make):
    path, words = make(tmp_path)
    one_line(tuidl(*COMMANDS[command], str(path)), path, *words)


@pytest.mark.skipif(not os.environ.get("TUIDL_LONG_TESTS"), reason="10 s each (TOML parsing): TUIDL_LONG_TESTS=1")
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_10_mb_experiment_gets_one_line(tmp_path, command):
    path, words = _big_points(tmp_path)
    one_line(tuidl(*COMMANDS[command], str(path)), path, *words)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file of mode 000")
@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_unreadable_file_gets_one_line(tmp_path, command):
    path = tmp_path / "secret.toml"
    path.write_text("[train]\nlr = 0.1\n")
    path.chmod(0)
    try:
        one_line(tuidl(*COMMANDS[command], str(path)), path, "cannot read it", "ermission denied")
    finally:
        path.chmod(0o600)


def test_an_unreadable_file_is_named_as_such_not_as_junk(tmp_path, monkeypatch):
    """The same line where the test runs as root (which reads a file of mode 000): the read fails by hand."""
    import pathlib

    from click.testing import CliRunner

    from tuidl.cli import main

    path = tmp_path / "secret.toml"
    path.write_text("[train]\nlr = 0.1\n")
    real_open = pathlib.Path.open

    def refuse(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", refuse)
    monkeypatch.setattr("builtins.open", lambda file, *a, **k: refuse(pathlib.Path(file), *a, **k))
    for command in COMMANDS.values():
        result = CliRunner().invoke(main, [*command, str(path)])
        assert result.exit_code == 2, result.output
        assert result.output.splitlines() == [f"tuidl: error: {path}: cannot read it (Permission denied)"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from tuidl.engine.checkpoint import save_checkpoint
    from tuidl.engine.trainer import Trainer

    exp = cfg.default_experiment()
    exp.data.samples, exp.train.epochs = 100, 3
    trainer = Trainer(exp)
    trainer.train_epoch()
    path = tmp_path_factory.mktemp("ckpt") / "run.ckpt"
    save_checkpoint(trainer, path)
    return path


def test_a_checkpoint_where_an_experiment_is_wanted(checkpoint):
    one_line(tuidl("race", str(checkpoint), "--vary", "lr=0.1,0.3"), checkpoint, "not a checkpoint")


@pytest.mark.parametrize("kind", ["experiment", "other", "folder"])
def test_save_replaces_only_a_checkpoint(tmp_path, kind):
    """--save names an experiment file (the one trained, say), another file or a folder: refused
    before training, and the file is left as it was."""
    path = {"experiment": tmp_path / "exp.toml", "other": tmp_path / "notes.bin", "folder": tmp_path}[kind]
    if kind == "experiment":
        path.write_text('[train]\nepochs = 2\n')
    elif kind == "other":
        path.write_bytes(bytes(range(256)))
    before = path.read_bytes() if path.is_file() else None
    exp = tmp_path / "exp.toml" if kind == "experiment" else "examples/playground.toml"
    words = {"experiment": "an experiment file", "other": "not a tuidl checkpoint", "folder": "is a folder"}[kind]
    one_line(tuidl("train", str(exp), "--epochs", "2", "--save", str(path)), path, words)
    if before is not None:
        assert path.read_bytes() == before


def test_save_goes_on_into_a_checkpoint_and_into_no_missing_folder(tmp_path, checkpoint):
    import shutil

    path = tmp_path / "run.ckpt"
    shutil.copy(checkpoint, path)
    result = tuidl("train", str(path), "--epochs", "2", "--save", str(path))
    assert result.returncode == 0, result.stderr
    missing = tmp_path / "no" / "run.ckpt"
    one_line(tuidl("train", str(path), "--epochs", "3", "--save", str(missing)), missing, "no folder")
