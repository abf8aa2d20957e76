"""Editing one field by its dotted key ("train.lr", "model.hidden[1].units",
"train.options.betas"): the text a form or `--set` gives, read as the field's type.
"""
from __future__ import annotations

import copy
import re

from .derived import optimizer_options
from .errors import ConfigError, _unknown
from .rules import _layer_index, change_dataset, change_optimizer, keep_fitting_weights
from .schema import (
    _LAYER_KEYS,
    _SECTION_KEYS,
    INLINE_KEYS,
    OPTIMIZER_DEFAULTS,
    DataConfig,
    Experiment,
    Layer,
    ModelConfig,
    TrainConfig,
)

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
_SECTION_KEY = re.compile(r"^(data|model|train)\.(\w+)$")
_LAYER_KEY = re.compile(r"^model\.hidden\[(\d+)\]\.(\w+)$")
_OPTION_KEY = re.compile(r"^train\.options\.(\w+)$")
_SECTION_DEFAULTS = {"data": DataConfig(), "model": ModelConfig(), "train": TrainConfig()}


def _parse(text: str, like: object, key: str, source: str) -> object:
    """`text` read as the type of `like` (a default value of the same field)."""
    def refuse(what: str) -> ConfigError:
        return ConfigError(source, key, text, f"must be {what}",
                           message=f"{source}: {key} = {text!r}: must be {what}")

    if isinstance(like, bool):
        word = text.lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise refuse("true or false")
    if isinstance(like, int):
        try:
            return int(text)
        except ValueError:
            raise refuse("a whole number") from None
    if isinstance(like, float):
        try:
            return float(text)
        except ValueError:
            raise refuse("a number") from None
    if isinstance(like, (tuple, list)):  # betas, features: comma-separated
        parts = [p.strip() for p in text.strip("()[] ").split(",") if p.strip()]
        if isinstance(like, list):
            return parts
        try:
            return tuple(float(p) for p in parts)
        except ValueError:
            raise refuse("numbers separated by commas, like 0.9, 0.999") from None
    return text


def get_field(exp: Experiment, key: str) -> object:
    """The value at a dotted key, as set_field names them (an option not set: its default)."""
    if m := _SECTION_KEY.match(key):
        return getattr(getattr(exp, m.group(1)), m.group(2))
    if m := _LAYER_KEY.match(key):
        return getattr(exp.model.hidden[int(m.group(1))], m.group(2))
    if m := _OPTION_KEY.match(key):
        return optimizer_options(exp.train)[m.group(1)]
    raise KeyError(key)


def set_field(exp: Experiment, key: str, text: str, source: str = "refused") -> Experiment:
    """A form's text for a dotted key ("train.lr", "model.hidden[1].units",
    "train.options.betas", ...) parsed into the field's type. Text that does not parse
    raises ConfigError; the value's range is validate's to check. The dataset and the
    optimizer go through change_dataset and change_optimizer."""
    text = text.strip()
    if key == "data.dataset":
        return change_dataset(exp, text)
    if key == "train.optimizer":
        return change_optimizer(exp, text)
    new = copy.deepcopy(exp)
    if m := _SECTION_KEY.match(key):
        section, name = m.groups()
        settable = tuple(k for k in _SECTION_KEYS[section] if k not in ("hidden", "options", *INLINE_KEYS))
        if name not in settable:
            raise _unknown(source, key, text, settable)
        like = getattr(_SECTION_DEFAULTS[section], name)
        setattr(getattr(new, section), name, _parse(text, like, key, source))
    elif m := _LAYER_KEY.match(key):
        i, name = int(m.group(1)), m.group(2)
        layer = new.model.hidden[_layer_index(exp, i, source)]
        if name not in _LAYER_KEYS:
            raise _unknown(source, key, text, _LAYER_KEYS)
        setattr(layer, name, _parse(text, getattr(Layer(1), name), key, source))
    elif m := _OPTION_KEY.match(key):
        name = m.group(1)
        defaults = OPTIMIZER_DEFAULTS.get(new.train.optimizer, {})
        if name not in defaults:
            raise _unknown(source, key, text, tuple(defaults))
        new.train.options[name] = _parse(text, defaults[name], key, source)
    else:
        raise ConfigError(source, key, text, "not a field of the experiment",
                          message=f"{source}: {key}: not a field of the experiment "
                                  '(like "train.lr", "model.hidden[0].units", "train.options.momentum")')
    return keep_fitting_weights(new)
