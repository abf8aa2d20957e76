"""Colours shared by the views: TF Playground's orange (negative / class 0) and blue
(positive / class 1), and a palette for more classes."""
from __future__ import annotations

import numpy as np

ORANGE = (245, 147, 34)
BLUE = (8, 119, 189)
BACKGROUND = (22, 24, 28)
NEUTRAL = (110, 110, 110)
CLASS_COLORS = [
    ORANGE,
    BLUE,
    (60, 170, 80),
    (214, 60, 60),
    (150, 100, 200),
    (150, 100, 70),
    (230, 120, 190),
    (180, 180, 40),
]


def hex_color(rgb: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % tuple(int(c) for c in rgb)


def blend(a, b, t: float) -> tuple[int, int, int]:
    """a·(1−t) + b·t, t clipped to [0, 1]."""
    t = min(1.0, max(0.0, float(t)))
    return tuple(int(round(x * (1 - t) + y * t)) for x, y in zip(a, b))  # type: ignore[return-value]


def signed_color(value: float, scale: float, floor: float = 0.25) -> tuple[int, int, int]:
    """Blue for positive, orange for negative, fading into the background as |value| → 0."""
    if not np.isfinite(value):
        return (255, 0, 255)
    mag = 0.0 if scale <= 0 else min(1.0, abs(value) / scale)
    target = BLUE if value >= 0 else ORANGE
    return blend(BACKGROUND, target, floor + (1 - floor) * mag)


def heat_rgb(values: np.ndarray, task: str, n_classes: int, vrange: tuple[float, float] | None = None) -> np.ndarray:
    """(…, 3) uint8 colours of a boundary array (see Trainer.boundary), dimmed to sit under points."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.5, posinf=1.0, neginf=0.0)
    bg = np.array(BACKGROUND, dtype=np.float64)
    if task == "multiclass":
        cls = np.clip(np.floor(v).astype(int), 0, len(CLASS_COLORS) - 1)
        conf = np.clip(v - np.floor(v), 0.0, 1.0)
        k = max(2, n_classes)
        strength = np.clip((conf - 1.0 / k) / (1 - 1.0 / k), 0, 1) * 0.6 + 0.1
        colors = np.array(CLASS_COLORS, dtype=np.float64)[cls]
        out = bg * (1 - strength[..., None]) + colors * strength[..., None]
    else:
        if task == "regression":
            lo, hi = vrange if vrange else (-1.0, 1.0)
            s = (v - lo) / (hi - lo) * 2 - 1 if hi > lo else np.zeros_like(v)
        else:
            s = v * 2 - 1  # P(class 1) → [−1, 1]
        s = np.clip(s, -1, 1)
        strength = (np.abs(s) * 0.6 + 0.05)[..., None]
        target = np.where((s >= 0)[..., None], np.array(BLUE, float), np.array(ORANGE, float))
        out = bg * (1 - strength) + target * strength
    return np.clip(out, 0, 255).astype(np.uint8)
