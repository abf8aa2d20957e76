"""A checkpoint: one file that resumes a run exactly, and whose experiment reads without torch.

The file is a zip archive:
  tuidl-checkpoint.json   {"format": "tuidl-checkpoint", "version": 2, "epoch": …, "steps": …, "status": …}
  experiment.toml         the experiment, as `tuidl FILE.toml` reads it
  state.pt                torch.save(Trainer.state_dict()): weights, optimizer state, history, RNGs

The app's process never imports torch, yet opens a checkpoint: is_checkpoint, file_kind and
read_checkpoint_experiment read the zip with the standard library; only save_checkpoint and
load_checkpoint import torch (and the trainer), when called.
"""
from __future__ import annotations

import glob
import io
import json
import os
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuidl import config as cfg
from tuidl.config import ConfigError, Experiment
from tuidl.paths import write_atomic

if TYPE_CHECKING:
    from tuidl.data import Dataset
    from tuidl.engine.trainer import Trainer

FORMAT = "tuidl-checkpoint"
VERSION = 2
INFO = "tuidl-checkpoint.json"
EXPERIMENT = "experiment.toml"
STATE = "state.pt"


def _error(path: str | os.PathLike, what: str) -> ConfigError:
    return ConfigError(str(path), None, None, what)


def is_checkpoint(path: str | os.PathLike) -> bool:
    """A zip with our info file in it (the contents are checked when it is read)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return INFO in zf.namelist()
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def file_kind(path: str | os.PathLike) -> str:
    """"checkpoint", "experiment" (text: TOML, checked when loaded), "missing", "folder",
    "unreadable" (no permission, …) or "other" (binary: an image, another program's zip, …)."""
    p = Path(path)
    try:
        if p.is_dir():
            return "folder"
        if not p.is_file():
            return "missing"
    except OSError:  # a folder on the way that cannot be searched
        return "unreadable"
    if is_checkpoint(p):
        return "checkpoint"
    try:
        with p.open("rb") as f:
            head = f.read(65536)
    except OSError:
        return "unreadable"
    if b"\0" in head:
        return "other"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a character cut at the 64 KiB mark
            return "other"
    return "experiment"


def unreadable_message(path: str | os.PathLike) -> str:
    """The one line for a file that cannot be read (permissions, …)."""
    try:
        with open(path, "rb"):
            reason = "it could not be read"
    except OSError as err:
        reason = err.strerror or str(err)
    return f"{path}: cannot read it ({reason})"


def _cut_short(path: str | os.PathLike) -> bool:
    """The start of a tuidl checkpoint (a zip whose first member is the info file) that does
    not read as a zip: cut short (a copy or a download interrupted) or damaged."""
    try:
        with open(path, "rb") as f:
            head = f.read(30 + len(INFO))
    except OSError:
        return False
    return head[:4] == b"PK\x03\x04" and head[30:] == INFO.encode()


def not_ours_message(path: str | os.PathLike) -> str:
    """The one line for a file that is neither an experiment nor a checkpoint."""
    if _cut_short(path):
        return f"{path}: a tuidl checkpoint that is cut short or damaged: it cannot be read (use an earlier copy)"
    what = "neither an experiment file (TOML text) nor a tuidl checkpoint"
    try:
        with zipfile.ZipFile(path) as zf:
            if any(name.endswith("data.pkl") for name in zf.namelist()):
                what += " (a PyTorch file; tuidl checkpoints are written by `tuidl train --save`)"
    except (OSError, zipfile.BadZipFile, ValueError):
        pass
    return f"{path}: {what}"


def read_checkpoint_info(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint's info (format, version, epoch, steps, status); no torch."""
    try:
        with zipfile.ZipFile(path) as zf:
            info = json.loads(zf.read(INFO).decode("utf-8"))
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as err:
        raise _error(path, f"not a readable tuidl checkpoint ({err})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise _error(path, "not a tuidl checkpoint")
    if info.get("version") != VERSION:
        raise _error(path, f"checkpoint version {info.get('version')!r}; this tuidl reads version {VERSION}")
    return info


def read_checkpoint_experiment(path: str | os.PathLike) -> Experiment:
    """The experiment saved in a checkpoint, validated; no torch. Errors are ConfigErrors
    naming the file."""
    read_checkpoint_info(path)
    try:
        with zipfile.ZipFile(path) as zf:
            text = zf.read(EXPERIMENT).decode("utf-8")
    except (OSError, zipfile.BadZipFile, KeyError, UnicodeDecodeError) as err:
        raise _error(path, f"checkpoint without a readable experiment ({err})") from None
    return cfg.loads(text, source=f"{path}:{EXPERIMENT}")


def save_checkpoint(trainer: Trainer, path: str | os.PathLike) -> None:
    """Written to a temporary file in the same folder, then renamed over `path`, so that a
    crash never leaves half a file (the temporary file is removed on failure)."""
    import torch

    state = io.BytesIO()
    torch.save(trainer.state_dict(), state)
    info = {"format": FORMAT, "version": VERSION, "epoch": trainer.epoch, "steps": trainer.step_count,
            "status": trainer.status}
    path = Path(path)

    def write(f) -> None:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(INFO, json.dumps(info, indent=1) + "\n")
            zf.writestr(EXPERIMENT, cfg.dumps(trainer.exp))
            zf.writestr(STATE, state.getvalue(), compress_type=zipfile.ZIP_STORED)

    # .NAME.PID.XXXXXXXX.tmp: the process id tells a later save whether its writer is gone
    write_atomic(path, write, tag=f"{os.getpid()}.")
    remove_leftovers(path)


STALE_SECONDS = 60  # older than any save in progress: a temporary file left by a killed save


def remove_leftovers(path: Path) -> None:
    """The temporary files of earlier saves of `path` that were killed (kill -9 leaves them
    behind, up to the checkpoint's size each): those whose writing process is gone, and any
    older than STALE_SECONDS (a save still under way is younger)."""
    now = time.time()
    prefix = f".{path.name}."
    for leftover in path.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        try:
            if _writer_gone(leftover.name[len(prefix):]) or now - leftover.stat().st_mtime > STALE_SECONDS:
                leftover.unlink()
        except OSError:
            pass  # gone already, or not ours to remove


def _writer_gone(rest: str) -> bool:
    """`rest` is PID.XXXXXXXX.tmp: True when no process PID is running (POSIX; elsewhere, and
    for names without a PID, only the age tells)."""
    pid_text = rest.split(".", 1)[0]
    if os.name != "posix" or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)  # signal 0: is it there? (nothing is sent)
    except ProcessLookupError:
        return True
    except OSError:  # there, but another user's
        return False
    return False


def load_checkpoint(path: str | os.PathLike, exp: Experiment | None = None,
                    dataset: Dataset | None = None) -> Trainer:
    """A trainer where the checkpoint stopped. `exp` replaces the saved experiment (the same
    network and optimizer, e.g. another device or epochs); `dataset` saves rebuilding it."""
    import torch

    from tuidl.engine.trainer import Trainer

    source = str(path)
    if exp is None:
        exp = read_checkpoint_experiment(path)
    else:
        read_checkpoint_info(path)
    try:
        with zipfile.ZipFile(path) as zf:
            state = torch.load(io.BytesIO(zf.read(STATE)), map_location="cpu", weights_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, RuntimeError, EOFError) as err:
        raise _error(path, f"cannot read the checkpoint's state ({err})") from None
    trainer = Trainer(exp, dataset=dataset, source=source)
    try:
        trainer.load_state_dict(state)
    except (KeyError, ValueError, TypeError, RuntimeError) as err:
        raise _error(path, f"the checkpoint's state does not fit its experiment ({err})") from None
    trainer.set_epochs(exp.train.epochs)  # a finished run goes on if `exp` asks for more epochs
    return trainer
