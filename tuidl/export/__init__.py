"""Export to PyTorch: a standalone script that trains the experiment as tuidl does, and the
network's weights as a state_dict for the script's nn.Sequential.

`export(trainer, code_path, weights_path)` writes both, each to a temporary file renamed
into place. The script's text needs no torch (script.py, data_code.py); writing the
weights does, and is imported only then. No Textual.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tuidl.paths import write_atomic

from .script import linear_indices, script_text

__all__ = ["default_paths", "export", "script_text", "sequential_state_dict", "weights_description"]


def default_paths(stem: str | os.PathLike, opened: str | os.PathLike | None = None) -> tuple[str, str]:
    """(script, weights): `<stem>.py` and `<stem>.pt`, never the file opened (a checkpoint
    named run.pt stays: `run-pytorch.py` and `run-pytorch.pt`)."""
    stem = Path(stem)
    if opened is not None and Path(opened).resolve() in (stem.with_suffix(".py").resolve(),
                                                         stem.with_suffix(".pt").resolve()):
        stem = stem.with_name(f"{stem.name}-pytorch")
    return str(stem.with_suffix(".py")), str(stem.with_suffix(".pt"))


def sequential_state_dict(exp, network_state: dict) -> dict:
    """tuidl's network state ("layers.{i}.weight", "layers.{i}.bias") keyed as the script's
    nn.Sequential names them ("{k}.weight", k the i-th Linear's index)."""
    out = {}
    for i, k in enumerate(linear_indices(exp)):
        out[f"{k}.weight"] = network_state[f"layers.{i}.weight"]
        out[f"{k}.bias"] = network_state[f"layers.{i}.bias"]
    return out


def weights_description(trainer: Any) -> str:
    """What the weights of `trainer` are, for the script's docstring and the messages."""
    if trainer.epoch == 0 and trainer.step_count == 0:
        return "tuidl's initial weights (epoch 0): the ones this script starts from"
    text = f"the weights tuidl trained, after {trainer.epoch} epochs ({trainer.step_count} steps)"
    if trainer.status and trainer.status.startswith("early stopping"):
        text += f", restored to those of epoch {trainer.best_epoch} by early stopping"
    return text


def export(trainer: Any, code_path: str | os.PathLike, weights_path: str | os.PathLike | None = None,
           title: str = "an experiment") -> None:
    """Write the script for trainer's experiment and data to `code_path`, and its current
    weights to `weights_path` (if given). OSError if a file cannot be written."""
    code_path = Path(code_path)
    weights = None
    if weights_path is not None:
        weights_path = Path(weights_path)
        weights = (_relative_to(weights_path, code_path.parent), weights_description(trainer))
    text = script_text(trainer.exp, trainer.dataset, title=title, name=code_path.name, weights=weights)
    if weights_path is not None:
        import torch

        state = sequential_state_dict(trainer.exp, trainer.network.state_dict())
        write_atomic(weights_path, lambda f: torch.save(state, f))
    write_atomic(code_path, lambda f: f.write(text.encode("utf-8")))


def _relative_to(path: Path, folder: Path) -> str:
    try:
        return os.path.relpath(path, folder)
    except ValueError:  # another drive (Windows)
        return str(path)
