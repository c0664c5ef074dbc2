"""Graph writes: the plan's changes through the `$batch` executor, creates never doubled.

The executor (`resources.graph_batch`) already guarantees once-only delivery and reports each
write; this module turns its outcomes into plan-row results. A create refused with
`ObjectConflict` means the user exists (a create that succeeded in a killed run, or a user no
snapshot key matched): it is linked to that user instead. A PATCH whose hire date or manager
(each sent as a write of its own, `GraphResource.write`) Graph refused is a failure of the row
(so the next run decides that field again), with the other fields applied.
"""

from __future__ import annotations

from collections.abc import Sequence

from assets.apply.results import WriteResult
from assets.apply.verify import graph_applied
from assets.apply.writes import PlannedWrite
from reconcile.mapping import GRAPH_REFERENCES
from resources.graph import GraphResource
from resources.graph_batch import GraphWrite, GraphWriteOutcome
from resources.remote_ids import path_segment

#: The properties of a PATCH that Graph gets in writes of their own (`GraphResource.write`).
_SENT_APART = ("employeeHireDate", *GRAPH_REFERENCES)


def apply_graph(graph: GraphResource, writes: Sequence[PlannedWrite]) -> list[WriteResult]:
    """Send `writes` to Graph; one result per write, in order."""
    requests = [
        GraphWrite(
            w.change_id,
            "POST" if w.operation == "create" else "PATCH",
            "/users" if w.operation == "create" else f"/users/{path_segment(str(w.target_id))}",
            w.body,
        )
        for w in writes
    ]
    outcomes = {o.key: o for o in graph.write(writes=requests)}
    return [_result(graph, w, outcomes) for w in writes]


def _result(
    graph: GraphResource, write: PlannedWrite, outcomes: dict[str, GraphWriteOutcome]
) -> WriteResult:
    main = outcomes[write.change_id]
    if write.operation == "create":
        return _create_result(graph, write, main)
    if not main.ok:
        return _failure(write, main)
    note = "verified by re-reading after a lost answer" if main.verified else None
    refused = {
        prop: outcome
        for prop in _SENT_APART
        if (outcome := outcomes.get(f"{write.change_id}#{prop}")) is not None and not outcome.ok
    }
    if refused:
        failed = _failure(write, next(iter(refused.values())))
        applied = {k: v for k, v in write.body.items() if k not in refused}
        return WriteResult(
            write.change_id,
            "failed",
            after=applied,
            error=f"{', '.join(refused)} refused (the other fields were applied): {failed.error}",
            remote_status=failed.remote_status,
            remote_code=failed.remote_code,
            request_id=failed.request_id,
            note=note,
        )
    return WriteResult(write.change_id, "applied", after=write.body, note=note)


def _create_result(
    graph: GraphResource, write: PlannedWrite, outcome: GraphWriteOutcome
) -> WriteResult:
    after = write.journal_request()["body"]
    if outcome.ok:
        note = "verified by re-reading after a lost answer" if outcome.verified else None
        created_id = (outcome.body or {}).get("id")
        return WriteResult(
            write.change_id, "applied", created_id=created_id, after=after, note=note
        )
    if "ObjectConflict" in outcome.detail_codes:
        exists, user_id = graph_applied(graph.client(), write)
        if exists:
            return WriteResult(
                write.change_id,
                "applied",
                created_id=user_id,
                after=after,
                note="Entra already had this userPrincipalName: linked to it",
            )
    return _failure(write, outcome)


def _failure(write: PlannedWrite, outcome: GraphWriteOutcome) -> WriteResult:
    return WriteResult(
        write.change_id,
        "failed",
        error=outcome.message or f"HTTP {outcome.status}",
        remote_status=outcome.status,
        remote_code=outcome.code,
        request_id=outcome.request_id,
    )
