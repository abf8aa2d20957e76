"""The 8×8 handwritten digits shipped inside tuidl (numpy only; nothing is downloaded).

digits.csv.gz: 1,797 rows of 64 pixel counts (0..16, row by row) and the digit (0..9),
the test set of the UCI "Optical Recognition of Handwritten Digits" data as scikit-learn
ships it; CC BY 4.0 (see DIGITS_LICENSE.txt beside it).
"""
from __future__ import annotations

import functools
import gzip
from importlib import resources

import numpy as np

from ..config import DIGITS_CLASSES, DIGITS_SAMPLES, DIGITS_SIDE

PIXEL_MAX = 16.0  # each pixel counts the ink in a 4×4 block of the 32×32 scan


@functools.cache
def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """(pixels (1797, 64) uint8, digits (1797,) int64), read once per process."""
    raw = resources.files("tuidl.data").joinpath("digits.csv.gz").read_bytes()
    table = np.loadtxt(gzip.decompress(raw).decode("ascii").splitlines(), delimiter=",", dtype=np.int64)
    pixels, digits = table[:, :-1].astype(np.uint8), table[:, -1]
    assert pixels.shape == (DIGITS_SAMPLES, DIGITS_SIDE * DIGITS_SIDE) and digits.max() == DIGITS_CLASSES - 1
    pixels.flags.writeable = digits.flags.writeable = False  # shared by every dataset made
    return pixels, digits
