"""The planning step of a connection: validated snapshots, links, diffs, conflicts and the plan.

One multi-asset around `reconcile.engine.plan_run` (pure): it loads the connection's state from the
history, plans, keeps the outputs with the run, and shows each in the UI. The validated snapshots
carry blocking checks (schema and unique keys of the rows that go on, with the users held out as
failure cases); the plan carries warning checks for the guards.
"""

import dataclasses
from pathlib import Path

import dagster as dg
import pandera.errors
import polars as pl
from dagster import AssetExecutionContext

from assets.keys import (
    CONFLICTS,
    ENTRA_USERS,
    ENTRA_USERS_RAW,
    FIELD_DIFFS,
    HISTORY,
    HUMA_USERS,
    HUMA_USERS_RAW,
    SYNC_PLAN,
    USER_LINKS,
    VALIDATION_FAILURES,
    huma_resource_key,
)
from assets.metadata import StageClock, counts, frame_metadata, markdown_table, numbers
from assets.run_options import run_options
from assets.snapshots import run_started_at
from assets.targeting import known_domains, unread_users
from reconcile.engine import PlanResult, plan_run
from reconcile.mapping import carried_by
from reconcile.policy import Policy
from reconcile.state import RunContext, SyncState
from reconcile.validation import models
from reconcile.vocabulary import (
    AUTO_APPROVED,
    AWAITING_DECISION,
    BLOCKED,
    GUARD_MASS_CHANGE,
    GUARD_SNAPSHOT_PARTIAL,
    GUARD_SNAPSHOT_SHRINK,
)
from resources.graph import EntraSnapshot
from resources.huma import HumaSnapshot

SCHEMA_AND_KEYS = "schema_and_unique_keys"
MASS_CHANGE_GUARD = "mass_change_guard"
SNAPSHOT_GUARD = "snapshot_guard"

_DESCRIPTIONS = {
    HUMA_USERS: "One row per valid Huma user: the Huma snapshot without the users validation "
    "holds out (missing names or email, duplicate email/phone/employment ID, non-ISO country).",
    ENTRA_USERS: "One row per valid Entra user in scope (members, no guests): the Entra snapshot "
    "without the users validation holds out.",
    VALIDATION_FAILURES: "One row per failed check of a held-out user, or per value that could "
    "not be read (left unknown): side, user id, field, value, rule and message.",
    USER_LINKS: "One row per linked pair: the same person in Huma and Entra (Huma id ↔ Entra id).",
    FIELD_DIFFS: "One row per linked pair and differing field: Huma's, Entra's and the agreed "
    "value, the case of SPEC §5 and what the engine does about it.",
    CONFLICTS: "One row per conflict: a field both sides changed since they agreed, or a linked "
    "pair whose emails differ.",
    SYNC_PLAN: "One row per intended change: user, fields, from and to values, direction, reason "
    "and status (auto_approved, pending, blocked, …).",
}


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """What the apply and report steps need from planning: the plan, and what it was made on."""

    result: PlanResult
    state: SyncState
    context: RunContext


def planning_assets(connection: str, policy: Policy) -> dg.AssetsDefinition:
    """The planning multi-asset of the connection named `connection`."""

    def key(name: str) -> dg.AssetKey:
        return dg.AssetKey([connection, name])

    outs = {
        name: dg.AssetOut(
            key=key(name),
            description=text,
            group_name=connection,
            kinds={"polars"},
            tags={"connection": connection},
        )
        for name, text in _DESCRIPTIONS.items()
    }
    checks = [
        dg.AssetCheckSpec(
            SCHEMA_AND_KEYS,
            asset=key(HUMA_USERS),
            blocking=True,
            description="The rows that go on match the snapshot schema, with unique "
            "email, phone and employment ID; held-out users are the failure cases.",
        ),
        dg.AssetCheckSpec(
            SCHEMA_AND_KEYS,
            asset=key(ENTRA_USERS),
            blocking=True,
            description="The rows that go on match the snapshot schema, with unique "
            "email key, phone and employment ID.",
        ),
        dg.AssetCheckSpec(
            MASS_CHANGE_GUARD,
            asset=key(SYNC_PLAN),
            description="The plan changes no more than the policy's share of users.",
        ),
        dg.AssetCheckSpec(
            SNAPSHOT_GUARD,
            asset=key(SYNC_PLAN),
            description="Neither snapshot shrank beyond the policy's threshold or "
            "came back partial.",
        ),
    ]

    @dg.multi_asset(
        name=f"{connection}__plan",
        outs=outs,
        ins={
            "huma_raw": dg.AssetIn(key(HUMA_USERS_RAW)),
            "entra_raw": dg.AssetIn(key(ENTRA_USERS_RAW)),
        },
        required_resource_keys={HISTORY, huma_resource_key(connection)},
        check_specs=checks,
    )
    def plan(context: AssetExecutionContext, huma_raw: HumaSnapshot, entra_raw: EntraSnapshot):
        clock = StageClock()
        store = context.resources.history.store()
        options = run_options(context.run)
        with (
            clock.part("history"),
            # One opening of the file for the three reads.
            store.session(doing=f"run {context.run.run_id} of connection {connection}: state"),
        ):
            # The kept baseline is scanned from a run-scoped Parquet export rather than loaded
            # whole (seven rows per user): the apply step reads it again for the next state.
            state = store.load_state(connection=connection, baseline_dir=scratch_folder(context))
            previous = store.previous_snapshots(
                connection=connection, before_run_id=context.run.run_id
            )
            held_trips = store.held_guard_trips(
                connection=connection, before_run_id=context.run.run_id
            )
        run_context = RunContext(
            run_at=run_started_at(context),
            verified_domains=frozenset(entra_raw.verified_domains),
            previous_huma_count=previous.huma_count,
            previous_entra_count=previous.entra_count,
            huma_partial=not huma_raw.complete,
            entra_partial=not entra_raw.complete,
            held_trips=held_trips,
            guard_overrides=options.guard_overrides,
            overridden_by=options.overridden_by,
            override_reason=options.override_reason,
            overrides_not_taken=options.overrides_not_taken,
            why_not_taken=options.why_not_taken,
            targeted=options.targeted and entra_raw.looked_up_emails is not None,
        )
        if options.why_not_taken:
            context.log.warning(options.why_not_taken)
        huma_users, unread = huma_raw.users, None
        if run_context.targeted:
            huma_users = read_on_both_sides(huma_users, state, entra_raw)
            with clock.part("history"):  # the users not read still hold their phones and ids
                unread = unread_users(
                    context,
                    connection,
                    huma_read=huma_raw.users,
                    huma_planned=huma_users,
                    entra_read=entra_raw.users,
                )
            # Without Domain.Read.All the domains come from the members read: a targeted run
            # reads a few, maybe none, and would take the company's own domain for a private one.
            run_context = dataclasses.replace(
                run_context,
                verified_domains=run_context.verified_domains | known_domains(unread[1]),
            )
        with clock.part("plan"):
            result = plan_run(
                huma_users,
                entra_raw.users,
                state,
                policy_for_run(context, connection, policy),
                run_context,
                unreadable=pl.concat([huma_raw.unreadable, entra_raw.unreadable]),
                unread=unread,
            )
        with clock.part("validation"):
            checks = list(_check_results(connection, result))
        if not options.dry_run:
            with clock.part("history"):
                store.record_plan(run_id=context.run.run_id, plan=result)
        yield from _outputs(result, RunPlan(result, state, run_context), clock)
        yield from checks

    return plan


def read_on_both_sides(
    huma_users: pl.DataFrame, state: SyncState, entra_raw: EntraSnapshot
) -> pl.DataFrame:
    """The Huma users of a targeted read whose Entra side was read too: linked ones (read by
    their link's object id) and those whose email was looked up. A user whose email changed
    after the event was sent is left to the next run: unread in Entra, it could look Huma-only
    and be created twice."""
    looked_up = sorted(entra_raw.looked_up_emails or ())
    linked = pl.col("huma_id").is_in(state.links.get_column("huma_id").implode())
    return huma_users.filter(linked | pl.col("email_key").is_in(looked_up).fill_null(value=False))


def policy_for_run(context: AssetExecutionContext, connection: str, policy: Policy) -> Policy:
    """The connection's policy, with the Huma group new users join when the Huma resource names
    one (it may come from the environment, read only now)."""
    group = getattr(context.resources, huma_resource_key(connection)).default_group_id
    return dataclasses.replace(policy, huma_default_group_id=group) if group else policy


def scratch_folder(context: AssetExecutionContext) -> Path:
    """A folder for files the steps of one run share (removed by the report step)."""
    return Path(context.instance.storage_directory()) / "huma-entra-sync" / context.run.run_id


def _outputs(result: PlanResult, run_plan: RunPlan, clock: StageClock):
    failures = result.validation_failures
    yield dg.Output(
        result.huma_users,
        HUMA_USERS,
        metadata=frame_metadata(
            result.huma_users,
            held_out=failures.filter(pl.col("side") == "huma")["user_id"].n_unique(),
        ),
    )
    yield dg.Output(
        result.entra_users,
        ENTRA_USERS,
        metadata=frame_metadata(
            result.entra_users,
            held_out=failures.filter(pl.col("side") == "entra")["user_id"].n_unique(),
        ),
    )
    yield dg.Output(
        failures,
        VALIDATION_FAILURES,
        metadata=frame_metadata(failures, by=("side", "field", "rule")),
    )
    yield dg.Output(
        result.user_links, USER_LINKS, metadata=frame_metadata(result.user_links, by=("linked_by",))
    )
    yield dg.Output(
        result.field_diffs,
        FIELD_DIFFS,
        metadata=frame_metadata(result.field_diffs, by=("field", "case", "outcome")),
    )
    yield dg.Output(
        result.conflicts, CONFLICTS, metadata=frame_metadata(result.conflicts, by=("field", "case"))
    )
    plan = result.sync_plan
    yield dg.Output(
        run_plan,
        SYNC_PLAN,
        metadata=frame_metadata(
            plan,
            by=("action", "status"),
            writes_stopped=result.writes_stopped,
            notices=dg.MetadataValue.md(markdown_table(counts(result.notices, ("kind",)))),
            **plan_numbers(result),
            **clock.metadata(),
        ),
    )


def plan_numbers(result: PlanResult) -> dict[str, dg.MetadataValue]:
    """The plan's sizes as numbers the UI plots: rows, waiting for a person, per status, and the
    users going in and held out."""
    plan = result.sync_plan
    statuses = dict(plan.get_column("status").value_counts().iter_rows()) if plan.height else {}
    return numbers(
        plan_rows=plan.height,
        waiting=sum(statuses.get(status, 0) for status in AWAITING_DECISION),
        auto_approved=statuses.get(AUTO_APPROVED, 0),
        blocked=statuses.get(BLOCKED, 0),
        field_diffs=result.field_diffs.height,
        conflicts=result.conflicts.height,
        linked_pairs=result.user_links.height,
        held_out_users=result.validation_failures.select("side", "user_id").unique().height,
    )


def _check_results(connection: str, result: PlanResult):
    # The models of the fields this connection carries (its optional fields included).
    huma_model, entra_model = models(carried_by(result.huma_users.columns))
    for side, name, model, frame in (
        ("huma", HUMA_USERS, huma_model, result.huma_users),
        ("entra", ENTRA_USERS, entra_model, result.entra_users),
    ):
        problems = _schema_problems(model, frame)
        held_out = result.validation_failures.filter(pl.col("side") == side)
        yield dg.AssetCheckResult(
            asset_key=dg.AssetKey([connection, name]),
            check_name=SCHEMA_AND_KEYS,
            passed=problems.is_empty(),
            metadata={
                "problems": dg.MetadataValue.md(markdown_table(problems)),
                "held_out_users": held_out["user_id"].n_unique(),
                "failure_cases": dg.MetadataValue.md(
                    markdown_table(held_out.select("user_id", "field", "rule", "message"))
                ),
            },
        )
    trips = result.guard_trips
    for check, guards in (
        (MASS_CHANGE_GUARD, (GUARD_MASS_CHANGE,)),
        (SNAPSHOT_GUARD, (GUARD_SNAPSHOT_SHRINK, GUARD_SNAPSHOT_PARTIAL)),
    ):
        tripped = trips.filter(pl.col("guard").is_in(guards))
        yield dg.AssetCheckResult(
            asset_key=dg.AssetKey([connection, SYNC_PLAN]),
            check_name=check,
            passed=tripped.height == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "trips": dg.MetadataValue.md(
                    markdown_table(
                        tripped.select(
                            "guard", "side", "observed", "threshold", "overridden", "message"
                        )
                    )
                )
            },
        )


def _schema_problems(model: type, frame: pl.DataFrame) -> pl.DataFrame:
    """Pandera's failure cases for `frame` (empty when it passes)."""
    try:
        model.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        return pl.DataFrame(errors.failure_cases).select(
            pl.col("column").cast(pl.String),
            pl.col("check").cast(pl.String),
            pl.col("failure_case").cast(pl.String),
        )
    return pl.DataFrame(schema={"column": pl.String, "check": pl.String, "failure_case": pl.String})
