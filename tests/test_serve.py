"""`tuidl serve`: the app in a browser through textual-serve, on loopback only.

The server runs as a subprocess on 127.0.0.1 and a free port; the test fetches the page over
HTTP, opens the page's terminal connection as a browser does and reads the app's first
frame from it, then stops the server. Every wait is bounded."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

HOST = "127.0.0.1"
DEADLINE = 60  # seconds: generous for a loaded 2-core machine; nothing waits longer


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Served:
    """`tuidl serve` in a subprocess; its output is collected by a thread."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "tuidl", "serve", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str) -> None:
        end = time.monotonic() + DEADLINE
        while text not in self.output:
            assert self.proc.poll() is None, f"tuidl serve ended ({self.proc.returncode}): {self.output}"
            assert time.monotonic() < end, f"no {text!r} in: {self.output}"
            time.sleep(0.05)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # ctrl+c
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: the apps it started go too
                self.proc.wait(timeout=5)
        return self.proc.returncode


def fetch(url: str) -> str:
    end = time.monotonic() + DEADLINE
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200
                return response.read().decode("utf-8")
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


async def first_frame(ws_url: str) -> str:
    """What the app sends a browser's terminal until its top bar is drawn."""
    import aiohttp

    seen = ""
    timeout = aiohttp.ClientWSTimeout(ws_close=5)
    async with aiohttp.ClientSession() as session, \
            session.ws_connect(f"{ws_url}?width=110&height=34", timeout=timeout) as ws:
        end = time.monotonic() + DEADLINE
        while "device:" not in seen:
            left = end - time.monotonic()
            assert left > 0, f"no first frame; got {seen[-500:]!r}"
            message = await ws.receive(timeout=left)
            if message.type == aiohttp.WSMsgType.BINARY:
                seen += message.data.decode("utf-8", "replace")
            elif message.type == aiohttp.WSMsgType.TEXT:
                seen += message.data
            elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                raise AssertionError(f"the terminal connection closed; got {seen[-500:]!r}")
        await ws.close()
    return seen


def test_serve_shows_the_app_in_a_browser_on_loopback():
    port = free_port()
    served = Served("--port", str(port))
    try:
        url = f"http://{HOST}:{port}"
        served.wait_for(f"serving the app at {url}")
        page = fetch(url + "/")
        assert 'class="textual-terminal"' in page and "/static/js/textual.js" in page  # textual-serve's page
        assert f'data-session-websocket-url="ws://{HOST}:{port}/ws"' in page
        assert len(fetch(url + "/static/js/textual.js")) > 10_000  # the terminal's script is served
        frame = asyncio.run(first_frame(f"ws://{HOST}:{port}/ws"))
        assert "tuidl" in frame and "device:" in frame  # the app itself, drawn for the browser
    finally:
        code = served.stop()
    assert code is not None
    assert "listening on" not in served.output  # loopback: no warning about the network


def test_serve_listens_on_loopback_unless_told_otherwise():
    from tuidl.serve import is_loopback, public_url

    help_text = subprocess.run([sys.executable, "-m", "tuidl", "serve", "--help"], capture_output=True, text=True,
                               timeout=DEADLINE, check=True).stdout
    assert "[default: 127.0.0.1]" in help_text and "[default: 8000" in help_text
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    assert public_url("127.0.0.1", 8000, None) == "http://127.0.0.1:8000"
    assert public_url("::1", 8000, None) == "http://[::1]:8000"
    assert public_url("0.0.0.0", 8000, "https://class.example.org/") == "https://class.example.org"


def test_a_port_in_use_is_said_in_one_line():
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "tuidl", "serve", "--port", str(port)], capture_output=True,
                                text=True, timeout=DEADLINE, check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"tuidl: error: port {port} on {HOST} is in use (another tuidl serve, or "
                                     "another server): pick another with --port")
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("args, said", [
    (["no-such-file.toml"], "no such file, and no lesson by that name"),
    (["--port", "0"], "Invalid value for '--port'"),
    (["--host", "203.0.113.7"], "not an address of this machine"),  # TEST-NET-3: never this machine's
])
def test_bad_arguments_are_refused_before_serving(args, said):
    result = subprocess.run([sys.executable, "-m", "tuidl", "serve", *args], capture_output=True, text=True,
                            timeout=DEADLINE, check=False)
    assert result.returncode == 2 and said in result.stderr
    assert "serving the app" not in result.stdout


def test_the_server_loads_neither_textual_nor_torch():
    """Each browser's app is a process of its own; the server stays small."""
    code = ("import sys, tuidl.cli, tuidl.serve\nfrom textual_serve.server import Server\n"
            "print([m for m in ('textual', 'torch') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=DEADLINE).stdout
    assert out.strip() == "[]"
