"""Which rows of a file's dataset are used, and which of them train (numpy only).

The same rule as the generated sets: `np.random.default_rng(data.seed)` shuffles the rows,
the first `data.samples` of them are used (all of them unless the experiment asks for
fewer), and of those the first round(samples * train_fraction) are the training set.
"""
from __future__ import annotations

import numpy as np

from ..config import DataConfig, n_train


def row_order(n_rows: int, data: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, validation rows) as indices into the file's rows."""
    used = np.random.default_rng(data.seed).permutation(n_rows)[: min(int(data.samples), n_rows)]
    nt = n_train(data)
    return used[:nt], used[nt:]


def standardisation(x_train: np.ndarray) -> tuple[list[float], list[float]]:
    """Each input's mean and standard deviation over the training rows; a constant input
    keeps std 1 (it becomes 0 everywhere rather than 0/0)."""
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return [float(v) for v in mean], [float(v) for v in std]
