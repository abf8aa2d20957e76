"""The real app in a real terminal (a pty), typed at as a person does: fast.

Pilot hands the app one key at a time and waits for it; a person does not. A double
`enter` in the command palette crashed the app while every Pilot test passed.
"""
from __future__ import annotations

import fcntl
import os
import random
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

KEYS = [" ", "e", "n", "p", "r", "[", "]", "1", "2", "3", "4", "+", "-", "g", "\r", "\t", "\x1b[A", "\x1b[B",
        "\x1b[C", "\x1b[D", "\x1b[5~", "\x1b[6~", "a", "x", "w", "v", "l", "8", ".", "0", "?", "\x1b", "\x10"]


class Terminal:
    def __init__(self, *args: str, size=(120, 40)):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        env = {k: v for k, v in os.environ.items() if k != "CI"} | {"TERM": "xterm-256color"}
        self.process = subprocess.Popen([sys.executable, "-m", "tuidl", *args], stdin=slave, stdout=slave,
                                        stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.output = b""

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:
                    return

    def settle(self, quiet: float = 0.5, most: float = 20) -> None:
        """Read until the app has drawn nothing for `quiet` seconds: the keys typed are handled."""
        end = time.monotonic() + most
        while time.monotonic() < end:
            before = len(self.output)
            self.read(quiet)
            if len(self.output) == before:
                return

    def type(self, keys: str, gap: float = 0.0) -> None:
        for key in keys if gap else [keys]:
            os.write(self.master, key.encode())
            if gap:
                time.sleep(gap)
        self.read(0.05)

    def quit(self, timeout: float = 20) -> int:
        for _ in range(4):
            self.type("\x1b")  # out of a modal, a field or the step-through
            self.read(0.2)
        self.settle()  # ctrl+q is a priority key: it would overtake the keys still queued
        start = len(self.output)
        self.type("\x11")  # ctrl+q quits from anywhere
        end = time.monotonic() + 10
        while self.process.poll() is None and time.monotonic() < end and b"quit without saving" not in self.output[start:]:
            self.read(0.1)
        if self.process.poll() is None:
            self.type("d")  # training not saved: the app asks, and d quits without saving
        end = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < end:
            self.read(0.1)
        if self.process.poll() is None:
            self.process.kill()
            pytest.fail("the app did not quit")
        self.read(0.2)
        os.close(self.master)
        return self.process.returncode


def started() -> Terminal:
    term = Terminal()
    term.read(8)  # the first frame, then the engine in its process
    return term


def test_palette_double_enter_does_not_crash():
    term = started()
    term.type("\x10")
    term.read(0.5)
    term.type("\r\r")  # both at once, as a fast double press arrives
    term.read(1.0)
    assert term.process.poll() is None, term.output.decode(errors="replace")[-2000:]
    assert term.quit() == 0
    assert b"Traceback" not in term.output and b"Error" not in term.output


@pytest.mark.parametrize("seed", [21, 31, 50])  # each found a crash before its fix
def test_fast_random_keys_leave_the_app_alive(seed):
    rng = random.Random(seed)
    term = started()
    for _ in range(6):
        term.type("".join(rng.choice(KEYS) for _ in range(50)), gap=0.002)
        term.read(0.3)
        assert term.process.poll() is None, term.output.decode(errors="replace")[-3000:]
    assert term.quit() == 0
    assert b"Traceback" not in term.output


@pytest.mark.parametrize("seed", [7, 8])
def test_fast_random_keys_in_the_race_view_leave_the_app_alive(seed):
    """The optimizers lesson opens in the race view, with its own training process."""
    rng = random.Random(seed)
    term = Terminal("lesson", "optimizers")
    term.read(8)
    keys = KEYS + ["R", "R", "n", "n", "\x1b[B", "v"]
    for _ in range(6):
        term.type("".join(rng.choice(keys) for _ in range(50)), gap=0.002)
        term.read(0.3)
        assert term.process.poll() is None, term.output.decode(errors="replace")[-3000:]
    assert term.quit() == 0
    assert b"Traceback" not in term.output
