"""Small Rich pieces the phases are written with: lines, equations, notes, sums, matrices."""
from __future__ import annotations

import re
from typing import Iterable

import numpy as np
from rich.table import Table
from rich.text import Text

from tuidl.explain.numbers import as_array, num, shape_str, summary, vec

EQ_STYLE = "bold"
NOTE_STYLE = "italic dim"
MAX_MATRIX_ROWS = 8
MAX_MATRIX_COLS = 8
MAX_TERMS = 16  # terms of a written-out sum

Part = object  # str, Text, or (str, style)


def line(*parts: Part) -> Text:
    t = Text()
    for p in parts:
        if isinstance(p, Text):
            t.append_text(p)
        elif isinstance(p, tuple):
            t.append(str(p[0]), style=p[1])
        else:
            t.append(str(p))
    return t


def hang(prefix: Part, *rest: Part) -> Table:
    """prefix + content, where content that wraps stays indented under itself."""
    grid = Table.grid(padding=0)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(line(prefix), line(*rest))
    return grid


def eq(text: str) -> Text:
    return Text(text, style=EQ_STYLE)


def note(text: str) -> Text:
    return Text(text, style=NOTE_STYLE)


def paren(value: object) -> Text:
    return line("(", num(value), ")")


def written_sum(items: Iterable[tuple[object, ...]], total: int | None = None) -> Text:
    """(a)(b) + (c)(d) + … for pairs, (a) + (b) + … for singles: at most MAX_TERMS terms."""
    items = list(items)
    n = len(items) if total is None else total
    t = Text()
    for i, factors in enumerate(items[:MAX_TERMS]):
        if i:
            t.append(" + ")
        for f in factors:
            t.append_text(paren(f))
    if n > MAX_TERMS:
        t.append(f" + … ({n - MAX_TERMS} more terms)", style="dim")
    return t


_SLOT = re.compile(r"\{(\w+)\}")


def fill(template: str, **values: object) -> Text:
    """A formula with numbers put in: each {name} becomes its value, numbers coloured
    (ints and strings, such as class labels and N, stay plain)."""
    t = Text()
    pos = 0
    for m in _SLOT.finditer(template):
        t.append(template[pos:m.start()])
        v = values[m.group(1)]
        t.append_text(Text(str(v)) if isinstance(v, (int, str)) and not isinstance(v, bool) else num(v))
        pos = m.end()
    t.append(template[pos:])
    return t


def target_text(value: object, classes: bool) -> int | float:
    """A target as written: a class label as an integer, a value as a number."""
    v = float(as_array(value).reshape(-1)[0])
    return int(v) if classes and np.isfinite(v) else v


def matrix(M: object, sel_row: int | None, name: str) -> list:
    """A small matrix in full (the selected row marked ▶), a large one summarised."""
    A = as_array(M)
    if A.ndim != 2:
        return [hang(f"{name} ", vec(A))]
    rows, cols = A.shape
    if rows <= MAX_MATRIX_ROWS and cols <= MAX_MATRIX_COLS:
        out: list = [line(f"{name} ", (f"({shape_str(A.shape)})", "dim"))]
        for r in range(rows):
            out.append(hang("  ▶ " if r == sel_row else "    ", vec(A[r], max_items=cols)))
        return out
    out = [line(f"{name} ", summary(A))]
    if sel_row is not None:
        out.append(hang(f"  row {sel_row}: ", vec(A[sel_row], max_items=MAX_MATRIX_COLS * 4)))
    return out
