"""Saves under abuse: `tuidl train --save` killed (SIGKILL) at seeded points in the middle of its
save always leaves the previous checkpoint whole, and the next save removes the temporary
file the killed one left; a checkpoint cut short or of another format version gets one clear
line (exit status 2) in `tuidl train`, `tuidl trace` and the app's command.

(The atomic save itself, and leftovers older than a minute: tests/test_checkpoint.py.)
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import zipfile

import pytest

from tuidl.engine import checkpoint as ck

LONG = bool(os.environ.get("TUIDL_LONG_TESTS"))

# `tuidl train` whose save kills its own process (SIGKILL: nothing is cleaned up) once KILL_AT
# bytes of the checkpoint are written, or at the rename when KILL_AT is "replace"
KILLED_SAVE = """
import os, signal, sys
kill_at = os.environ["KILL_AT"]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

class Killing:
    def __init__(self, f):
        self.f, self.written = f, 0
    def write(self, data):
        if kill_at != "replace" and self.written + len(data) > int(kill_at):
            self.f.write(data[:int(kill_at) - self.written])
            self.f.flush()
            die()
        self.written += len(data)
        return self.f.write(data)
    def __getattr__(self, name):
        return getattr(self.f, name)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return self.f.__exit__(*exc)

real_fdopen, real_replace = os.fdopen, os.replace
os.fdopen = lambda *a, **k: Killing(real_fdopen(*a, **k))
if kill_at == "replace":
    os.replace = lambda *a, **k: die()
from tuidl.cli import main
sys.argv = ["tuidl", "train", *sys.argv[1:]]
main()
"""


def train(*args: str, kill_at: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "tuidl", "train", *args] if kill_at is None else \
        [sys.executable, "-c", KILLED_SAVE, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env=os.environ | ({"KILL_AT": kill_at} if kill_at is not None else {}))


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("base")
    exp = folder / "exp.toml"
    exp.write_text('[data]\nsamples = 200\n[model]\nhidden = [{ units = 64 }, { units = 64 }]\n'
                   '[train]\noptimizer = "adam"\nlr = 0.01\n')
    path = folder / "run.ckpt"
    result = train(str(exp), "--epochs", "1", "--save", str(path))
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture
def saved(base, tmp_path):
    """A checkpoint at epoch 1 (2→64→64→1, Adam), written by `tuidl train --save`."""
    path = tmp_path / "run.ckpt"
    path.write_bytes(base.read_bytes())
    return path


def test_a_save_killed_anywhere_leaves_the_previous_checkpoint_and_the_next_save_cleans_up(saved):
    before = saved.read_bytes()
    rng = random.Random(10)
    points = [str(rng.randrange(len(before))) for _ in range(20 if LONG else 3)] + ["0", "replace"]
    for kill_at in points:
        result = train(str(saved), "--epochs", "2", "--json", "--save", str(saved), kill_at=kill_at)
        assert result.returncode == -9, (kill_at, result.stderr[-2000:])
        assert saved.read_bytes() == before, kill_at  # untouched: still the previous checkpoint
        assert ck.load_checkpoint(saved).epoch == 1
    left = leftovers(saved.parent)
    assert len(left) == len(points), left  # each killed save left its temporary file (and nothing else)
    result = train(str(saved), "--epochs", "2", "--json", "--save", str(saved))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["saved"] == str(saved)
    assert leftovers(saved.parent) == []  # their processes are gone: the next save removed them
    assert ck.load_checkpoint(saved).epoch == 2


def test_a_temporary_file_of_a_save_under_way_is_kept(saved):
    """Another process that is alive right now (this one) may be writing it."""
    from tuidl.engine.trainer import Trainer

    mine = saved.parent / f".{saved.name}.{os.getppid()}.abcdefgh.tmp"  # a live process: the test's parent
    mine.write_bytes(b"half a checkpoint")
    ck.save_checkpoint(Trainer(ck.read_checkpoint_experiment(saved)), saved)
    assert leftovers(saved.parent) == [mine.name]


def cut_short(saved):
    path = saved.with_name("cut.ckpt")
    path.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    return path, "a tuidl checkpoint that is cut short or damaged: it cannot be read (use an earlier copy)"


def other_version(saved, version=99):
    path = saved.with_name(f"v{version}.ckpt")
    with zipfile.ZipFile(saved) as old, zipfile.ZipFile(path, "w") as new:
        for name in old.namelist():
            data = old.read(name)
            if name == ck.INFO:
                info = json.loads(data)
                info["version"] = version
                data = json.dumps(info).encode()
            new.writestr(name, data)
    return path, f"checkpoint version {version}; this tuidl reads version {ck.VERSION}"


@pytest.mark.parametrize("command", [["train"], ["trace"], []], ids=["train", "trace", "app"])
@pytest.mark.parametrize("damage", [cut_short, other_version, lambda s: other_version(s, 1)],
                         ids=["cut short", "version 99", "version 1"])
def test_a_damaged_or_foreign_checkpoint_gets_one_line(saved, command, damage):
    path, words = damage(saved)
    result = subprocess.run([sys.executable, "-m", "tuidl", *command, str(path)], capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.stderr.splitlines() == [f"tuidl: error: {path}: {words}"]
