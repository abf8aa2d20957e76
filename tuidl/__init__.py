"""tuidl: a visual neural-network trainer for the terminal."""

__version__ = "0.1.0"
