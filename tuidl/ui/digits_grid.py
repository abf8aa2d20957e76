"""Validation digits drawn in the terminal, each with the class the network predicts.

An 8×8 image takes 8 columns and 4 rows: each cell is "▀" with the upper pixel as its
colour and the lower one as its background. Below it the prediction: "7 ✓" when right,
"3≠8" (predicted 3, true 8) when wrong. The pixels are the dataset's own (the app's copy);
the predictions come from the training process's snapshot.
"""
from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from tuidl.ui.colors import BACKGROUND, BLUE, ORANGE, blend, hex_color

CELL_WIDTH = 9  # 8 columns of pixels and a gap
INK = (235, 235, 235)


def digit_lines(image: np.ndarray) -> list[Text]:
    """An image (rows, cols) of values 0..1 as rows/2 lines of half blocks."""
    rows, cols = image.shape
    lines = []
    for r in range(0, rows, 2):
        line = Text()
        for c in range(cols):
            top = hex_color(blend(BACKGROUND, INK, image[r, c]))
            low = hex_color(blend(BACKGROUND, INK, image[r + 1, c])) if r + 1 < rows else hex_color(BACKGROUND)
            line.append("▀", Style(color=top, bgcolor=low))
        lines.append(line)
    return lines


def label(predicted: int | None, true: int, names: list[str]) -> Text:
    if predicted is None:
        return Text(f"? t{names[true]}", style="dim")
    if predicted == true:
        return Text(f"{names[predicted]} ✓", style=f"bold {hex_color(BLUE)}")
    return Text(f"{names[predicted]}≠{names[true]}", style=f"bold {hex_color(ORANGE)}")


class DigitsGrid(Static):
    """As many validation images as fit, in validation order, with predicted and true labels."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.images: np.ndarray | None = None  # (n, rows, cols), 0..1
        self.true: np.ndarray | None = None
        self.names: list[str] = []
        self.predicted: np.ndarray | None = None

    def set_dataset(self, dataset) -> None:
        shape = getattr(dataset, "image_shape", None)
        if shape is None:
            self.images = self.true = None
        else:
            self.images = np.asarray(dataset.x_val).reshape(-1, *shape)
            self.true = np.asarray(dataset.y_val).reshape(-1)
            self.names = list(dataset.class_names) or [str(k) for k in range(dataset.n_classes)]
        self.predicted = None
        self.refresh()

    def show(self, predicted: np.ndarray | None) -> None:
        self.predicted = predicted
        self.refresh()

    def shown_count(self) -> tuple[int, int]:
        """(images per row, rows of images) that fit the widget."""
        if self.images is None:
            return 0, 0
        height = self.images.shape[1] // 2 + self.images.shape[1] % 2 + 1  # the image and its label
        size = self.content_size
        return max(1, size.width // CELL_WIDTH), max(1, (size.height - 1) // height)

    def render(self) -> Text:
        if self.images is None:
            return Text("")
        per_row, n_rows = self.shown_count()
        count = min(len(self.images), per_row * n_rows)
        out = Text("predicted ✓ · predicted≠true\n", style="dim")
        for start in range(0, count, per_row):
            block = range(start, min(start + per_row, count))
            pictures = [digit_lines(self.images[i]) for i in block]
            for r in range(len(pictures[0])):
                for p in pictures:
                    out.append_text(p[r])
                    out.append(" ")
                out.append("\n")
            for i in block:
                pred = None if self.predicted is None or i >= len(self.predicted) else int(self.predicted[i])
                text = label(pred, int(self.true[i]), self.names)
                text.truncate(CELL_WIDTH - 1, pad=True)
                out.append_text(text)
                out.append(" ")
            out.append("\n")
        return out
