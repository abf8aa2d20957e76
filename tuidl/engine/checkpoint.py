"""Save a trainer to one file and resume it exactly: weights, optimizer state, history, RNG."""
from __future__ import annotations

import os
import tempfile
from dataclasses import asdict
from pathlib import Path

import torch

from tuidl import config as cfg
from tuidl.config import ConfigError
from tuidl.engine.records import EpochRecord
from tuidl.engine.trainer import Trainer

FORMAT = "tuidl-checkpoint/1"


def save_checkpoint(trainer: Trainer, path: str | os.PathLike) -> None:
    """Written to a temporary file first and renamed, so a crash never leaves half a file."""
    state = {
        "format": FORMAT,
        "experiment": cfg.dumps(trainer.exp),
        "network": trainer.network.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "history": [asdict(r) for r in trainer.history],
        "epoch": trainer.epoch,
        "step_count": trainer.step_count,
        "status": trainer.status,
        "best": {"epoch": trainer.best_epoch, "val": trainer._best_val, "params": trainer._best_params},
        "order_rng": trainer._order_rng.get_state(),
        "dropout_rng": trainer._dropout_rng.get_state(),
        "order": trainer._order,
        "cursor": trainer._cursor,
    }
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | os.PathLike) -> Trainer:
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except (OSError, RuntimeError, EOFError) as err:
        raise ConfigError(str(path), None, None, f"cannot read checkpoint: {err}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ConfigError(str(path), None, None, f"not a tuidl checkpoint (expected format {FORMAT})")
    exp = cfg.loads(state["experiment"], source=str(path))
    trainer = Trainer(exp, source=str(path))
    trainer.network.load_state_dict(state["network"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    trainer.history = [EpochRecord(**r) for r in state["history"]]
    trainer.epoch = state["epoch"]
    trainer.step_count = state["step_count"]
    trainer.status = state["status"]
    best = state["best"]
    trainer.best_epoch, trainer._best_val = best["epoch"], best["val"]
    if best["params"] is not None:
        trainer._best_params = [p.to(trainer.device) for p in best["params"]]
    trainer._order_rng.set_state(state["order_rng"])
    trainer._dropout_rng.set_state(state["dropout_rng"].to("cpu"))
    if state["order"] is not None:
        trainer._use_order(state["order"], state["cursor"])
    return trainer
