"""Paths as a person reads them (no Textual, no torch)."""
from __future__ import annotations

import os


def shown_path(path: str) -> str:
    """The path as a person would type it here: relative to the working directory when
    inside it, else as given."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if rel.startswith("..") else rel
