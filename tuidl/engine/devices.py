"""Which torch devices exist here, and what to call them on screen."""
from __future__ import annotations

import os
import platform

import torch


class DeviceUnavailable(ValueError):
    """The experiment asks for a device this machine does not have."""


def _cuda_label() -> str | None:
    if not torch.cuda.is_available():
        return None
    return f"cuda:0 {torch.cuda.get_device_name(0)}"


def _mps_label() -> str | None:
    mps = getattr(torch.backends, "mps", None)
    if mps is None or not mps.is_available():
        return None
    return "mps (Apple GPU)"


def cpu_threads() -> int:
    """The threads CPU training uses: 1 (small networks run fastest on one: thread hand-off
    costs more than the math), or TUIDL_THREADS when it is a whole number ≥ 1."""
    try:
        return max(1, int(os.environ.get("TUIDL_THREADS", "1")))
    except ValueError:
        return 1


def _cpu_label() -> str:
    """Names the thread count training uses (set by configure_cpu_threads), not whatever
    torch happens to use before a trainer is built."""
    n = cpu_threads()
    return f"cpu ({platform.machine() or 'unknown'}, {n} thread{'' if n == 1 else 's'})"


def available_devices() -> dict[str, str | None]:
    """Each device name of the experiment file → a description, or None if absent."""
    cuda, mps = _cuda_label(), _mps_label()
    auto = cuda or mps or _cpu_label()
    return {"auto": auto, "cpu": _cpu_label(), "cuda": cuda, "mps": mps}


def resolve_device(name: str) -> torch.device:
    """'auto' picks cuda, then mps, then cpu; an absent device is an error, not a fallback."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", 0)
        if _mps_label():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise DeviceUnavailable("device 'cuda' is not available on this machine (torch sees no CUDA GPU)")
        return torch.device("cuda", 0)
    if name == "mps":
        if not _mps_label():
            raise DeviceUnavailable("device 'mps' is not available on this machine (no Apple GPU)")
        return torch.device("mps")
    raise DeviceUnavailable(f"unknown device {name!r} (allowed: auto, cpu, cuda, mps)")


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{device.index or 0} {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "mps (Apple GPU)"
    return _cpu_label()


def configure_cpu_threads() -> None:
    """Makes torch use cpu_threads() threads, the count the CPU's label names."""
    torch.set_num_threads(cpu_threads())
