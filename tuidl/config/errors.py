"""ConfigError: one error type that names the file, the dotted key, the value and the rule.

Apart from the rest of tuidl.config so that the checks, the reader and the form edits
word their errors the same way.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, is_dataclass

_MISSING = object()


def _fmt(value: object, limit: int = 60) -> str:
    """A value as it would be written in TOML (short)."""
    if value is _MISSING:
        text = "(missing)"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, float):
        text = repr(value) if math.isfinite(value) else ("nan" if value != value else ("inf" if value > 0 else "-inf"))
    elif isinstance(value, (list, tuple)):
        text = "[" + ", ".join(_fmt(v, limit) for v in value) + "]"
    elif isinstance(value, dict):
        text = "{ " + ", ".join(f"{k} = {_fmt(v, limit)}" for k, v in value.items()) + " }"
    elif is_dataclass(value) and not isinstance(value, type):
        text = _fmt(asdict(value), limit)
    else:
        text = repr(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


class ConfigError(Exception):
    """A bad experiment: names the file, the dotted key, the value and what is allowed.

    str(err) is the whole message, e.g.
    ``experiment.toml: train.lr = -1.0: must be a number > 0 and <= 10``.
    Attributes: source, key (dotted, or None for a file-level error), value (the offending
    value, or None), allowed (the rule, as text), line (TOML syntax errors only, else None).
    """

    def __init__(self, source: str, key: str | None, value: object, allowed: str,
                 message: str | None = None, line: int | None = None):
        self.source = source
        self.key = key
        self.value = None if value is _MISSING else value
        self.allowed = allowed
        self.line = line
        if message is None:
            if key is None:
                message = f"{source}: {allowed}"
            elif value is _MISSING:
                message = f"{source}: {key} is missing: {allowed}"
            else:
                message = f"{source}: {key} = {_fmt(value)}: {allowed}"
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # picklable across processes / workers
        return (ConfigError, (self.source, self.key, self.value, self.allowed, self.message, self.line))


def _unknown(source: str, key: str, value: object, allowed) -> ConfigError:
    allowed_txt = ", ".join(allowed) if allowed else "none"
    return ConfigError(source, key, value, allowed_txt,
                       message=f"{source}: unknown key {key} = {_fmt(value)} (allowed: {allowed_txt})")
