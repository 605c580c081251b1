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
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from pathway import __version__
from pathway.errors import PathwayError
from pathway.i18n import N_, _, language_from_environment, set_language

Handler = Callable[[argparse.Namespace], int]

# command -> (module with add_parsers(sub), one-line help for the top-level listing)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "lab": ("pathway.cli.labs", N_("list, run, watch, stop and resume PyTorch labs")),
    "content": ("pathway.cli.content", N_("check the course content")),
    "stats": ("pathway.cli.progress", N_("print progress: lessons done, streak, activity")),
    "plan": ("pathway.cli.progress", N_("the 24-week plan: on track, behind or ahead, and what to do this week")),
    "export": ("pathway.cli.progress", N_("write all progress to a JSON file")),
    "import": ("pathway.cli.progress", N_("load progress from a file written by `pathway export`")),
    "serve": ("pathway.cli.serve", N_("run pathway in a web browser")),
    "portfolio": ("pathway.cli.portfolio", N_("write a portfolio (Markdown + HTML) from your lab runs and study")),
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
        description=_("From big-data engineer to AI/LLM engineer: lessons, interview quizzes, live labs."),
    )
    parser.add_argument("--version", action="version", version=f"pathway {__version__}")
    parser.add_argument("--home", help=_("directory for the database and lab runs (default: PATHWAY_HOME or the user data dir)"))
    parser.add_argument("--content-dir", help=argparse.SUPPRESS)  # course content folder; tests point it at fixtures
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    command = requested_command(argv)
    wants_help = command is None and any(word in ("-h", "--help") for word in argv)
    chosen = {module for name, (module, _help) in SUBCOMMANDS.items() if wants_help or name == command}
    for module in dict.fromkeys(module for module, _help in SUBCOMMANDS.values()):  # in table order, once each
        if module in chosen:
            importlib.import_module(module).add_parsers(sub)
    for name, (module, help_text) in SUBCOMMANDS.items():
        if name not in sub.choices:  # the others: listed in usage, loaded only when named
            sub.add_parser(name, help=_(help_text))
    return parser


def cli_language(argv: Sequence[str], environ=os.environ) -> str:
    """The language of the command's messages: LC_ALL when set (it overrides everything, as for any
    gettext program), else Chinese when the learner chose it in the app (Ctrl+L), else what
    LC_MESSAGES or LANG ask for, else English."""
    from pathway.db.glance import progress_glance

    forced = language_from_environment({"LC_ALL": environ.get("LC_ALL", "")})
    if forced is not None:
        return forced
    words = list(argv)
    explicit = words[words.index("--home") + 1] if "--home" in words[:-1] else None
    chosen = explicit or environ.get("PATHWAY_HOME")
    if chosen is None:
        from platformdirs import user_data_dir

        chosen = user_data_dir("pathway", appauthor=False)
    glance = progress_glance(Path(chosen).expanduser())  # read-only and cheap: creates nothing
    if glance is not None and glance.language == "zh":
        return "zh"
    return language_from_environment(environ) or "en"


def run_tui(args: argparse.Namespace) -> int:
    from pathway.tui.app import make_app

    app = make_app(home=args.home, content_dir=args.content_dir)
    app.run()
    return app.return_code or 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if requested_command(argv) is not None or any(word in ("-h", "--help") for word in argv):
        # Headless output only: the TUI reads the saved setting itself, off its first frame.
        set_language(cli_language(argv))
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
