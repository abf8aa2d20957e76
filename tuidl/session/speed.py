"""The training speed a learner picks: epochs per second, or None for as fast as it goes.

The `+` and `-` keys step through SPEEDS; a typed value is read with parse_speed.
"""
from __future__ import annotations

SPEEDS: tuple[float | None, ...] = (1, 2, 5, 10, 20, 50, 100, 200, None)
MIN_SPEED = 1


def faster(speed: float | None) -> float | None:
    """The next speed up the ladder (None, the fastest, stays)."""
    if speed is None:
        return None
    return next((s for s in SPEEDS if s is None or s > speed), None)


def slower(speed: float | None) -> float | None:
    """The next speed down the ladder (the slowest stays)."""
    limited = [s for s in SPEEDS if s is not None]
    if speed is None:
        return limited[-1]
    lower = [s for s in limited if s < speed]
    return lower[-1] if lower else limited[0]


def speed_label(speed: float | None) -> str:
    """"max", "1 epoch/s", "5 epochs/s", "2.5 epochs/s"."""
    if speed is None:
        return "max"
    return f"{speed:g} epoch/s" if speed == 1 else f"{speed:g} epochs/s"


def parse_speed(text: str) -> float | None:
    """A typed speed: a number of epochs per second ≥ 1, or "max" (or nothing) for no limit.
    Raises ValueError with a message to show."""
    text = text.strip().lower().removesuffix("epochs/s").removesuffix("epoch/s").strip()
    if text in ("", "max"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"speed {text!r}: a number of epochs per second ≥ {MIN_SPEED}, or max") from None
    if not value >= MIN_SPEED or value == float("inf"):
        raise ValueError(f"speed {text}: at least {MIN_SPEED} epoch per second, or max")
    return value
