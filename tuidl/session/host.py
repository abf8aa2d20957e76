"""The app's end of the training session: typed commands out, events in.

No Textual and no torch here. `send` queues a command and returns at once; a daemon thread
drains the training process's events and calls `deliver(event)` for each, from that thread
(the app wraps each into a Textual message). The UI thread never waits on training.

The worker runs in a child process by default. In a thread of the app's own process the
training loop and the drawing would share one interpreter lock: every torch op releases
it and then waits for the drawing to give it back, which cut training to a third and the
frame rate below 10/s on a 2-core machine. A process trains at full speed on its own
core, and torch's import (seconds) stays off the UI's process. `in_process=True` runs the
worker in the session's thread instead (tests that do not need the process use it).
"""
from __future__ import annotations

import contextlib
import copy
import multiprocessing
import queue
import sys
import threading
from dataclasses import replace
from typing import Any, Callable

from tuidl.config import Experiment
from tuidl.session import commands as c
from tuidl.session.events import EngineFailed, Progress
from tuidl.session.worker import ProgressDelta, Worker, run_worker_process


@contextlib.contextmanager
def _real_stderr():
    """Multiprocessing's resource tracker, started with the first queue, is handed
    sys.stderr's file descriptor: an app's capture of stderr (Textual's) has none."""
    if sys.__stderr__ is None:
        yield
        return
    with contextlib.redirect_stderr(sys.__stderr__):
        yield


class Session:
    def __init__(self, exp: Experiment, dataset: Any, source: str, deliver: Callable[[Any], None], *,
                 in_process: bool = False, checkpoint: str | None = None, worker: type = Worker):
        """`checkpoint`: a checkpoint file whose experiment is `exp`; the first network
        resumes from it (weights, optimizer state, history, RNG) instead of epoch 0.
        `worker`: the class that serves the commands (Worker; RaceWorker for a race)."""
        self._deliver = deliver
        self._lock = threading.Lock()
        self._ids = 0
        self._stop = threading.Event()
        self._history: list = []
        self._history_build = -1
        self.done = 0  # id of the last command fully processed
        self.in_process = in_process
        args = (copy.deepcopy(exp), dataset, source, checkpoint)
        self._process = None
        if in_process:
            self._commands: Any = queue.Queue()
            self._worker = worker(exp=args[0], dataset=dataset, source=source, commands=self._commands,
                                  deliver=self._receive, checkpoint=checkpoint)
        else:
            ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads or locks inherited
            with _real_stderr():
                self._commands = ctx.Queue()
                self._events = ctx.Queue()
            self._process = ctx.Process(target=run_worker_process, args=(worker, *args, self._commands, self._events),
                                        daemon=True, name="tuidl-trainer")
        self._thread = threading.Thread(target=self._thread_body, name="tuidl-session", daemon=True)

    def start(self) -> None:
        """Start the training process (or the in-process worker) and the thread that delivers."""
        if self._process is not None:
            with _real_stderr():
                self._process.start()
        self._thread.start()

    def send(self, command: c.Command) -> int:
        """Queue a command for the worker; returns its id (answers and Progress.done carry it)."""
        with self._lock:
            self._ids += 1
            cid = self._ids
            self._commands.put((cid, command))
        return cid

    @property
    def last_id(self) -> int:
        """The id of the last command sent (0: none yet)."""
        return self._ids

    def stop(self) -> None:
        """Ask the worker to quit, and end the process if it does not within 2 s."""
        self._stop.set()
        self._commands.put((0, c.Quit()))
        if self._process is not None and self._process.pid is not None:
            self._process.join(timeout=2)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(timeout=2)
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    # -- the delivering thread -------------------------------------------------------
    def _thread_body(self) -> None:
        if self.in_process:
            self._worker.loop(self._stop.is_set)
            return
        while not self._stop.is_set():
            try:
                event = self._events.get(timeout=0.1)
            except queue.Empty:
                if not self._process.is_alive() and not self._stop.is_set():
                    self._deliver(EngineFailed(
                        f"the training process ended unexpectedly (exit code {self._process.exitcode})"))
                    return
                continue
            self._receive(event)

    def _receive(self, event: Any) -> None:
        """Progress gets the build's whole history (the worker sends only new records)."""
        if isinstance(event, ProgressDelta):
            snap = event.snapshot
            if snap.build != self._history_build:
                self._history, self._history_build = [], snap.build
            del self._history[event.history_from:]
            self._history.extend(snap.history)
            self.done = max(self.done, snap.done)
            event = Progress(replace(snap, history=tuple(self._history)))
        self._deliver(event)
