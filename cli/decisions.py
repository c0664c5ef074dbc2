"""`huma-entra-sync decisions list|approve|reject`: people decide the changes that wait for them.

The rows awaiting a person are those of the connection's latest run (SPEC §7: conflicts,
inconsistencies, creates, Entra → Huma updates), `pending` or `stale` (a decision made on values
that moved since is asked again). A decision is stored in the history with who made it, when,
an optional comment and, for a conflict, the winning side; it takes effect on the next run, which
applies it only while both sides still hold the values it was made on.

Selecting: `--id` (repeatable; any unique prefix of 6 or more characters) picks rows whether or
not someone decided them since the run (the latest decision counts); `--user`, `--kind` and
`--all` pick the rows nobody decided yet, and combine (`--all --kind create`). On a terminal the
command shows what it will record and asks; otherwise (cron, scripts) it never asks.
Exit codes: 0 recorded (or `--all` found nothing waiting: said, and success, since scripts and
cron call it unconditionally), 1 failed or only partly recorded, 2 usage, or an `--id`, `--user`
or `--kind` that matched nothing.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from cli.console import FAILED, OK, USAGE, CommandError, fail
from reconcile.vocabulary import (
    APPROVE,
    ENTRA,
    HUMA,
    KIND_CONFLICT,
    KIND_CREATE,
    KIND_ENTRA_TO_HUMA,
    KIND_INCONSISTENCY,
    KIND_MISSING_VALUE,
    KIND_RECREATE,
    REJECT,
    RESOLVE_CONFLICT,
)

if TYPE_CHECKING:
    import polars as pl

    from resources.history import HistoryStore

KINDS = (
    KIND_CONFLICT,
    KIND_INCONSISTENCY,
    KIND_MISSING_VALUE,
    KIND_ENTRA_TO_HUMA,
    KIND_CREATE,
    KIND_RECREATE,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list",
        help="the changes waiting for a decision",
        description="List the latest run's changes that wait for a person, with any decision "
        "recorded since (it takes effect on the next run).",
    )
    _filters(listing)
    listing.add_argument(
        "--undecided", action="store_true", help="leave out rows someone decided since the run"
    )
    listing.add_argument("--format", choices=("table", "json"), default="table")
    for verdict in (APPROVE, REJECT):
        sub = actions.add_parser(
            verdict,
            help=f"{verdict} waiting changes",
            description=f"Record a decision to {verdict} waiting changes; it takes effect on "
            "the next run.",
        )
        _filters(sub)
        sub.add_argument(
            "--id",
            action="append",
            default=[],
            metavar="ID",
            help="a change id (repeatable; a unique prefix of 6+ characters will do)",
        )
        sub.add_argument(
            "--all", action="store_true", help="every waiting change nobody decided yet"
        )
        if verdict == APPROVE:
            sub.add_argument(
                "--winner",
                choices=(HUMA, ENTRA),
                help="for a conflict: the side whose value is kept (required to approve one)",
            )
        sub.add_argument("--comment", help="why, kept with the decision")
        sub.add_argument("--by", help="who decides (default: your user name)")
        sub.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connection", help="the connection (default: the only one)")
    parser.add_argument("--kind", choices=KINDS, help="only changes of this kind")
    parser.add_argument("--user", metavar="EMAIL|ID", help="only this user's changes")


def run(args: argparse.Namespace) -> int:
    """List or decide; returns the exit code."""
    from resources.history import HistoryError

    try:
        if args.action == "list":
            return _list(args)
        return _decide(args)
    except HistoryError as exc:
        return fail(CommandError(str(exc)))
    except CommandError as exc:
        return fail(exc)


def _waiting(
    store: HistoryStore,
    connection: str,
    *,
    kind: str | None = None,
    user: str | None = None,
    undecided_only: bool,
) -> pl.DataFrame:
    """The rows awaiting a person, with the comment of the decision recorded since, if any."""
    import polars as pl

    rows = store.pending_decisions(
        connection=connection, kind=kind, user=user, undecided_only=undecided_only
    )
    comments = store.decisions(connection=connection).select(
        "change_id",
        pl.col("decided_at").alias("latest_decided_at"),
        pl.col("comment").alias("latest_comment"),
    )
    latest = comments.unique(["change_id", "latest_decided_at"], keep="last")
    return rows.join(latest, on=["change_id", "latest_decided_at"], how="left", nulls_equal=False)


def _people(store: HistoryStore, connection: str) -> dict[str, str]:
    """Entra object id → email of the accounts the connection's latest full snapshot holds: a
    manager among the values reads as a person, not as an id."""
    accounts = store.latest_full_columns(
        connection=connection, huma_columns=("huma_id",), entra_columns=("entra_id", "email_key")
    )[1].drop_nulls()
    return dict(accounts.iter_rows())


def _list(args: argparse.Namespace) -> int:
    from cli.console import choose_connection, open_history
    from cli.decision_views import as_json, table

    connection = choose_connection(args.connection).name
    store = open_history(write=False)
    rows = _waiting(
        store,
        connection,
        kind=args.kind,
        user=args.user,
        undecided_only=args.undecided,
    )
    if args.format == "json":
        print(as_json(rows.iter_rows(named=True)))
        return OK
    if rows.height == 0:
        print(f"Nothing in connection {connection} waits for a decision that matches.")
        return OK
    print(
        f"Connection {connection}, run {rows.item(0, 'run_id')}: "
        f"{rows.height} change(s) wait for a decision"
    )
    print(table(rows.iter_rows(named=True), _people(store, connection)))
    print(
        f"\nDecide with: huma-entra-sync decisions approve|reject --connection {connection} "
        "--id ID (a conflict needs --winner huma|entra), or --user, --kind, --all."
    )
    return OK


def _by_ids(waiting: pl.DataFrame, ids: list[str]) -> pl.DataFrame:
    """The rows the ids (or unique prefixes) name; refuses unknown, short or ambiguous ones."""
    import polars as pl

    from cli.decision_views import MIN_ID_PREFIX

    chosen, problems = [], []
    every = waiting.get_column("change_id").to_list()
    for wanted in dict.fromkeys(ids):
        matches = [cid for cid in every if cid.startswith(wanted)]
        if len(wanted) < MIN_ID_PREFIX and wanted not in every:
            problems.append(f"{wanted} (give at least {MIN_ID_PREFIX} characters)")
        elif not matches:
            problems.append(f"{wanted} (not waiting for a decision in the latest run)")
        elif len(matches) > 1:
            problems.append(f"{wanted} (matches {len(matches)} changes: give more characters)")
        else:
            chosen.append(matches[0])
    if problems:
        raise CommandError("no such waiting change: " + "; ".join(problems), USAGE)
    return waiting.filter(pl.col("change_id").is_in(chosen))


def _decide(args: argparse.Namespace) -> int:
    from cli.console import choose_connection, interactive, open_history, os_user

    verdict = args.action
    winner = getattr(args, "winner", None)
    if args.id and (args.all or args.user or args.kind):
        raise CommandError("--id names the changes itself: leave out --all, --user, --kind", USAGE)
    if not (args.id or args.all or args.user or args.kind):
        raise CommandError("say which changes: --id ID, --user, --kind, or --all", USAGE)
    connection = choose_connection(args.connection).name
    reader = open_history(write=False)
    if args.id:
        chosen = _by_ids(_waiting(reader, connection, undecided_only=False), args.id)
    else:
        chosen = _waiting(reader, connection, kind=args.kind, user=args.user, undecided_only=True)
    if chosen.height == 0:
        if args.all:
            # Scripts and cron run `--all` whether or not anything waits: nothing is success.
            print(f"Nothing in connection {connection} waits for a decision{_selection(args)}.")
            return OK
        raise CommandError(
            f"nothing in connection {connection} waits for a decision that matches", USAGE
        )
    recordable, without_winner = _split_conflicts(chosen, verdict, winner, by_id=bool(args.id))
    by = args.by or os_user()
    asking = interactive(yes=args.yes)
    if asking:
        from cli.decision_views import table

        if without_winner:
            print(f"Not approved, for want of --winner: {without_winner}")
        print(f"To record in connection {connection}: {verdict} by {by}")
        print(table(recordable.iter_rows(named=True), _people(reader, connection)))
        if not _confirm_recording(recordable.height, verdict):
            print("Nothing was recorded.")
            return FAILED
    _record(open_history(write=True), connection, recordable, verdict, winner, by, args.comment)
    if without_winner and not asking:
        print(
            f"huma-entra-sync: not approved, for want of --winner: {without_winner}",
            file=sys.stderr,
        )
        return FAILED
    return OK


def _selection(args: argparse.Namespace) -> str:
    """The filters that narrowed `--all`, as words (`" of kind create"`), or nothing."""
    parts = [f" of kind {args.kind}"] if args.kind else []
    parts += [f" for {args.user}"] if args.user else []
    return "".join(parts)


def _split_conflicts(
    chosen: pl.DataFrame, verdict: str, winner: str | None, *, by_id: bool
) -> tuple[pl.DataFrame, str]:
    """The rows to record, and what is left out: the choices between the two sides' values
    (conflicts, inconsistencies) an approval without `--winner` cannot settle.

    Raises:
        CommandError: Such rows named by id, or nothing but such rows, without a winner.
    """
    import polars as pl

    if verdict != APPROVE or winner is not None:
        return chosen, ""
    choice = pl.col("action") == RESOLVE_CONFLICT
    ids = chosen.filter(choice).get_column("change_id").to_list()
    if not ids:
        return chosen, ""
    left_out = (
        f"{len(ids)} change(s) choosing between Huma's and Entra's value ("
        + ", ".join(cid[:12] for cid in ids)
        + "): add --winner huma (keep Huma's value) or --winner entra (keep Entra's)"
    )
    rest = chosen.filter(~choice)
    if by_id or rest.height == 0:
        raise CommandError(f"approving needs the winning side: {left_out}", USAGE)
    return rest, left_out


def _confirm_recording(count: int, verdict: str) -> bool:
    from cli.console import confirm

    return confirm(f"Record {count} decision(s) to {verdict}?")


def _record(
    store: HistoryStore,
    connection: str,
    rows: pl.DataFrame,
    verdict: str,
    winner: str | None,
    by: str,
    comment: str | None,
) -> None:
    from datetime import UTC, datetime

    import polars as pl

    from reconcile.human_decisions import decision_row

    decided_at = datetime.now(UTC)
    frames = [
        decision_row(
            row,
            verdict=verdict,
            decided_at=decided_at,
            decided_by=by,
            winner=winner if row["action"] == RESOLVE_CONFLICT else None,
            comment=comment,
        )
        for row in rows.iter_rows(named=True)
    ]
    store.record_decisions(connection=connection, decisions=pl.concat(frames))
    from assets.printable import printable

    note = f" ({comment.strip()})" if comment and comment.strip() else ""
    print(f"Recorded {len(frames)} decision(s) to {verdict} by {by}{note}:")
    for row in rows.iter_rows(named=True):
        side = f", {winner} wins" if winner and row["action"] == RESOLVE_CONFLICT else ""
        who = printable(row["email_key"] or row["huma_id"] or row["entra_id"] or "")
        fields = ", ".join(row["fields"] or [])
        print(f"  {row['change_id']}  {row['decision_kind']}  {who}  {fields}{side}")
    print(
        f"They take effect on the next run of connection {connection} "
        "(the nightly schedule, or `huma-entra-sync run`)."
    )
