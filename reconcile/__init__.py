"""The reconciliation engine: pure functions over Polars frames (SPEC §3-7).

No network, no Dagster, no clock, no randomness: frames in, frames out. Imports polars, pandera
and the standard library only.

Entry points:

* `reconcile.engine.plan_run(huma, entra, state, policy, context) -> PlanResult`: one run's plan.
* `reconcile.next_state.next_state(state, result, outcomes, context) -> SyncState`: what to keep
  once the apply step reported what it wrote (`reconcile.baseline.baseline_changes` gives only
  the baseline rows that change, for an upsert).
* `reconcile.bodies`: Graph and Huma request bodies of a plan row.
* `reconcile.decisions.decision_row`: record a person's verdict on a pending row.

Contracts: snapshots in `reconcile.frames`, kept state in `reconcile.state`, outputs in
`reconcile.outputs`, words in `reconcile.vocabulary`, settings in `reconcile.policy` and
`reconcile.context`. A plain-Python reading of the linked-pair rules (benchmark and oracle), the
frame builders and the simulated apply that tests use live under `tests/reference`, since the
product does not run them.
"""
