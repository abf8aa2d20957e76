"""Paths as a person reads them, and files written whole (no Textual, no torch)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable


def shown_path(path: str) -> str:
    """The path as a person would type it here: relative to the working directory when
    inside it, else as given."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if rel.startswith("..") else rel


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], object], tag: str = "") -> None:
    """Write a file whole or not at all: `write(f)` fills a temporary file (binary) in the
    same folder, which is then renamed over `path`; on any failure it is removed and `path`
    stays as it was. The file gets the mode `path` had, or a new file's (0666 less the
    umask), not the temporary file's 0600, which would hide a saved experiment from the
    rest of a class. An OSError names `path`, not the temporary file. The temporary file
    is named `.NAME.{tag}XXXXXXXX.tmp`."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{tag}", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise OSError(err.errno, err.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno is not None:  # OSError(errno, …) is PermissionError etc. again
            raise OSError(err.errno, err.strerror, str(path)) from None
        raise


def _mode_for(path: Path) -> int:
    """The permission bits of `path` if it exists, else those a new file gets here."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it (another thread
    may be creating a file), else by setting it and back."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
