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


LONG = bool(os.environ.get("TUIDL_LONG_TESTS"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def in_a_folder_of_its_own(tmp_path, monkeypatch):
    """Random keys save and export (ctrl+s, the palette): into the test's folder, not the checkout."""
    monkeypatch.chdir(tmp_path)


class Terminal:
    def __init__(self, *args: str, size=(120, 40), cwd=None):
        """cwd: the folder the app runs in (what it saves goes there; by default the test's
        own); tuidl is imported from this checkout."""
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        env = {k: v for k, v in os.environ.items() if k != "CI"} | {"TERM": "xterm-256color"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
        self.process = subprocess.Popen([sys.executable, "-m", "tuidl", *args], stdin=slave, stdout=slave,
                                        stderr=slave, env=env, close_fds=True, cwd=cwd)
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

    def tail(self) -> str:
        """The last of what the app drew (its escape codes included), for a failure's message."""
        return self.output.decode(errors="replace")[-3000:]

    def type(self, keys: str, gap: float = 0.0) -> None:
        for key in keys if gap else [keys]:
            os.write(self.master, key.encode())
            if gap:
                time.sleep(gap)
        self.read(0.05)

    def quit(self, timeout: float = 30) -> int:
        for _ in range(4):
            self.type("\x1b")  # out of a modal, a field or the step-through
            self.read(0.2)
        self.settle()  # ctrl+q is a priority key: it would overtake the keys still queued
        # On a loaded machine the app can still be behind after a quiet spell: an escape handled
        # after ctrl+q cancels the question, and the d typed then draws points instead. So ask
        # again until the app has gone (an app that never quits still fails, after `timeout`).
        end = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < end:
            start = len(self.output)
            self.type("\x11")  # ctrl+q quits from anywhere
            asked = time.monotonic() + 5
            while self.process.poll() is None and time.monotonic() < asked and b"quit without saving" not in self.output[start:]:
                self.read(0.1)
            if self.process.poll() is None and b"quit without saving" in self.output[start:]:
                self.type("d")  # training not saved: the app asks, and d quits without saving
                gone = time.monotonic() + 5
                while self.process.poll() is None and time.monotonic() < gone:
                    self.read(0.1)
        if self.process.poll() is None:
            self.process.kill()
            pytest.fail("the app did not quit; it last drew:\n" + self.tail())
        self.read(0.2)
        os.close(self.master)
        return self.process.returncode


def started(*args: str, **kwargs) -> Terminal:
    """The app with its engine loaded: the first frame, then the engine in its process has
    sent its first snapshot ("paused" on screen)."""
    term = Terminal(*args, **kwargs)
    end = time.monotonic() + 30
    while b"paused" not in term.output and time.monotonic() < end:
        term.read(0.1)
    term.read(0.3)
    return term


def test_palette_double_enter_does_not_crash():
    term = started()
    term.type("\x10")
    term.read(0.5)
    term.type("\r\r")  # both at once, as a fast double press arrives
    term.read(1.0)
    assert term.process.poll() is None, term.output.decode(errors="replace")[-2000:]
    assert term.quit() == 0, term.tail()
    assert b"Traceback" not in term.output and b"Error" not in term.output


@pytest.mark.parametrize("seed", [21, 31, 50])  # each found a crash before its fix
def test_fast_random_keys_leave_the_app_alive(seed):
    rng = random.Random(seed)
    term = started()
    for _ in range(6):
        term.type("".join(rng.choice(KEYS) for _ in range(50)), gap=0.002)
        term.read(0.3)
        assert term.process.poll() is None, term.tail()
    assert term.quit() == 0, term.tail()
    assert b"Traceback" not in term.output


@pytest.mark.parametrize("seed", [7, 8])
def test_fast_random_keys_in_the_race_view_leave_the_app_alive(seed):
    """The optimizers lesson opens in the race view, with its own training process."""
    rng = random.Random(seed)
    term = started("lesson", "optimizers")
    keys = KEYS + ["R", "R", "n", "n", "\x1b[B", "v"]
    for _ in range(6):
        term.type("".join(rng.choice(keys) for _ in range(50)), gap=0.002)
        term.read(0.3)
        assert term.process.poll() is None, term.tail()
    assert term.quit() == 0, term.tail()
    assert b"Traceback" not in term.output


def test_random_keys_at_a_persons_pace():
    """Seeded random keys 0–30 ms apart (1,000 with TUIDL_LONG_TESTS=1, else 200), the race view
    (R) and the save question (ctrl+s, whose file goes to the test's folder) among them; the training
    process is the real one. The app stays alive and quits with status 0."""
    rng = random.Random(1000)
    keys = KEYS + ["R", "\x13", "\x13"]
    term = started()
    for i in range(1000 if LONG else 200):
        os.write(term.master, rng.choice(keys).encode())
        end = time.monotonic() + rng.uniform(0, 0.03)
        while (left := end - time.monotonic()) > 0:  # drain what it draws meanwhile
            if select.select([term.master], [], [], left)[0]:
                term.output += os.read(term.master, 65536)
        if i % 50 == 49:
            assert term.process.poll() is None, (i, term.tail())
    term.read(0.5)
    assert term.process.poll() is None, term.tail()
    assert term.quit() == 0, term.tail()
    assert b"Traceback" not in term.output

