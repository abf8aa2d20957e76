"""Numbers as the step-through writes them: signed, short, coloured by sign.

TF Playground's colours: blue for positive values, orange for negative ones. NaN and
infinities are written as such (nan, +inf, −inf), never hidden or turned into errors.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from rich.text import Text

POS_STYLE = "#4aa3df"
NEG_STYLE = "#f59322"
ZERO_STYLE = "dim"
SEL_STYLE = "reverse"

MAX_VECTOR = 12  # longer vectors are summarised, with the selected entry in full

_SUP = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def sup(n: object) -> str:
    """n in superscript digits: a layer's number (a², W³)."""
    return str(n).translate(_SUP)


def sub(n: object) -> str:
    """n in subscript digits: a neuron's or an input's index (z₀, W₁₂)."""
    return str(n).translate(_SUB)


def as_array(value: object) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor slipped into a record
        value = value.detach().cpu().numpy()  # type: ignore[union-attr]
    return np.asarray(value)


def scalar(value: object) -> float | None:
    """The number in `value` (a float, a 0-d or one-element array), or None."""
    try:
        a = as_array(value)
        return float(a.reshape(-1)[0]) if a.size else None
    except (TypeError, ValueError):
        return None


def fmt(value: object, digits: int = 4) -> str:
    """A number in at most `digits` significant digits with its sign: +0.1234, −1.2e-05."""
    v = scalar(value)
    if v is None:
        return str(value)
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "+inf" if v > 0 else "−inf"
    if v == 0:
        return "0"
    s = f"{v:+.{digits}g}"
    return "−" + s[1:] if s[0] == "-" else s


def fmt_plain(value: object, digits: int = 4) -> str:
    """An option's value (β₁, ε, γ...) as written in a rule: no forced sign."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(fmt_plain(v, digits) for v in value) + ")"
    v = scalar(value)
    if v is None:
        return str(value)
    s = f"{v:.{digits}g}"
    return "−" + s[1:] if s.startswith("-") else s


def style_of(value: object) -> str:
    v = scalar(value)
    if v is None:
        return ""
    if v > 0:
        return POS_STYLE
    if v < 0:
        return NEG_STYLE
    return ZERO_STYLE  # zero, and nan


def num(value: object, extra: str = "") -> Text:
    """A coloured number (the first entry of an array)."""
    return Text(fmt(value), style=f"{style_of(value)} {extra}".strip())


def shape_str(shape: Sequence[int]) -> str:
    return "×".join(str(s) for s in shape) if len(shape) else "scalar"


def summary(arr: object) -> Text:
    """A tensor's shape, mean, min and max (nan when any entry is nan)."""
    a = as_array(arr).astype(np.float64, copy=False)
    t = Text(f"({shape_str(a.shape)}) ", style="dim")
    if a.size == 0:
        return t + Text("empty")
    with np.errstate(all="ignore"):
        stats = (("mean", a.mean()), ("min", a.min()), ("max", a.max()))
    for i, (label, value) in enumerate(stats):
        t.append(("  " if i else "") + label + " ")
        t.append_text(num(value))
    return t


def vec(values: object, sel: int | None = None, max_items: int = MAX_VECTOR) -> Text:
    """[+0.1 −0.2 …] with the selected entry highlighted; summarised when long."""
    a = as_array(values).reshape(-1)
    if a.size > max_items:
        t = summary(a)
        if sel is not None and 0 <= sel < a.size:
            t.append(f"  [{sel}] = ")
            t.append_text(num(a[sel], "bold"))
        return t
    t = Text("[")
    for i, v in enumerate(a):
        if i:
            t.append(" ")
        t.append_text(num(v, SEL_STYLE if i == sel else ""))
    t.append("]")
    return t


def all_finite(*arrays: object) -> bool:
    """True when every number in the arrays is finite (None entries are skipped)."""
    for value in arrays:
        if value is None:
            continue
        a = as_array(value)
        if np.issubdtype(a.dtype, np.number) and not np.isfinite(a).all():
            return False
    return True
