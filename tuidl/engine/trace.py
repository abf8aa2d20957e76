"""`tuidl trace`: K recorded training steps from the initial weights, as plain data."""
from __future__ import annotations

from dataclasses import asdict

import numpy as np

from tuidl.config import Experiment
from tuidl.engine.records import StepRecord
from tuidl.engine.trainer import Trainer


def jsonable(value: object) -> object:
    """Numpy arrays and scalars → nested lists and Python numbers."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def step_to_dict(record: StepRecord) -> dict:
    return jsonable(asdict(record))


def record_steps(exp: Experiment, steps: int = 1, source: str = "<experiment>") -> tuple[Trainer, list[StepRecord]]:
    """K training steps from the initial weights, each recorded phase by phase."""
    trainer = Trainer(exp, source=source)
    return trainer, [trainer.step() for _ in range(steps)]


def trace_document(trainer: Trainer, records: list[StepRecord]) -> dict:
    """The JSON document of `tuidl trace --json`."""
    return {
        "device": trainer.device_label,
        "dtype": trainer.exp.train.dtype,
        "loss": trainer.exp.train.loss,
        "optimizer": trainer.optimizer.name,
        "lr": trainer.optimizer.lr,
        "options": jsonable(trainer.optimizer.options),
        "steps": [step_to_dict(r) for r in records],
    }
