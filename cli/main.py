"""The `pathway` command: the TUI by default, the same capabilities headless as subcommands.

Exit codes: 0 success, 1 the work failed, 2 bad usage or bad input.
A PathwayError becomes one paragraph on stderr, never a traceback.

Subcommands load lazily: each lives in its own module, imported only when its
name is on the command line (or for `--help`), so `pathway` alone imports no
more than the TUI's first frame needs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Callable, Sequence

from pathway import __version__
from pathway.errors import PathwayError

Handler = Callable[[argparse.Namespace], int]

# command -> (module with add_parsers(sub), one-line help for the top-level listing)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "lab": ("pathway.cli.labs", "list, run, watch, stop and resume PyTorch labs"),
    "content": ("pathway.cli.content", "check the course content"),
    "stats": ("pathway.cli.progress", "print progress: lessons done, streak, activity"),
    "plan": ("pathway.cli.progress", "the 24-week plan: on track, behind or ahead, and what to do this week"),
    "export": ("pathway.cli.progress", "write all progress to a JSON file"),
    "import": ("pathway.cli.progress", "load progress from a file written by `pathway export`"),
    "serve": ("pathway.cli.serve", "run pathway in a web browser"),
    "portfolio": ("pathway.cli.portfolio", "write a portfolio (Markdown + HTML) from your lab runs and study"),
}
_OPTIONS_WITH_VALUE = {"--home", "--content-dir"}


def requested_command(argv: Sequence[str]) -> str | None:
    """The subcommand named in `argv` (the first word that is not a global option or its value)."""
    words = iter(argv)
    for word in words:
        if word in _OPTIONS_WITH_VALUE:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser for `argv`: the named subcommand fully, the others as one-line entries (all fully for help)."""
    parser = argparse.ArgumentParser(
        prog="pathway",
        description="From big-data engineer to AI/LLM engineer: lessons, interview quizzes, live labs.",
    )
    parser.add_argument("--version", action="version", version=f"pathway {__version__}")
    parser.add_argument("--home", help="directory for the database and lab runs (default: PATHWAY_HOME or the user data dir)")
    parser.add_argument("--content-dir", help=argparse.SUPPRESS)  # course content folder; tests point it at fixtures
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    command = requested_command(argv)
    wants_help = command is None and any(word in ("-h", "--help") for word in argv)
    chosen = {module for name, (module, _) in SUBCOMMANDS.items() if wants_help or name == command}
    for module in dict.fromkeys(module for module, _ in SUBCOMMANDS.values()):  # in table order, once each
        if module in chosen:
            importlib.import_module(module).add_parsers(sub)
    for name, (module, help_text) in SUBCOMMANDS.items():
        if name not in sub.choices:  # the others: listed in usage, loaded only when named
            sub.add_parser(name, help=help_text)
    return parser


def run_tui(args: argparse.Namespace) -> int:
    from pathway.tui.app import make_app

    app = make_app(home=args.home, content_dir=args.content_dir)
    app.run()
    return app.return_code or 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    handler: Handler = getattr(args, "handler", run_tui)
    try:
        return handler(args)
    except PathwayError as exc:
        print(f"pathway: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
