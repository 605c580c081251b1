"""`pathway serve [--host 127.0.0.1] [--port 8000]`: the app in a web browser, through textual-serve.

Each browser tab gets its own `pathway` process on the same home, as two terminals
would; the database takes concurrent writers (WAL, busy timeout), so two tabs
answering at once lose nothing. textual-serve has no authentication: whoever
reaches the port gets a pathway with your progress, so it binds to loopback unless
told otherwise, and says what that means when it is.
"""

from __future__ import annotations

import argparse
import ipaddress
import shlex
import socket
import sys

from pathway.errors import PathwayError
from pathway.i18n import _
from pathway.home import resolve_home


def add_parsers(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help=_("run pathway in a web browser (each tab its own session, same progress)"))
    serve.add_argument("--host", default="127.0.0.1", help=_("address to listen on (default 127.0.0.1: this machine only)"))
    serve.add_argument("--port", type=int, default=8000, help=_("port to listen on (default 8000)"))
    serve.set_defaults(handler=run_serve)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def app_command(args: argparse.Namespace) -> str:
    """The shell command textual-serve starts for each tab: this Python, this home, this content."""
    words = [sys.executable, "-m", "pathway", "--home", str(resolve_home(args.home))]
    if args.content_dir:
        words += ["--content-dir", str(args.content_dir)]
    return shlex.join(words)


def check_port_free(host: str, port: int) -> None:
    """Fail before textual-serve starts: its own error for a taken port is a traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PathwayError(
                f"Cannot listen on {host}:{port}: {exc.strerror or exc}. Another program may hold the port: "
                f"pick another with --port, or check --host is an address of this machine."
            ) from None


def run_serve(args: argparse.Namespace) -> int:
    from textual_serve.server import Server

    if not 0 < args.port < 65536:
        raise PathwayError(f"--port {args.port} is not a port: use 1-65535 (default 8000).")
    if not is_loopback(args.host):
        print(
            f"pathway: warning: serving on {args.host}, not only this machine. textual-serve has no login: anyone "
            "who can reach this port gets a pathway session with your progress and can start lab jobs on this "
            "machine. Serve on 127.0.0.1 (the default) and reach it through an SSH tunnel "
            f"(ssh -L {args.port}:127.0.0.1:{args.port} HOST) unless this network is yours alone.",
            file=sys.stderr,
        )
    check_port_free(args.host, args.port)
    command = app_command(args)
    Server(command, host=args.host, port=args.port, title="pathway").serve()
    return 0
