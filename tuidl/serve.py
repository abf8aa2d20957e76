"""`tuidl serve`: the same app in a web browser, through textual-serve.

textual-serve is a small web server (aiohttp): its page runs a terminal in the browser, and
every browser that opens it gets an app of its own, started as `python -m tuidl [FILE]` on
this machine (with its own training process). The server itself imports neither Textual
nor torch.

It binds to the loopback address unless told otherwise: an app in a browser can read and
write files where the server runs (ctrl+s saves here), so opening it to a network is a
choice to make on purpose (`--host 0.0.0.0`), on a network one trusts.
"""
from __future__ import annotations

import errno
import ipaddress
import shlex
import socket
import sys

import click

LOOPBACK = "127.0.0.1"
WILDCARD = {"0.0.0.0", "::", ""}


class ServeError(Exception):
    """Why the server cannot start, in one line."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_port(host: str, port: int) -> None:
    """Bind the address once, as the server will (SO_REUSEADDR, as aiohttp does on Unix), so
    that a port in use or an address that is not this machine's is said in one line before
    anything starts."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise ServeError(f"--host {host!r}: not an address of this machine ({err.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        if sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as err:
            raise ServeError(bind_message(host, port, err)) from None


def bind_message(host: str, port: int, err: OSError) -> str:
    if err.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use (another tuidl serve, or another server): pick another with --port"
    if err.errno == errno.EACCES:
        return f"port {port} on {host}: permission denied (ports below 1024 need privileges): pick one above 1024 with --port"
    if err.errno == errno.EADDRNOTAVAIL:
        return f"--host {host}: not an address of this machine"
    return f"cannot listen on {host} port {port}: {err.strerror or err}"


def app_command(file: str | None) -> str:
    """The shell command that starts one app for one browser."""
    parts = [sys.executable, "-m", "tuidl"]
    if file:
        parts.append(file)
    return " ".join(shlex.quote(p) for p in parts)


def app_environment() -> None:
    """Each app is `python -m tuidl`: it must import this tuidl. A source tree run in place
    (not installed) is put on the apps' PYTHONPATH; an installed tuidl is found anyway."""
    import os
    import site
    from pathlib import Path

    import tuidl

    root = str(Path(tuidl.__file__).resolve().parent.parent)
    installed = {str(Path(d).resolve()) for d in [*site.getsitepackages(), site.getusersitepackages()]}
    if root not in installed:
        paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        if root not in paths:
            os.environ["PYTHONPATH"] = os.pathsep.join([root, *paths])


def public_url(host: str, port: int, given: str | None) -> str:
    """The address browsers use: the page's terminal connects back to it."""
    if given:
        return given.rstrip("/")
    if host in WILDCARD:
        host = socket.gethostname()
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"http://{host}:{port}"


def serve(host: str, port: int, file: str | None, url: str | None = None) -> None:
    """Serve the app until ctrl+c (or SIGTERM). ServeError: it could not start."""
    try:
        from textual_serve.server import Server
    except ImportError:
        raise ServeError("tuidl serve needs the textual-serve package: pip install textual-serve") from None

    check_port(host, port)
    address = public_url(host, port, url)

    class TuidlServer(Server):
        async def on_startup(self, app) -> None:  # one line with the URL instead of the logo
            click.echo(f"tuidl: serving the app at {address}  (ctrl+c stops)")
            if not is_loopback(host):
                click.echo(f"tuidl: listening on {host or 'every address'}: anyone who can reach this machine "
                           "can open it, and its files are this machine's", err=True)

    app_environment()
    server = TuidlServer(app_command(file), host=host, port=port, title="tuidl", public_url=address)
    try:
        server.serve()
    except OSError as err:  # lost the port between the check and the server's bind
        raise ServeError(bind_message(host, port, err)) from None
