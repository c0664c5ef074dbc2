"""`huma-entra-sync emulators`: the emulators' `up` command (see `emulators.cli`)."""

from __future__ import annotations

import argparse

from emulators.cli import add_up_arguments, run_up


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_up_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_up(args)
