"""What the centre shows in place of the plane when the data has none (digits, a CSV of
other than two inputs): the confusion matrix and the accuracy per class, and for images
a grid of validation examples with their predicted and true labels."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll

from tuidl.ui.confusion import ConfusionView
from tuidl.ui.digits_grid import DigitsGrid


class ClassViews(VerticalScroll):
    """The matrix and the table, then the digits, one under the other: the pane scrolls (the
    mouse wheel, or tab to it and the arrows) where a terminal is too short for all."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dataset = None

    def compose(self) -> ComposeResult:
        yield ConfusionView(id="confusion")
        yield DigitsGrid(id="digits-grid")

    @property
    def title(self) -> str:
        if self.dataset is not None and self.dataset.task == "regression":
            return "validation · values to fit"
        if self.dataset is not None and self.dataset.image_shape is not None:
            return "validation · confusion matrix · accuracy per class · digits"
        return "validation · confusion matrix · accuracy per class"

    def set_dataset(self, dataset) -> None:
        self.dataset = dataset
        self.query_one(ConfusionView).set_dataset(dataset)
        grid = self.query_one(DigitsGrid)
        grid.set_dataset(dataset)
        grid.display = dataset is not None and dataset.image_shape is not None

    def show(self, snap) -> None:
        """The snapshot's validation classes (a snapshot of the dataset in use)."""
        self.query_one(ConfusionView).show(snap.confusion)
        self.query_one(DigitsGrid).show(snap.val_predicted)
