"""`huma-entra-sync rollback RUN_ID`: undo the field changes a run applied, where still safe.

Reads the run's journal, plans the inverse of each applied PATCH from its before-values, re-reads
every target and shows the plan: what will be restored, what is already as before, what is
refused because a value moved since (someone else's change now, left alone), and what is never
undone (created users: nothing is ever deleted). It applies the plan only when confirmed (`--yes`,
or "yes" on a terminal; without a terminal it never asks and applies nothing without `--yes`),
as a run of its own in the history (`assets.rollback.execute`).

Unless it is a dry run, it holds the connection's run lock (`resources.run_lock`, the lock the
console's `run` takes) from the start, and refuses at once, naming the holder, while another
`run` or rollback of the connection holds it or the Dagster instance has a run of the connection
in progress; runs that start meanwhile refuse in turn (`assets.run_exclusion`). A rollback of the
same run that was interrupted is finished first (`assets.rollback.resume`).
Exit codes: 0 everything is back as before the run, 1 something was refused, failed or not
confirmed, 2 usage (no such run, a dry run, a run not settled yet).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from cli.console import FAILED, OK, USAGE, CommandError, fail

if TYPE_CHECKING:
    from assets.rollback.plan import Judged, NotUndone
    from pipelines.connections import Connection
    from resources.graph import GraphResource
    from resources.history import HistoryStore, RunRecord
    from resources.huma import HumaResource


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", metavar="RUN_ID", help="the run to undo (its report names it)")
    parser.add_argument("--dry-run", action="store_true", help="show the plan; change nothing")
    parser.add_argument(
        "--yes", action="store_true", help="apply without asking (needed without a terminal)"
    )


def run(args: argparse.Namespace) -> int:
    """Plan, show and (when confirmed) apply the rollback; returns the exit code."""
    from resources.errors import RemoteError
    from resources.history import HistoryError
    from resources.run_lock import RunInProgress

    try:
        return _rollback(args)
    except CommandError as exc:
        return fail(exc)
    except RunInProgress as exc:
        return fail(CommandError(str(exc), FAILED))
    except (HistoryError, RemoteError) as exc:
        return fail(CommandError(str(exc)))


@contextlib.contextmanager
def _exclusive(connection: str, *, run_id: str, rollback_of: str) -> Iterator[None]:
    """Hold the connection's run lock for rollback `run_id`, refusing while a run of the
    connection is in progress in the Dagster instance (one the schedule or the UI launched).

    Raises:
        RunInProgress: Another console run or rollback holds the lock.
        CommandError: The instance has a run of the connection in progress.
    """
    from assets.run_exclusion import refusal, running_before
    from cli.console import dagster_instance, history_path
    from resources.run_lock import connection_run_lock, run_lock_folder

    activity = f"rollback of run {rollback_of}"
    with connection_run_lock(
        run_lock_folder(history_path()), connection, run_id=run_id, activity=activity
    ):
        running = running_before(dagster_instance(), connection, run_id=None)
        if running is not None:
            text = refusal(connection, running).replace("this run stopped", "the rollback stopped")
            raise CommandError(text, FAILED)
        yield


def _undoable(store: HistoryStore, run_id: str) -> RunRecord:
    """The run's record, when it is a finished, settled run that wrote something.

    Raises:
        CommandError: No such run, a dry run, or a run whose outcome is not known yet.
    """
    import polars as pl

    from resources.history import DRY_RUN

    record = store.run(run_id=run_id)
    if record is None:
        raise CommandError(f"no run {run_id} in the history {store.path}", USAGE)
    if record.mode == DRY_RUN:
        raise CommandError(f"run {run_id} was a dry run: it wrote nothing to undo", USAGE)
    unsettled = store.journal(run_id=run_id).filter(
        pl.col("status").is_null() | (pl.col("status") == "unknown")
    )
    if record.ended_at is None or unsettled.height:
        raise CommandError(
            f"run {run_id} has not finished, or some of its changes have no known outcome "
            "(an interrupted run): the connection's next run settles them by re-reading the "
            "targets; roll back after it",
            USAGE,
        )
    return record


@contextlib.contextmanager
def _clients(connection: Connection) -> Iterator[tuple[HumaResource, GraphResource]]:
    """The connection's Huma and Graph resources, configured as its runs configure them."""
    import dagster as dg

    from assets.keys import graph_resource_key, huma_resource_key
    from pipelines.resources import connection_resources

    keys = (huma_resource_key(connection.name), graph_resource_key(connection.name))
    resources = connection_resources(connection)
    with dg.build_resources({key: resources[key] for key in keys}) as built:
        yield getattr(built, keys[0]), getattr(built, keys[1])


def _rollback(args: argparse.Namespace) -> int:
    from cli.console import choose_connection, open_history

    reader = open_history(write=False)
    record = _undoable(reader, args.run_id)
    connection = choose_connection(record.connection)
    run_id = str(uuid.uuid4())
    with contextlib.ExitStack() as held:
        if not args.dry_run:  # a dry run only reads: it never keeps a run out
            lock = _exclusive(connection.name, run_id=run_id, rollback_of=record.run_id)
            held.enter_context(lock)
        return _plan_and_apply(args, reader, record, connection, run_id)


def _plan_and_apply(
    args: argparse.Namespace,
    reader: HistoryStore,
    record: RunRecord,
    connection: Connection,
    run_id: str,
) -> int:
    from assets.rollback.execute import execute_rollback, judge_all
    from assets.rollback.plan import rollback_plan
    from cli.console import confirm, open_history, os_user
    from cli.rollback_views import earlier_rollbacks, plan_text, result_text

    with tempfile.TemporaryDirectory(prefix="rollback-") as scratch:
        links = reader.load_state(connection=connection.name, baseline_dir=scratch).links
    # A rollback run has no plan of its own: the run it undid names the users.
    planned = record.rollback_of or record.run_id
    restores, not_undone = rollback_plan(
        reader.journal(run_id=record.run_id),
        reader.run_frame(run_id=planned, table="sync_plan"),
        links,
    )
    earlier = earlier_rollbacks(reader.runs(connection=connection.name, limit=10_000), record)
    with _clients(connection) as (huma, graph):
        judged = judge_all(restores, huma=huma.client(), graph=graph.client())
        print(plan_text(record, judged, not_undone, earlier))
        sending = [j.restore for j in judged if j.verdict == "restore"]
        refused = [j for j in judged if j.verdict in ("moved", "gone")]
        interrupted = [run for run in earlier if run["ended_at"] is None]
        if args.dry_run:
            print("Dry run: nothing was changed.")
            return OK
        if not sending and not interrupted:
            print("Nothing to restore.")
            return FAILED if refused else OK
        if not args.yes:
            if not sys.stdin.isatty():
                raise CommandError(
                    "stdin is not a terminal, so nothing was asked and nothing changed: "
                    "add --yes to apply this rollback",
                    USAGE,
                )
            question = f"Restore {len(sending)} change(s) of run {record.run_id}"
            if interrupted:
                question += " and finish its interrupted rollback"
            if not confirm(question + "?"):
                print("Nothing was changed.")
                return FAILED
        done = execute_rollback(
            open_history(write=True),
            connection=connection.name,
            rollback_of=record.run_id,
            restores=sending,
            all_restores=restores,
            huma=huma.client(),
            graph=graph,
            summary=_summary(os_user(), refused, not_undone),
            run_id=run_id,
        )
    print(result_text(done))
    late = [j for j in done.judged if j.verdict in ("moved", "gone")]
    return FAILED if refused or late or done.failed else OK


def _summary(by: str, refused: Sequence[Judged], not_undone: Sequence[NotUndone]) -> dict:
    return {"by": by, "refused_when_planned": len(refused), "not_undone": len(not_undone)}
