"""`huma-entra-sync run`: the same Dagster job the schedule runs, in this process.

Prints a summary (the report's subject, where the report is, how many changes were applied and
failed) and exits 1 when the run failed, so cron and CI can tell; also when it did its work but
the relay did not take its report (kept unsent, sent by the next run): nobody got the report, and
the message on stderr says the changes are applied, so nobody repeats the run to retry it.

One run per connection at a time (`assets.run_exclusion`): the job runs in this process, outside
Dagster's run queue, so the command holds the connection's lock (`resources.run_lock`, beside the
history file) for the run, and refuses at once when another `run` holds it or the connection has
a run in progress in the Dagster instance (one the schedule or the UI launched).
"""

from __future__ import annotations

import argparse
import sys
import uuid
from typing import TYPE_CHECKING

from assets.keys import APPLIED_CHANGES, SYNC_REPORT, job_name
from assets.printable import printable
from assets.run_options import RunOptions
from cli.console import (
    FAILED,
    USAGE,
    CommandError,
    choose_connection,
    fail,
    history_path,
    os_user,
)
from reconcile.vocabulary import GUARDS

if TYPE_CHECKING:
    import dagster as dg


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connection", help="the connection to run (default: the only one)")
    parser.add_argument(
        "--dry-run", action="store_true", help="plan and report everything, write nothing"
    )
    parser.add_argument(
        "--override-guard",
        action="append",
        default=[],
        choices=GUARDS,
        metavar="GUARD",
        help=f"let a tripped guard through for this run ({', '.join(GUARDS)}); "
        "recorded with --by and --reason",
    )
    parser.add_argument(
        "--reason", help="why the guard may be let through (asked when missing on a terminal)"
    )
    parser.add_argument("--by", help="who overrides the guard (default: your user name)")


def _options(args: argparse.Namespace) -> RunOptions:
    """The run's options; an override is recorded with who and why (SPEC §7).

    Raises:
        CommandError: `--by`/`--reason` without an override, or an override without a reason
            when nobody can be asked.
    """
    overrides = frozenset(args.override_guard)
    if not overrides:
        if args.by or args.reason:
            raise CommandError("--by and --reason go with --override-guard", USAGE)
        return RunOptions(dry_run=args.dry_run)
    reason = (args.reason or "").strip()
    if not reason and sys.stdin.isatty():
        try:
            reason = input(f"Why may {', '.join(sorted(overrides))} be let through? ").strip()
        except EOFError:
            reason = ""
    if not reason:
        raise CommandError("--override-guard is recorded with a reason: add --reason", USAGE)
    return RunOptions(
        dry_run=args.dry_run,
        guard_overrides=overrides,
        overridden_by=(args.by or "").strip() or os_user(),
        override_reason=reason,
    )


def run(args: argparse.Namespace) -> int:
    """Execute the connection's job in-process; returns the exit code."""
    from assets.run_exclusion import CONSOLE_LOCK_TAG, refusal, running_before
    from cli.console import dagster_instance
    from pipelines.definitions import deployment_definitions
    from pipelines.in_process import execute_in_process
    from resources.run_lock import RunInProgress, connection_run_lock, run_lock_folder

    try:
        options = _options(args)
        connection = choose_connection(args.connection)
    except CommandError as exc:
        return fail(exc)
    run_id = str(uuid.uuid4())
    try:
        with connection_run_lock(
            run_lock_folder(history_path()), connection.name, run_id=run_id
        ) as lock:
            # Only after the lock: two first runs would both create the instance's storage.
            instance = dagster_instance()
            running = running_before(instance, connection.name, run_id=None)
            if running is not None:
                return fail(CommandError(refusal(connection.name, running), FAILED))
            job = deployment_definitions([connection]).resolve_job_def(job_name(connection.name))
            result = execute_in_process(
                job,
                instance=instance,
                run_id=run_id,
                tags=options.as_tags() | {CONSOLE_LOCK_TAG: str(lock.resolve())},
                run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
                raise_on_error=False,
            )
    except RunInProgress as exc:
        return fail(CommandError(str(exc), FAILED))
    return _summarise(connection.name, result)


def _failure_text(event: dg.DagsterEvent) -> str:
    """What went wrong, in the words of the step that failed (a refusal names the running run)."""
    data = event.step_failure_data if event.is_step_failure else None
    if data is not None and data.user_failure_data is not None:
        return data.user_failure_data.description or event.message or "unknown error"
    if data is not None and data.error is not None:
        return data.error.message.strip()
    return event.message or "unknown error"


def _summarise(connection: str, result: dg.ExecuteInProcessResult) -> int:
    import dagster as dg

    run_id = result.run_id
    if not result.success:
        failure = next((e for e in result.all_events if e.is_failure), None)
        message = _failure_text(failure) if failure is not None else "unknown error"
        # The error may quote an answer of Huma or Graph: shown, never obeyed, by the terminal.
        message = printable(message, keep_lines=True)
        print(f"{connection}: run {run_id} FAILED: {message}", file=sys.stderr)
        return 1
    applied = result.asset_value(dg.AssetKey([connection, APPLIED_CHANGES]))
    report = result.asset_value(dg.AssetKey([connection, SYNC_REPORT]))
    counts = applied.get_column("status").value_counts() if applied.height else None
    done = dict(counts.iter_rows()) if counts is not None else {}
    print(f"{connection}: run {run_id} finished")
    print(f"  {report['subject']}")
    print(
        f"  changes sent: {applied.height} ({done.get('applied', 0)} applied, "
        f"{done.get('failed', 0)} failed)"
    )
    print(f"  report: {report['html']}")
    print(f"  email: {printable(report['email'])}")
    if report["unsent"]:
        print(
            f"{connection}: run {run_id} did its work, but its report was NOT sent: "
            f"{printable(report['email'])}. The message is kept in {report['unsent']}; the "
            "connection's next run sends it.",
            file=sys.stderr,
        )
        return FAILED
    return 0
