"""The command line: `main` is the `pathway` entry point (see `pathway.cli.main`)."""

from pathway.cli.main import main

__all__ = ["main"]
