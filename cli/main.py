"""`huma-entra-sync`: the one console script, for people and cron (SPEC §11)."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    from emulators.cli import add_up_arguments

    parser = argparse.ArgumentParser(
        prog="huma-entra-sync",
        description="Keep Huma employees and Microsoft Entra ID users in agreement.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    emulators = commands.add_parser(
        "emulators",
        help="run local emulators of Huma and Entra ID / Microsoft Graph until stopped",
        description="Start the Huma and Entra/Graph emulators over HTTPS and print, as export "
        "lines, the environment a client needs to reach them.",
    )
    add_up_arguments(emulators)
    demo = commands.add_parser(
        "demo",
        help="start the emulators with a generated company and show what a run would do",
        description="The embedded default: emulators of Huma and Entra ID / Graph, a generated "
        "company, the real clients and the reconciliation engine.",
    )
    from cli.demo import add_arguments as add_demo_arguments

    add_demo_arguments(demo)
    login = commands.add_parser(
        "login",
        help="sign in once to Entra ID for the 'with user account' authorization type",
        description="Sign in with a device code (a page to open in any browser and a code to "
        "enter) and keep the token cache in a file only you can read; runs then act as you.",
    )
    from cli.login import add_arguments as add_login_arguments

    add_login_arguments(login)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "emulators":
        from emulators.cli import run_up

        return run_up(args)
    if args.command == "demo":
        from cli.demo import run as run_demo

        return run_demo(args)
    if args.command == "login":
        from cli.login import run as run_login

        return run_login(args)
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
