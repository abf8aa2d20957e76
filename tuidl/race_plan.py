"""What a race runs: its variants' names, settings and experiments (no torch).

A race varies one or more settings (config.RACE_KEYS or an optimizer option); the variants
are the product of the value lists, in order (the first key varies slowest). The app
checks a race here before the training process builds it, and `[race]` in an experiment
file and `tuidl race --vary` both end here.
"""
from __future__ import annotations

import copy
import itertools
import math

from tuidl import config as cfg
from tuidl.config import ConfigError, Experiment

MAX_VARIANTS = cfg.MAX_RACE_VARIANTS
VARY_KEYS = cfg.RACE_KEYS
OPTION_KEYS = cfg.RACE_OPTION_KEYS


class RaceError(ValueError):
    """A race that cannot be run: the message is one line for the user."""


def parse_vary(items: list[str]) -> dict[str, list[str]]:
    """["optimizer=sgd,adam", "lr=0.01,0.1"] -> {"optimizer": ["sgd", "adam"], "lr": ["0.01", "0.1"]}.

    Keys: config.RACE_KEYS or an optimizer option (momentum, betas, ...; betas' values
    separated by ';' or '/', like betas=0.9/0.999,0.5/0.9). The values stay text: the
    variants parse them as the field's type. At most 8 variants. RaceError otherwise."""
    vary: dict[str, list[str]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip().removeprefix("options.")
        if not sep or not key:
            raise RaceError(f"--vary {item!r}: expected KEY=V1,V2,... (like lr=0.01,0.1)")
        if key in vary:
            raise RaceError(f"--vary {item!r}: {key} is varied twice")
        vary[key] = [v.strip() for v in text.split(",")]
        problem = cfg.race_problem({key: vary[key]}, f"--vary {item!r}")
        if problem:
            raise RaceError(problem)
    if not vary:
        raise RaceError("nothing to race: give at least one --vary KEY=V1,V2")
    problem = cfg.race_problem(vary, "--vary")
    if problem:
        raise RaceError(problem)
    return vary


def vary_text(vary: dict[str, list]) -> str:
    """The race as the app's field shows it: "optimizer=sgd,adam lr=0.01,0.1"."""
    def value(v: object) -> str:
        return "/".join(str(b) for b in v) if isinstance(v, (list, tuple)) else str(v)

    return " ".join(f"{k}={','.join(value(v) for v in values)}" for k, values in vary.items())


def variant_experiment(exp: Experiment, settings: dict[str, str], source: str) -> Experiment:
    """exp with the settings applied: the optimizer first (with its own defaults, as the
    app changes it), then the rest. RaceError names the setting that does not fit."""
    new = copy.deepcopy(exp)
    try:
        for key in sorted(settings, key=lambda k: k != "optimizer"):
            text = str(settings[key])
            if key == "optimizer":
                if text not in cfg.OPTIMIZERS:
                    raise RaceError(f"{source}: optimizer = {text!r}: one of {', '.join(cfg.OPTIMIZERS)}")
                new = cfg.change_optimizer(new, text)  # its default options (and adadelta's lr of 1)
            elif key in ("activation", "dropout"):  # every hidden layer's
                for i in range(len(new.model.hidden)):
                    new = cfg.set_field(new, f"model.hidden[{i}].{key}", text, source)
            elif key == "init":
                new = cfg.set_field(new, "model.init", text, source)
            elif key in ("lr", "batch_size", "l1"):
                new = cfg.set_field(new, f"train.{key}", text, source)
            else:
                new = cfg.set_field(new, f"train.options.{key}", text.replace("/", ",").replace(";", ","), source)
        cfg.validate(new, source)
    except ConfigError as err:
        raise RaceError(str(err)) from None
    return new


def variant_name(settings: dict[str, str]) -> str:
    """"adam lr=0.01": the optimizer by its name, the other settings as key=value."""
    return " ".join(v if k == "optimizer" else f"{k}={v}" for k, v in settings.items())


def plan(exp: Experiment, vary: dict[str, list], source: str = "<experiment>") -> list[tuple[str, dict[str, str], Experiment]]:
    """(name, settings, experiment) of every variant; RaceError when the race cannot run."""
    problem = cfg.race_problem(vary, source)
    if problem:
        raise RaceError(problem)
    keys = list(vary)
    out = []
    for combo in itertools.product(*(vary[k] for k in keys)):
        settings = {k: _text(v) for k, v in zip(keys, combo)}
        out.append((variant_name(settings), settings, variant_experiment(exp, settings, source)))
    assert len(out) <= MAX_VARIANTS and math.prod(len(v) for v in vary.values()) == len(out)
    return out


def _text(value: object) -> str:
    """A value of [race] (number, name, betas pair) as the text a --vary would give."""
    if isinstance(value, (list, tuple)):
        return "/".join(str(v) for v in value)
    return str(value)
