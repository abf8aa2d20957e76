"""The validation set's classes as the network predicts them: what the confusion matrix,
the per-class accuracy and the grid of digits show (the app has no torch: the training
process computes these and sends them in its snapshots)."""
from __future__ import annotations

import numpy as np
import torch


@torch.inference_mode()
def validation_classes(trainer) -> tuple[np.ndarray, np.ndarray] | None:
    """(predicted class of each validation example (n_val,) int64, confusion matrix (k, k)
    int64: row = true class, column = predicted), by the rule the accuracy uses (argmax, or
    output ≥ 0.5 for one output unit), without dropout. None for regression or without a
    validation set."""
    dataset = trainer.dataset
    if not trainer.classification or trainer.x_val.shape[0] == 0:
        return None
    out = trainer.network.predict(trainer.x_val)
    predicted = (out[:, 0] >= 0.5).long() if out.shape[1] == 1 else out.argmax(dim=1)
    k = max(int(dataset.n_classes), 2)
    predicted = predicted.clamp_(0, k - 1).to("cpu").numpy().astype(np.int64)
    true = np.asarray(dataset.y_val, dtype=np.int64).reshape(-1)
    confusion = np.bincount(true * k + predicted, minlength=k * k).reshape(k, k)
    return predicted, confusion
