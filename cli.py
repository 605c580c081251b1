"""The `pathway` command: the TUI by default, the same capabilities headless as subcommands.

Exit codes: 0 success, 1 the work failed, 2 bad usage or bad input.
A PathwayError becomes one paragraph on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from pathway import __version__
from pathway.errors import PathwayError

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pathway",
        description="From big-data engineer to AI/LLM engineer: lessons, interview quizzes, live labs.",
    )
    parser.add_argument("--version", action="version", version=f"pathway {__version__}")
    parser.add_argument("--home", help="directory for the database and lab runs (default: PATHWAY_HOME or the user data dir)")
    parser.add_argument("--content-dir", help=argparse.SUPPRESS)  # course content folder; tests point it at fixtures
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    from pathway.content import commands as content_commands
    from pathway.db import commands as db_commands

    content_commands.add_parsers(sub)
    db_commands.add_parsers(sub)
    try:
        from pathway.labs import commands as lab_commands
    except ImportError:  # labs are optional while they are being built
        lab_commands = None
    if lab_commands is not None:
        lab_commands.add_parsers(sub)
    return parser


def run_tui(args: argparse.Namespace) -> int:
    from pathway.tui.app import make_app

    app = make_app(home=args.home, content_dir=args.content_dir)
    app.run()
    return app.return_code or 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = getattr(args, "handler", run_tui)
    try:
        return handler(args)
    except PathwayError as exc:
        print(f"pathway: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
