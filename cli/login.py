"""`huma-entra-sync login`: sign in once for the "with user account" authorization type.

Runs Entra's device-code flow: prints Entra's instructions (a page to open in any browser and a
code to enter there), waits until the person has signed in, and keeps MSAL's token cache in a
file only they can read. From then on runs get their tokens from it silently
(`GraphResource(auth_type="user_account")`), until the sign-in is revoked or unused for 90 days.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from assets.printable import printable
from resources.errors import RemoteError
from resources.graph_auth import MICROSOFT_AUTHORITY_HOST
from resources.graph_user_auth import DelegatedTokenProvider, default_token_cache_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tenant-id",
        default=os.environ.get("ENTRA_TENANT_ID"),
        help="the Directory (tenant) ID (default: $ENTRA_TENANT_ID)",
    )
    parser.add_argument(
        "--client-id",
        default=os.environ.get("ENTRA_CLIENT_ID"),
        help="the app registration's Application (client) ID (default: $ENTRA_CLIENT_ID)",
    )
    parser.add_argument(
        "--authority-host",
        default=os.environ.get("ENTRA_AUTHORITY_HOST") or MICROSOFT_AUTHORITY_HOST,
        help="the Entra ID authority (default: $ENTRA_AUTHORITY_HOST or "
        f"{MICROSOFT_AUTHORITY_HOST})",
    )
    parser.add_argument(
        "--token-cache",
        metavar="PATH",
        help="where to keep the token cache (default: "
        "~/.config/huma-entra-sync/<tenant>-<client>.json)",
    )


def run(args: argparse.Namespace) -> int:
    """Sign in; returns the process exit code (0 signed in, 1 refused, 2 misconfigured)."""
    if not args.tenant_id or not args.client_id:
        print(
            "huma-entra-sync login: give --tenant-id and --client-id "
            "(or set ENTRA_TENANT_ID and ENTRA_CLIENT_ID)",
            file=sys.stderr,
        )
        return 2
    path = (
        Path(args.token_cache).expanduser()
        if args.token_cache
        else default_token_cache_path(args.tenant_id, args.client_id)
    )
    provider = DelegatedTokenProvider(
        tenant_id=args.tenant_id,
        client_id=args.client_id,
        cache_path=path,
        authority_host=args.authority_host,
    )
    # Entra's instructions, its errors and the account name are shown, never obeyed, by the
    # terminal: no escape sequence of theirs reaches it.
    try:
        user = provider.login(
            show=lambda message: print(printable(message, keep_lines=True), flush=True)
        )
    except RemoteError as exc:
        print(f"Sign-in failed: {printable(str(exc), keep_lines=True)}", file=sys.stderr)
        return 1
    print(
        f"Signed in as {printable(str(user))}; the token cache is at {path} (readable by you only)."
    )
    return 0
