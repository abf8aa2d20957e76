"""The race view's pieces: each variant's colour, the table of their numbers, and a small
decision boundary per variant. They draw a RaceProgress handed to them (attributes down)."""
from __future__ import annotations

import math
import re

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import DataTable, Static

from tuidl.ui.colors import CLASS_COLORS, hex_color
from tuidl.ui.plane import BoundaryPlane

COLUMNS = ("variant", "epochs", "loss train/val", "acc train/val", "best val loss", "status")
PLANE_MIN_WIDTH = 14  # a small plane narrower than this shows too little
PLANE_MIN_HEIGHT = 2  # its name and one row of the plane
GUTTER = 1  # columns between two planes


def variant_color(v: int) -> str:
    """Variant v's colour, the same in the curves, the table and its plane's title."""
    return hex_color(CLASS_COLORS[v % len(CLASS_COLORS)])


def _num(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "—"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}f}"


def table_cells(v: int, row: dict) -> list:
    """One variant's row: its name in its colour, final and best numbers, status."""
    best = row["best_val_loss"]
    best_text = "—" if best is None else f"{_num(best)} @{row['best_epoch']}" if row["best_epoch"] else _num(best)
    return [
        Text("■ " + row["variant"], style=variant_color(v)),
        str(row["epochs"]),
        f"{_num(row['train_loss'])} / {_num(row['val_loss'])}",
        f"{_num(row['train_accuracy'], 3)} / {_num(row['val_accuracy'], 3)}",
        best_text,
        short_status(row["status"]),
    ]


def short_status(status: str | None) -> str:
    """"finished", "diverged", "early stopping" (the epoch is in its own column)."""
    return "racing" if status is None else re.sub(r"\s*(at epoch|\d).*$", "", status)


class RaceTable(DataTable):
    """One row a variant; the cursor is the variant the step-through shows. It takes no
    focus: the race view's ↑/↓ move its cursor (a text field is the only stop for tab)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.can_focus = False
        self._names: tuple[str, ...] = ()

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def show(self, names: tuple[str, ...], rows: tuple) -> None:
        if names != self._names:
            keep = self.cursor_row
            self.clear()
            for v, row in enumerate(rows):
                self.add_row(*table_cells(v, row), key=str(v))
            self._names = names
            self.move_cursor(row=min(keep, len(rows) - 1) if rows else 0)
            return
        for v, row in enumerate(rows):
            for column, cell in zip(self.columns, table_cells(v, row)):
                self.update_cell(str(v), column, cell, update_width=True)


class RacePlanes(Grid):
    """A small decision boundary per variant, its name above it in its colour."""

    DEFAULT_CSS = f"""
    RacePlanes {{ grid-size: 4; grid-gutter: 0 {GUTTER}; height: 1fr; }}
    RacePlanes > Vertical {{ height: 1fr; }}
    RacePlanes .race-plane-name {{ height: 1; }}
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._names: tuple[str, ...] = ()
        self.dataset = None

    async def set_variants(self, names: tuple[str, ...], dataset) -> None:
        """One plane per name (rebuilt only when the names change)."""
        if names == self._names and dataset is self.dataset:
            return
        self._names, self.dataset = names, dataset
        await self.remove_children()
        self._set_columns()
        if dataset is None:  # digits, a CSV of more than two inputs: the table and curves tell it all
            self.styles.grid_size_columns = 1
            self.styles.grid_columns = "1fr"
            await self.mount(Static("no decision boundary to draw: the inputs are not two numbers of a plane",
                                    classes="race-plane-name"))
            return
        cells = []
        for v, name in enumerate(names):
            plane = BoundaryPlane(axes=False, classes="race-plane")
            plane.show_validation = False
            cells.append(Vertical(Static(Text(name, style=f"bold {variant_color(v)}"), classes="race-plane-name"),
                                  plane))
        await self.mount_all(cells)
        for plane in self.query(BoundaryPlane):
            plane.set_dataset(dataset)

    def on_resize(self) -> None:
        self._set_columns()

    def _set_columns(self) -> None:
        """As many planes a row as fit, at least PLANE_MIN_WIDTH wide; all in one row where
        the pane is too short for more (Textual squeezed the second row over the first).
        Every plane the same width: planes a cell apart drew the same points in other
        cells, and the first variant's data looked like other data."""
        n = max(1, len(self._names))
        columns = max(1, min(n, self.content_size.width // PLANE_MIN_WIDTH or n))
        if self.content_size.height < -(-n // columns) * PLANE_MIN_HEIGHT:
            columns = n
        self.styles.grid_size_columns = columns
        width = (self.content_size.width - GUTTER * (columns - 1)) // columns
        self.styles.grid_columns = str(width) if width > 0 else "1fr"

    @property
    def grid_size(self) -> tuple[int, int]:
        """The resolution every plane wants (they are all the same size)."""
        planes = list(self.query(BoundaryPlane))
        return planes[0].grid_size if planes else (0, 0)

    def show(self, boundaries: tuple) -> None:
        for plane, boundary in zip(self.query(BoundaryPlane), boundaries):
            plane.set_boundary(boundary)


class RaceCharts(Horizontal):
    """Train and validation loss per epoch side by side, every variant in its colour, overlaid."""

    DEFAULT_CSS = """
    RaceCharts { height: 1fr; }
    RaceCharts > PlotextChart { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        from tuidl.ui.chart import PlotextChart

        yield PlotextChart("train loss", id="race-train-chart")
        yield PlotextChart("validation loss", id="race-val-chart")

    def show(self, build: int, curves: tuple) -> None:
        from tuidl.ui.chart import PlotextChart

        key = (build, tuple(len(c) for c in curves))
        for chart_id, column in (("#race-train-chart", 1), ("#race-val-chart", 2)):
            series = [(str(v), [p[0] for p in curve], [p[column] for p in curve], CLASS_COLORS[v % len(CLASS_COLORS)])
                      for v, curve in enumerate(curves)]
            self.query_one(chart_id, PlotextChart).set_series(series, key)
