"""Reading and writing experiments: a parsed TOML document or TOML text in, TOML out.

Every way in (from_dict, loads, load) ends in fill_file_data and validate, so that a
loaded experiment is always a valid one; save writes atomically.
"""
from __future__ import annotations

import copy
import os
import re
from dataclasses import asdict
from pathlib import Path

from tuidl import inline
from tuidl.paths import write_atomic

from .errors import _MISSING, ConfigError, _unknown
from .rules import fill_file_data
from .schema import (
    _LAYER_KEYS,
    _SECTION_KEYS,
    INLINE_KEYS,
    DataConfig,
    Experiment,
    Layer,
    LayerWeights,
    ModelConfig,
    TrainConfig,
)
from .validation import _is_int, validate

# Fields that are floats: a TOML integer there (lr = 1) is read as a float.
_FLOAT_FIELDS = {
    "data": ("noise", "train_fraction"),
    "layer": ("dropout",),
    "train": ("lr", "l1", "min_delta"),
}


def _table(source: str, key: str, v: object) -> dict:
    if not isinstance(v, dict):
        raise ConfigError(source, key, v, f"must be a table ([{key}])")
    return v


def _coerce_floats(values: dict, names: tuple[str, ...]) -> dict:
    out = dict(values)
    for n in names:
        if n in out and _is_int(out[n]):
            out[n] = float(out[n])
    return out


def _coerce_options(opts: dict) -> dict:
    out = {}
    for k, v in opts.items():
        if k == "betas" and isinstance(v, (list, tuple)):
            v = tuple(float(b) if _is_int(b) else b for b in v)
        elif _is_int(v) and k != "nesterov":
            v = float(v)
        out[k] = v
    return out


def from_dict(d: dict, source: str = "<dict>", base: str | os.PathLike | None = None) -> Experiment:
    """Build and validate an Experiment from a parsed TOML document (every key optional).
    base: the folder a CSV's relative data.path is read from (the experiment file's; else
    the working directory)."""
    if not isinstance(d, dict):
        raise ConfigError(source, None, d, "the experiment must be a table of [data], [model], [train]")
    for k, v in d.items():
        if k not in _SECTION_KEYS and k != "race":
            raise _unknown(source, k, v, (*_SECTION_KEYS, "race"))
    sections = {}
    for name, keys in _SECTION_KEYS.items():
        sec = _table(source, name, d.get(name, {}))
        for k, v in sec.items():
            if k not in keys:
                raise _unknown(source, f"{name}.{k}", v, keys)
        sections[name] = sec

    data = _coerce_floats(sections["data"], _FLOAT_FIELDS["data"])
    if "features" in data and isinstance(data["features"], tuple):
        data["features"] = list(data["features"])
    for k in ("x", "x_val"):
        if k in data:
            data[k] = inline.to_float_rows(data[k])
    if "extent" in data:
        data["extent"] = inline.to_floats(data["extent"])

    model = dict(sections["model"])
    if "hidden" in model:
        hidden = model["hidden"]
        if not isinstance(hidden, list):
            raise ConfigError(source, "model.hidden", hidden,
                              'must be a list of layers like { units = 4, activation = "tanh" }')
        layers = []
        for i, layer in enumerate(hidden):
            k = f"model.hidden[{i}]"
            if not isinstance(layer, dict):
                raise ConfigError(source, k, layer, 'must be a layer like { units = 4, activation = "tanh" }')
            for lk, lv in layer.items():
                if lk not in _LAYER_KEYS:
                    raise _unknown(source, f"{k}.{lk}", lv, _LAYER_KEYS)
            if "units" not in layer:
                raise ConfigError(source, f"{k}.units", _MISSING, "every layer needs units (an integer from 1 to 256)")
            layers.append(Layer(**_coerce_floats(layer, _FLOAT_FIELDS["layer"])))
        model["hidden"] = layers
    if "weights" in model:
        model["weights"] = _weights_from_toml(source, model["weights"])

    train = _coerce_floats(sections["train"], _FLOAT_FIELDS["train"])
    if "options" in train:
        train["options"] = _coerce_options(_table(source, "train.options", train["options"]))

    race = _table(source, "race", d.get("race", {}))
    exp = Experiment(DataConfig(**data), ModelConfig(**model), TrainConfig(**train), dict(race))
    fill_file_data(exp, source, base, given=set(sections["data"]) | {f"train.{k}" for k in sections["train"]})
    validate(exp, source)
    return exp


def _weights_from_toml(source: str, entries: object) -> list[LayerWeights]:
    rule = "must be a list of { W = [[...]], b = [...] }, one per dense layer"
    if not isinstance(entries, list):
        raise ConfigError(source, "model.weights", entries, rule)
    out = []
    for i, entry in enumerate(entries):
        key = f"model.weights[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(source, key, entry, "must be a table { W = [[...]], b = [...] }")
        for k, v in entry.items():
            if k not in ("W", "b"):
                raise _unknown(source, f"{key}.{k}", v, ("W", "b"))
        for k in ("W", "b"):
            if k not in entry:
                raise ConfigError(source, f"{key}.{k}", _MISSING, "every layer's entry needs W (out × in) and b (out)")
        out.append(LayerWeights(inline.to_float_rows(entry["W"]), inline.to_floats(entry["b"])))
    return out


def to_dict(exp: Experiment) -> dict:
    """The experiment as plain TOML-ready data (every key written, except the inline data
    and weights when there are none; betas as a list)."""
    out = asdict(exp)
    out["data"]["features"] = list(exp.data.features)
    for section in ("data", "model"):
        for k in INLINE_KEYS:
            if k in out[section] and not out[section][k]:
                del out[section][k]
    opts = {}
    for k, v in exp.train.options.items():
        opts[k] = list(v) if isinstance(v, tuple) else v
    out["train"]["options"] = opts
    if exp.race:
        out["race"] = {k: [list(v) if isinstance(v, tuple) else v for v in values] for k, values in exp.race.items()}
    else:
        del out["race"]
    return out


_TOML_LINE = re.compile(r"at line (\d+)")


def loads(text: str, source: str = "<string>", base: str | os.PathLike | None = None) -> Experiment:
    """Parse and validate an experiment from TOML text; errors name `source`. base: see from_dict."""
    try:
        return _loads(text, source, base)
    except RecursionError:  # arrays nested thousands deep: no experiment key nests more than 3
        raise ConfigError(source, None, None, "invalid experiment: arrays or tables nested too deeply") from None


def _loads(text: str, source: str, base: str | os.PathLike | None = None) -> Experiment:
    import tomllib  # here: the app's first frame, with the default experiment, reads no TOML (~10 ms)

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = _TOML_LINE.search(msg)
        line = int(m.group(1)) if m else getattr(e, "lineno", None)
        where = f"{source}: line {line}" if line is not None else source
        raise ConfigError(source, None, None, f"invalid TOML: {msg}",
                          message=f"{where}: invalid TOML: {msg}", line=line) from None
    return from_dict(doc, source, base)


def load(path: str | os.PathLike) -> Experiment:
    """Read and validate an experiment file."""
    p = Path(path)
    source = str(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, None, None, "no such file",
                          message=f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(source, None, None, f"cannot read: {e}",
                          message=f"{source}: cannot read: {e}") from None
    return loads(text, source, base=p.parent)


def load_csv(path: str | os.PathLike) -> Experiment:
    """The default experiment on a CSV file given where an experiment is expected (`tuidl
    fruit.csv`): its last column is the target and every other column an input, as an
    experiment file with `[data] dataset = "csv"`, `path` and `target` would say."""
    import csv

    p = Path(path)
    source = str(path)
    try:
        with p.open(encoding="utf-8", newline="") as f:
            header = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ConfigError(source, None, None, f"cannot read: {e}", message=f"{source}: cannot read: {e}") from None
    names = [name.strip() for name in header]
    if len(names) < 2 or not all(names):
        raise ConfigError(source, None, None, "a CSV needs a header line of column names, two at least",
                          message=f"{source}: line 1: a CSV needs a header line of column names, two at least "
                                  "(the inputs, then the target)")
    return from_dict({"data": {"dataset": "csv", "path": p.name, "target": names[-1]}}, source, base=p.parent)


def dumps(exp: Experiment) -> str:
    """The experiment as TOML text; loads(dumps(e)) == e."""
    import tomli_w

    return tomli_w.dumps(to_dict(exp))


def save(exp: Experiment, path: str | os.PathLike) -> None:
    """Write the experiment atomically: a temporary file in the same folder, then os.replace.
    A CSV's path is written relative to that folder, so the two can move together."""
    p = Path(path)
    directory = p.parent if str(p.parent) else Path(".")
    if exp.data.path and os.path.isabs(exp.data.path):
        exp = copy.deepcopy(exp)
        exp.data.path = Path(os.path.relpath(exp.data.path, os.path.abspath(directory))).as_posix()
    text = dumps(exp).encode("utf-8")
    write_atomic(p, lambda f: f.write(text))
