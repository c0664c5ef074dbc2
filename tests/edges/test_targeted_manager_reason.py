"""A targeted run with `manager` on says accurately why it left a named person's manager alone
(SPEC §5: never guessed, listed with the reason): the supervisor, named by email as the latest
full snapshot knows them, was not read because a targeted run reads only the people its
webhooks name, and the next full run sets the manager. Only the people the run read are listed;
before, the reason named the supervisor by a bare Huma id and spoke of "a partial or targeted
snapshot", which reads like a failed read."""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from reconcile.engine import plan_run
from reconcile.frames import entra_users_schema, huma_users_schema
from reconcile.policy import Policy
from reconcile.supervisors import UNLINKED_SUPERVISOR
from reconcile.uniqueness import key_schemas
from tests.reconcile.plan_helpers import CONTEXT
from tests.reference.builders import (
    baseline_frame,
    entra_user,
    huma_user,
    links_frame,
    state_with,
)

FIELDS = frozenset({"manager"})


def _keys(n: int) -> dict[str, str]:
    return {"phone": f"+47900000{n:02d}", "employment_id": f"E{n}"}


def test_a_named_person_whose_supervisor_was_not_read_is_listed_with_the_accurate_reason() -> None:
    # Ann (p1) is named; her supervisor Bo (p2) and Bo's other report Cy (p3) are not read.
    huma = pl.DataFrame(
        [huma_user("h1", "p1@example.com", manager="h2", **_keys(1))],
        schema=huma_users_schema(FIELDS),
    )
    entra = pl.DataFrame(
        [entra_user("e1", "p1@example.com", manager="e2", **_keys(1))],
        schema=entra_users_schema(FIELDS),
    )
    others_in_huma = pl.DataFrame(
        [
            huma_user("h2", "p2@example.com", **_keys(2)),
            huma_user("h3", "p3@example.com", manager="h2", **_keys(3)),
        ],
        schema=huma_users_schema(FIELDS),
    )
    others_in_entra = pl.DataFrame(
        [entra_user(f"e{n}", f"p{n}@example.com", **_keys(n)) for n in (2, 3)],
        schema=entra_users_schema(FIELDS),
    )
    huma_keys, entra_keys = key_schemas()
    result = plan_run(
        huma,
        entra,
        state_with(
            links=links_frame(("h1", "e1"), ("h2", "e2"), ("h3", "e3")),
            baseline=baseline_frame([{"huma_id": "h1", "field": "manager", "agreed": "e2"}]),
        ),
        Policy(fields=FIELDS),
        replace(CONTEXT, targeted=True, previous_huma_count=3, previous_entra_count=3),
        unread=(
            others_in_huma.select(huma_keys.names()),
            others_in_entra.select(entra_keys.names()),
        ),
    )

    assert result.sync_plan.is_empty(), result.sync_plan
    failures = result.validation_failures.filter(pl.col("rule") == UNLINKED_SUPERVISOR)
    [(user, message)] = failures.select("user_id", "message").rows()
    assert user == "h1"
    assert message == (
        "the supervisor p2@example.com was not read by this targeted run (it reads only the "
        "people its webhooks name; the next full run sets the manager): the manager in Entra ID "
        "is left as it is"
    ), message
