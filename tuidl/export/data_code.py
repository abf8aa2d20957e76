"""The exported script's data section: Python source that makes tuidl's arrays.

A generated dataset is written out as its numpy generator, the source text of
tuidl.data.datasets' own function and the helpers and constants it uses, so that the
script draws the same arrays from the same seed and a change to a generator reaches the
script too (the tests still hold the two equal, array for array). A "points" set is
written as its points. Any other dataset (a CSV, the digits: read from a file) is written
as its arrays, as the network gets them, at the end of the script. No torch here.
"""
from __future__ import annotations

import ast
import builtins
import functools
import inspect
import symtable
import textwrap

import numpy as np

from tuidl import config as cfg
from tuidl.config import Experiment
from tuidl.data import datasets

# Dataset -> its generator in tuidl.data.datasets, (rng, n, noise, k) -> (points (n, 2),
# labels (n,)), whose source the script carries; a dataset not here is written as its arrays.
GENERATORS = dict(datasets.GENERATORS)
# What the exported script itself provides to the code it carries (it imports numpy as np).
SCRIPT_NAMES = frozenset(dir(builtins)) | {"np"}


def generator_code(generator) -> str:
    """The source of `generator`, a function of tuidl.data.datasets, with that of every
    module-level name of datasets.py it uses (helpers, constants), in the file's order.
    ValueError if it uses a name the script would not have."""
    definitions = _definitions()
    needed: set[str] = set()
    todo = [generator.__name__]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        if name not in definitions:
            raise ValueError(f"the generator {generator.__name__} uses {name}, which tuidl/data/datasets.py "
                             "does not define: the exported script cannot carry it")
        needed.add(name)
        todo.extend(sorted(_names_used(definitions[name][1]) - SCRIPT_NAMES))
    pieces = sorted((definitions[name] for name in needed), key=lambda d: d[0])
    out = ""
    for i, (_, code, is_def) in enumerate(pieces):
        if i:
            out += "\n\n\n" if is_def or pieces[i - 1][2] else "\n"
        out += code
    return out + "\n"


@functools.cache
def _definitions() -> dict[str, tuple[int, str, bool]]:
    """datasets.py's module-level names: name -> (position, source text, whether a def or class)."""
    source = inspect.getsource(datasets)
    out = {}
    for i, node in enumerate(ast.parse(source).body):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            targets, is_def = [node.name], True
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            nodes = node.targets if isinstance(node, ast.Assign) else [node.target]
            targets, is_def = [t.id for t in nodes if isinstance(t, ast.Name)], False
        else:
            continue
        for name in targets:
            out[name] = (i, ast.get_source_segment(source, node), is_def)
    return out


def _names_used(code: str) -> set[str]:
    """The global names a piece of module-level code reads (not the ones it defines)."""
    top = symtable.symtable(code, "<datasets.py>", "exec")
    used = {s.get_name() for s in top.get_symbols() if s.is_referenced() and not s.is_assigned()}
    tables = list(top.get_children())
    while tables:
        table = tables.pop()
        used |= {s.get_name() for s in table.get_symbols() if s.is_global() and s.is_referenced()}
        tables.extend(table.get_children())
    return used - {s.get_name() for s in top.get_symbols() if s.is_assigned()}


# The input features as numpy expressions of x1, x2 (tuidl.data.features').
FEATURE_CODE = {
    "x1": "x1", "x2": "x2", "x1^2": "x1 * x1", "x2^2": "x2 * x2", "x1*x2": "x1 * x2",
    "sin(x1)": "np.sin(x1)", "sin(x2)": "np.sin(x2)",
}
assert tuple(FEATURE_CODE) == cfg.FEATURES


def array_code(values, dtype: str) -> str:
    """An np.array literal, one row a line, every float written so that it reads back exactly."""
    a = np.asarray(values)
    if a.ndim == 2 and a.shape[0] > 0:
        rows = "\n".join(textwrap.fill("[" + ", ".join(_number(v) for v in row) + "],", 88,
                                       initial_indent="    ", subsequent_indent="     ") for row in a.tolist())
        return f"np.array([\n{rows}\n], dtype=np.{dtype})"
    if a.size == 0:
        width = a.shape[1] if a.ndim == 2 else 0
        return f"np.zeros({(0, width) if width else 0}, dtype=np.{dtype})"
    body = textwrap.fill(", ".join(_number(v) for v in a.reshape(-1).tolist()), 88,
                         initial_indent="    ", subsequent_indent="    ")
    return f"np.array([\n{body},\n], dtype=np.{dtype})"


def _number(v) -> str:
    return repr(float(v)) if isinstance(v, float) else str(int(v))


def features_code(features: list[str]) -> str:
    names = ", ".join(features)
    columns = ", ".join(FEATURE_CODE[f] for f in features)
    return f'''
def features(points):
    """The network's inputs from the 2-D points (not standardised, as in tuidl):
    {names}."""
    x1, x2 = points[:, 0], points[:, 1]
    return np.stack([{columns}], axis=1)
'''


def data_code(exp: Experiment, dataset=None) -> tuple[str, str]:
    """(the data section, its tables): constants and `make_data()`, which returns (x_train,
    y_train, x_val, y_val) as numpy arrays equal to tuidl's (y: class indices, or values for
    regression); the tables, if any, are long arrays that go at the end of the script, after
    the code. `dataset`: tuidl's Dataset, needed only for a dataset written as arrays."""
    d = exp.data
    if d.dataset in GENERATORS:
        return _generated(exp), ""
    if d.dataset == "points":
        return _points(exp), ""
    if dataset is None:
        from tuidl.data import make_dataset

        dataset = make_dataset(d)
    return _arrays(exp, dataset)


def _generated(exp: Experiment) -> str:
    d = exp.data
    n_train = cfg.n_train(d)
    generator = GENERATORS[d.dataset]
    classes = f"CLASSES = {d.classes}\n" if d.dataset in cfg.MULTICLASS_DATASETS else ""
    k = "CLASSES" if classes else str(d.classes)
    labels = "values to fit" if cfg.is_regression(d) else "class labels"
    about = textwrap.fill(f"tuidl's generator, copied from tuidl/data/datasets.py: {generator.__name__}(rng, n, "
                          f"noise, k) draws n points (n, 2) and their {labels} (n,); k is the number of classes.",
                          88, initial_indent="# ", subsequent_indent="# ")
    return f'''# -- the data ---------------------------------------------------------------------
# tuidl's "{d.dataset}" dataset: {d.samples} points drawn with numpy's default_rng(DATA_SEED),
# shuffled with it; the first N_TRAIN train, the rest validate.
DATA_SEED = {d.seed}
SAMPLES = {d.samples}
NOISE = {d.noise!r}
{classes}N_TRAIN = {n_train}  # round(SAMPLES · train fraction {d.train_fraction!r})


{about}
{generator_code(generator)}
{features_code(list(d.features))}

def make_data():
    """(x_train, y_train, x_val, y_val) as numpy arrays, the ones tuidl makes."""
    rng = np.random.default_rng(DATA_SEED)
    points, labels = {generator.__name__}(rng, SAMPLES, NOISE, {k})
    order = rng.permutation(SAMPLES)
    x, y = features(points[order]), labels[order]
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]
'''


def _points(exp: Experiment) -> str:
    d = exp.data
    y_type = "float64" if cfg.is_regression(d) else "int64"
    x_val = np.asarray(d.x_val, dtype=np.float64).reshape(-1, 2)
    return f'''# -- the data ---------------------------------------------------------------------
# The experiment's own points, in the order written (training point 0 is TRAIN_POINTS[0]).
TRAIN_POINTS = {array_code(np.asarray(d.x, dtype=np.float64).reshape(-1, 2), "float64")}
TRAIN_Y = {array_code(d.y, y_type)}
VAL_POINTS = {array_code(x_val, "float64")}
VAL_Y = {array_code(d.y_val, y_type)}

{features_code(list(d.features))}

def make_data():
    """(x_train, y_train, x_val, y_val) as numpy arrays, the ones tuidl makes."""
    return features(TRAIN_POINTS), TRAIN_Y, features(VAL_POINTS), VAL_Y
'''


def _arrays(exp: Experiment, dataset) -> tuple[str, str]:
    y_type = "float64" if dataset.task == "regression" else "int64"
    section = f'''# -- the data ---------------------------------------------------------------------
# tuidl's "{exp.data.dataset}" data, as the network gets it ({dataset.x_train.shape[1]} inputs); the arrays
# X_TRAIN, Y_TRAIN, X_VAL and Y_VAL are at the end of this file.


def make_data():
    """(x_train, y_train, x_val, y_val) as numpy arrays, the ones tuidl makes."""
    return X_TRAIN, Y_TRAIN, X_VAL, Y_VAL
'''
    tables = f'''# -- the data's arrays -------------------------------------------------------------
X_TRAIN = {array_code(dataset.x_train, "float64")}
Y_TRAIN = {array_code(np.asarray(dataset.y_train).reshape(-1), y_type)}
X_VAL = {array_code(dataset.x_val, "float64")}
Y_VAL = {array_code(np.asarray(dataset.y_val).reshape(-1), y_type)}
'''
    return section, tables
