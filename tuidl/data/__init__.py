"""Datasets and input features (numpy only; never imports torch or textual)."""
from .datasets import Dataset, make_dataset
from .features import grid_points, map_features

__all__ = ["Dataset", "make_dataset", "map_features", "grid_points"]
