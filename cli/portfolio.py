"""`pathway portfolio [DIR] [--runs 3,5]`: Markdown and one HTML page from your own lab runs and study."""

from __future__ import annotations

import argparse
from pathlib import Path

from pathway.errors import PathwayError
from pathway.i18n import _


def add_parsers(sub: argparse._SubParsersAction) -> None:
    portfolio = sub.add_parser("portfolio", help=_("write a portfolio (Markdown + HTML) from your lab runs and study"))
    portfolio.add_argument("folder", nargs="?", default="portfolio", help=_("where to write (default ./portfolio)"))
    portfolio.add_argument("--runs", help=_("run ids, comma-separated (default: the runs marked with p on the Labs screen)"))
    portfolio.set_defaults(handler=run_portfolio)


def parse_run_ids(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(word) for word in text.split(",") if word.strip()]
    except ValueError:
        raise PathwayError(f"--runs {text!r}: give run ids separated by commas, e.g. --runs 3,5 (`pathway lab status` lists them).") from None


def run_portfolio(args: argparse.Namespace) -> int:
    from pathway.content.loader import load_course
    from pathway.db.engine import open_database
    from pathway.home import resolve_home
    from pathway.portfolio import choose_runs, write_portfolio

    engine = open_database(resolve_home(args.home), allow_read_only=True)  # only reads
    runs, how = choose_runs(engine, parse_run_ids(args.runs))
    files = write_portfolio(engine, load_course(args.content_dir), runs, Path(args.folder), how_chosen=how)
    print(f"Wrote {Path(args.folder) / 'portfolio.md'} and portfolio.html ({len(files) - 2} charts) from runs "
          + ", ".join(str(run.id) for run in runs) + f": {how}.")
    return 0
