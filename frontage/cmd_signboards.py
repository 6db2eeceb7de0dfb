"""`frontage` subcommands for the district register (signboards); filled in by the register work."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add this module's subcommands to the `frontage` parser."""
