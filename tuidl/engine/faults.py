"""Faults of the device training runs on, recognised by what they say (no torch import):
the app's training process and `tuidl train` turn them into one line that says what to do."""
from __future__ import annotations


def is_out_of_memory(err: BaseException) -> bool:
    """torch.OutOfMemoryError (CUDA), "MPS backend out of memory", or Python's MemoryError."""
    return (isinstance(err, MemoryError) or type(err).__name__ == "OutOfMemoryError"
            or "out of memory" in str(err).lower())


def out_of_memory_message(device: str, where: str) -> str:
    return (f"out of memory on {device} in {where}: make the batch size or the network smaller, "
            "or train on the CPU")
