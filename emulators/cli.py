"""The emulators' command line: `serve NAME` runs one emulator, `up` runs both.

`up` is what `huma-entra-sync emulators` runs: it prints the client environment as `export` lines
on stdout (so `eval "$(huma-entra-sync emulators ...)"` works from another shell with the process
left running) and serves until stopped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from emulators.launcher import Emulators, export_lines, wait_until_signalled
from emulators.serve import EMULATORS, serve

DEFAULT_STATE_DIR = Path("var/emulators")


def add_up_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `up` (shared with the product's `huma-entra-sync emulators`)."""
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="folder for the local CA and the state files (default: %(default)s)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--huma-port", type=int, default=0, help="Huma's port (0: any free)")
    parser.add_argument(
        "--entra-port", type=int, default=0, help="Entra/Graph's port (0: any free)"
    )
    parser.add_argument(
        "--users",
        type=int,
        default=50,
        help="users to generate when the state folder holds no state yet",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated users")
    parser.add_argument(
        "--fresh", action="store_true", help="generate new state even when the folder holds some"
    )
    parser.add_argument(
        "--huma-settings",
        type=orjson.loads,
        default=None,
        help='Huma emulator settings as JSON, e.g. \'{"faults": {"error_rate": 0.05}}\'',
    )
    parser.add_argument(
        "--entra-settings",
        type=orjson.loads,
        default=None,
        help="Entra/Graph emulator settings as JSON",
    )


def run_up(args: argparse.Namespace) -> int:
    """Start both emulators, print the environment, serve until stopped."""
    huma_state = args.state_dir / "huma-state.json"
    entra_state = args.state_dir / "entra-state.json"
    if args.fresh or not (huma_state.exists() and entra_state.exists()):
        from emulators.data import write_world  # the generator is only needed here

        write_world(args.state_dir, users=args.users, seed=args.seed)
    emulators = Emulators(
        state_dir=args.state_dir,
        huma_state=huma_state,
        entra_state=entra_state,
        host=args.host,
        huma_port=args.huma_port,
        entra_port=args.entra_port,
        huma_settings=args.huma_settings,
        entra_settings=args.entra_settings,
        persist=True,
    ).start()
    sys.stdout.write(export_lines(emulators.environment()))
    sys.stdout.flush()
    wait_until_signalled(emulators)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulators", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    one = commands.add_parser("serve", help="run one emulator in this process")
    one.add_argument("name", choices=sorted(EMULATORS))
    one.add_argument("--host", default="127.0.0.1")
    one.add_argument("--port", type=int, default=0)
    one.add_argument("--tls-dir", type=Path, required=True)
    one.add_argument("--state-file", type=Path)
    one.add_argument("--settings", type=orjson.loads, default=None)
    one.add_argument(
        "--persist", action="store_true", help="write the state back to --state-file on exit"
    )

    add_up_arguments(commands.add_parser("up", help="run both emulators until stopped"))

    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(
            args.name,
            host=args.host,
            port=args.port,
            tls_dir=args.tls_dir,
            state_file=args.state_file,
            settings=args.settings,
            persist=args.persist,
        )
        return 0
    return run_up(args)
