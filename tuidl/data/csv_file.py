"""An experiment's CSV file (dataset = "csv"): read, checked and described (numpy only).

The file has a header line of column names, then one row per example. data.target names
the column to predict; data.columns the inputs (default: every other column). Every input
cell must be a number. The task, unless data.task says it: a target of text, or of at most
MAX_CSV_CLASSES distinct whole numbers, is classes; any other numbers are values to fit.
Classes are the target's distinct values in a stable order (numbers by value, text
alphabetically) and keep their names for display.

Problems are reported through config's `fail(key, value, rule)`, so they name the
experiment file, the key, the CSV, its line and column. Parsed files are kept per path
until the file changes, since validation runs on every edit in the app.
"""
from __future__ import annotations

import csv
import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..config import CSV_TASKS, MAX_CSV_CLASSES, DataConfig
from ..paths import shown_path
from .split import row_order, standardisation

Fail = Callable[[str, object, str], None]

MAX_ROWS = 100_000
MAX_INPUTS = 1024
MIN_ROWS = 10
_WHOLE = re.compile(r"^[+-]?\d+$")


@dataclass
class Table:
    header: list[str]
    header_line: int
    rows: list[list[str]]
    lines: list[int]  # each row's line in the file (1 = the first)
    numbers: dict[int, np.ndarray | int] = field(default_factory=dict)  # column -> floats, or the first bad row

    def column(self, name: str) -> int:
        return self.header.index(name)


@dataclass(frozen=True)
class CsvData:
    """The file's rows as the experiment reads them (every row, in file order)."""

    x: np.ndarray  # (rows, inputs) float64, not standardised
    y: np.ndarray  # (rows,) int64 class index, or (rows, 1) float64 values
    task: str  # "classification" | "regression"
    class_names: list[str]
    columns: list[str]


_cache: dict[str, tuple[tuple[int, int], Table]] = {}


def read_table(fail: Fail, path: str) -> Table:
    """The file's header and rows (cells stripped; blank lines skipped)."""
    where = shown_path(path)
    try:
        stat = os.stat(path)
    except OSError as err:
        fail("data.path", where, "no such file" if isinstance(err, FileNotFoundError) else f"cannot read: {err.strerror}")
    stamp = (stat.st_mtime_ns, stat.st_size)
    hit = _cache.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    header: list[str] | None = None
    rows, lines, header_line = [], [], 0
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            for cells in reader:
                if not any(c.strip() for c in cells):
                    continue
                if header is None:
                    header, header_line = [c.strip() for c in cells], reader.line_num
                    continue
                if len(cells) != len(header):
                    fail("data.path", where, f"line {reader.line_num}: {len(cells)} cells, but the header "
                         f"(line {header_line}) names {len(header)} columns")
                rows.append([c.strip() for c in cells])
                lines.append(reader.line_num)
                if len(rows) > MAX_ROWS:
                    fail("data.path", where, f"more than {MAX_ROWS} rows: too many to train on here")
    except UnicodeDecodeError as err:
        fail("data.path", where, f"not UTF-8 text (byte {err.start})")
    except csv.Error as err:
        fail("data.path", where, f"line {reader.line_num}: {err}")
    except OSError as err:
        fail("data.path", where, f"cannot read: {err.strerror}")
    if header is None:
        fail("data.path", where, "the file is empty: it needs a header line of column names, then one row per example")
    for i, name in enumerate(header):
        if not name:
            fail("data.path", where, f"line {header_line}, column {i + 1}: the header has an empty column name")
        if name in header[:i]:
            fail("data.path", where, f"line {header_line}: column {_q(name)} is named twice")
    if not rows:
        fail("data.path", where, f"has a header (line {header_line}) but no rows")
    table = Table(header, header_line, rows, lines)
    _cache[path] = (stamp, table)
    return table


def _q(text: str) -> str:
    """A name or a cell in double quotes, as TOML writes strings."""
    return json.dumps(text, ensure_ascii=False)


def _as_number(cell: str) -> float:
    try:
        v = float(cell)
    except ValueError:
        return math.nan
    return v if math.isfinite(v) else math.nan


def _numbers(table: Table, col: int) -> np.ndarray | int:
    """The column as floats, or the index of its first row that is not a finite number."""
    if col not in table.numbers:
        values = np.fromiter((_as_number(row[col]) for row in table.rows), dtype=np.float64, count=len(table.rows))
        bad = np.flatnonzero(np.isnan(values))
        table.numbers[col] = int(bad[0]) if len(bad) else values
    return table.numbers[col]


def _number_column(fail: Fail, table: Table, name: str, where: str, why: str = "") -> np.ndarray:
    values = _numbers(table, table.column(name))
    if isinstance(values, int):
        cell = table.rows[values][table.column(name)]
        what = "is empty" if not cell else f"{_q(cell)} is not a number"
        fail("data.path", where, f"line {table.lines[values]}, column {_q(name)}: {what}{why}")
    return values


def _check_keys(fail: Fail, d: DataConfig) -> None:
    if not isinstance(d.path, str) or not d.path.strip():
        fail("data.path", d.path, 'dataset "csv" needs its file: path = "data.csv" (relative to the experiment file)')
    if not isinstance(d.target, str) or not d.target:
        fail("data.target", d.target, 'must name the column to predict, like target = "species"')
    for key, values, kind in (("data.columns", d.columns, str), ("data.class_names", d.class_names, str)):
        if not isinstance(values, list) or not all(isinstance(v, kind) for v in values):
            fail(key, values, "must be a list of column names" if key == "data.columns" else "must be a list of names")
    if d.task not in ("", *CSV_TASKS):
        fail("data.task", d.task, "must be one of " + ", ".join(f'"{t}"' for t in CSV_TASKS) + " (or left out: inferred)")
    for key, values in (("data.mean", d.mean), ("data.std", d.std)):
        if not isinstance(values, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
            fail(key, values, "must be a list of numbers, one per input column")


def _inputs(fail: Fail, d: DataConfig, table: Table, where: str) -> list[str]:
    columns = list(d.columns) or [c for c in table.header if c != d.target]
    if not columns:
        fail("data.columns", columns, f"{where} has no column besides the target {_q(d.target)} to learn from")
    if len(columns) > MAX_INPUTS:
        fail("data.columns", f"{len(columns)} columns", f"at most {MAX_INPUTS} input columns")
    for i, name in enumerate(columns):
        if name not in table.header:
            fail(f"data.columns[{i}]", name, f"no such column in {where} (line {table.header_line} names: "
                 + ", ".join(table.header) + ")")
        if name == d.target:
            fail(f"data.columns[{i}]", name, "is the target: it cannot be an input too")
        if name in columns[:i]:
            fail(f"data.columns[{i}]", name, "is listed twice")
    return columns


def _class_order(names: set[str]) -> list[str]:
    """Numbers by value, else text alphabetically: the same file gives the same class indices."""
    if all(not math.isnan(_as_number(n)) for n in names):
        return sorted(names, key=lambda n: (_as_number(n), n))
    return sorted(names)


def _target(fail: Fail, d: DataConfig, table: Table, where: str) -> tuple[str, list[str], np.ndarray]:
    """(task, class names, y): y class indices (rows,) or values (rows, 1)."""
    col = table.column(d.target)
    cells = [row[col] for row in table.rows]
    for i, cell in enumerate(cells):
        if not cell:
            fail("data.path", where, f"line {table.lines[i]}, column {_q(d.target)}: is empty (the target needs a value)")
    numeric = not isinstance(_numbers(table, col), int)
    distinct = set(cells)
    task = d.task
    if not task:
        few_whole = len(distinct) <= MAX_CSV_CLASSES and all(_WHOLE.match(c) for c in distinct)
        task = "classification" if (not numeric or few_whole) else "regression"
    if task == "regression":
        y = _number_column(fail, table, d.target, where, ' (task = "regression" fits numbers)')
        return task, [], y.reshape(-1, 1)
    names = list(d.class_names) or _class_order(distinct)
    index = {name: i for i, name in enumerate(names)}
    for i, cell in enumerate(cells):
        if cell not in index:
            fail("data.path", where, f"line {table.lines[i]}, column {_q(d.target)}: {_q(cell)} is not one of "
                 f"data.class_names ({', '.join(names)})")
    if len(distinct) < 2:
        fail("data.target", d.target, f"every row of {where} has the same class, {_q(cells[0])}: "
             "classification needs at least 2 classes")
    if len(names) > MAX_CSV_CLASSES:
        fail("data.target", d.target, f"{where} has {len(names)} classes, at most {MAX_CSV_CLASSES} are allowed "
             '(numbers to fit: task = "regression")')
    return task, names, np.array([index[c] for c in cells], dtype=np.int64)


def read(fail: Fail, d: DataConfig) -> CsvData:
    """Every row of the file as the experiment reads it; problems through `fail`."""
    _check_keys(fail, d)
    where = shown_path(d.path)
    table = read_table(fail, d.path)
    if d.target not in table.header:
        fail("data.target", d.target, f"no such column in {where} (line {table.header_line} names: "
             + ", ".join(table.header) + ")")
    columns = _inputs(fail, d, table, where)
    task, names, y = _target(fail, d, table, where)
    x = np.stack([_number_column(fail, table, name, where) for name in columns], axis=1)
    return CsvData(x, y, task, names, columns)


def fill(fail: Fail, d: DataConfig, given: set[str]) -> None:
    """Fill in what the file says and the experiment leaves out (see DataConfig), in place."""
    data = read(fail, d)
    d.columns = d.columns or data.columns
    d.task = d.task or data.task
    d.class_names = d.class_names or data.class_names
    if "classes" not in given:
        d.classes = len(data.class_names) if data.task == "classification" else 2
    if "samples" not in given:
        d.samples = len(data.x)
    if not d.mean and not d.std and _split_ok(d, len(data.x)):
        train, _ = row_order(len(data.x), d)
        d.mean, d.std = standardisation(data.x[train])


def _split_ok(d: DataConfig, n_rows: int) -> bool:
    """samples and train_fraction usable for a split (else validation names them)."""
    ok_samples = isinstance(d.samples, int) and not isinstance(d.samples, bool) and MIN_ROWS <= d.samples <= n_rows
    ok_fraction = isinstance(d.train_fraction, float) and 0.1 <= d.train_fraction <= 0.9
    return ok_samples and ok_fraction and isinstance(d.seed, int) and d.seed >= 0


def check(fail: Fail, d: DataConfig) -> None:
    """validate's part for a CSV: the file, and what was filled in from it, still agree."""
    data = read(fail, d)
    n = len(data.x)
    if not (isinstance(d.samples, int) and not isinstance(d.samples, bool) and MIN_ROWS <= d.samples <= n):
        fail("data.samples", d.samples, f"must be an integer from {MIN_ROWS} to {n} (the rows of {shown_path(d.path)})")
    if not d.columns or not d.task:
        fail("data.columns", d.columns, "are filled in from the file when the experiment is loaded "
             "(tuidl.config.from_dict or load)")
    if d.task == "classification":
        if d.classes != len(data.class_names):
            fail("data.classes", d.classes, f"must be {len(data.class_names)}: the classes of column "
                 f"{_q(d.target)} ({', '.join(data.class_names)})")
    for key, values in (("data.mean", d.mean), ("data.std", d.std)):
        if len(values) != len(d.columns):
            fail(key, values, f"must have one number per input column ({len(d.columns)}); "
                 "left out, it is computed from the training rows")
    if any(v <= 0 for v in d.std):
        fail("data.std", d.std, "must be numbers > 0")
