"""The confusion matrix and the accuracy per class, for data without a plane to draw.

Both come from the snapshot's confusion matrix, which the training process computed on
the validation set (row = true class, column = predicted); the view only lays it out.
"""
from __future__ import annotations

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from tuidl.ui.colors import BLUE, ORANGE, hex_color

NAME_WIDTH = 10  # a class name longer than this is cut in the rows
HEAD_WIDTH = 6  # and in the column heads


def _cut(name: str, width: int) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def per_class(confusion: np.ndarray) -> list[tuple[int, int, float | None]]:
    """(examples, correct, accuracy or None without examples) of each true class."""
    rows = []
    for k in range(confusion.shape[0]):
        n, hit = int(confusion[k].sum()), int(confusion[k, k])
        rows.append((n, hit, hit / n if n else None))
    return rows


def confusion_table(confusion: np.ndarray, names: list[str]) -> Table:
    """Rows the true class, columns the predicted one, each column as narrow as its numbers
    allow: ten classes fit a pane of 40 columns."""
    table = Table(title="confusion: ↓ true, → predicted",
                  title_justify="left", box=None, pad_edge=False, padding=(0, 0), show_edge=False)
    widest = len(str(int(confusion.max()))) if confusion.size else 1
    table.add_column("", no_wrap=True, min_width=max(len(_cut(n, NAME_WIDTH)) for n in names) + 1)
    for name in names:
        head = _cut(name, HEAD_WIDTH)
        table.add_column(head, justify="right", no_wrap=True, min_width=max(len(head), widest) + 1)
    for k, name in enumerate(names):
        cells = []
        for j in range(len(names)):
            v = int(confusion[k, j])
            style = "" if v == 0 else (f"bold {hex_color(BLUE)}" if j == k else f"bold {hex_color(ORANGE)}")
            cells.append(Text(str(v) if v else "·", style=style or "dim"))
        table.add_row(_cut(name, NAME_WIDTH), *cells)
    return table


def accuracy_table(confusion: np.ndarray, names: list[str]) -> Table:
    table = Table(title="accuracy per class", title_justify="left", box=None, pad_edge=False,
                  padding=(0, 1), show_edge=False)
    for head in ("class", "n", "right", "accuracy"):
        table.add_column(head, justify="left" if head == "class" else "right", no_wrap=True)
    for name, (n, hit, acc) in zip(names, per_class(confusion)):
        table.add_row(_cut(name, NAME_WIDTH), str(n), str(hit), "–" if acc is None else f"{acc:.1%}")
    total = int(confusion.sum())
    right = int(np.trace(confusion))
    table.add_row(Text("all", style="bold"), str(total), str(right), f"{right / total:.1%}" if total else "–")
    return table


class ConfusionView(Static):
    """The validation set's confusion matrix beside its accuracy per class."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.names: list[str] = []
        self.confusion: np.ndarray | None = None
        self.regression = False

    def set_dataset(self, dataset) -> None:
        self.regression = dataset is not None and dataset.task == "regression"
        k = max(getattr(dataset, "n_classes", 0) or 0, 2)
        self.names = list(getattr(dataset, "class_names", None) or []) or [str(i) for i in range(k)]
        self.confusion = None
        self._draw()

    def show(self, confusion: np.ndarray | None) -> None:
        self.confusion = None if confusion is None else np.asarray(confusion)
        self._draw()

    def _draw(self) -> None:
        if self.regression:
            self.update(Text("values to fit, no classes: the loss curves show how close the fit is", style="dim"))
        elif self.confusion is None or self.confusion.shape != (len(self.names),) * 2:
            self.update(Text("the confusion matrix appears once the network is built", style="dim"))
        else:
            self.update(Group(confusion_table(self.confusion, self.names), Text(""),
                              accuracy_table(self.confusion, self.names)))
