"""The reconciliation engine: pure functions over Polars frames (SPEC §3-7).

No network, no Dagster, no clock, no randomness: frames in, frames out. Imports polars, pandera
and the standard library only.

Entry points:

* `reconcile.engine.plan_run(huma, entra, state, policy, context) -> PlanResult`: one run's plan.
* `reconcile.next_state.next_state(state, result, outcomes, context) -> SyncState`: what to keep
  once the apply step reported what it wrote (`reconcile.baseline.baseline_changes` gives only
  the baseline rows that change, for an upsert).
* `reconcile.bodies`: Graph and Huma request bodies of a plan row.
* `reconcile.human_decisions.decision_row`: record a person's verdict on a pending row.

The rules: `reconcile.decide` is SPEC §5's decision table; every field difference
(`reconcile.differences`) gets its action, direction, status and decision kind there, and the
later steps (`reconcile.uniqueness`, `reconcile.plan_rows`, `reconcile.human_decisions`,
`reconcile.guards`) only narrow it.

Contracts: snapshots in `reconcile.frames`, kept state and the run's context in `reconcile.state`,
outputs in `reconcile.outputs`, words in `reconcile.vocabulary`, settings in `reconcile.policy`.
A plain-Python reading of the linked-pair rules (benchmark and oracle), the frame builders and the
simulated apply that tests use live under `tests/reference`, since the product does not run them.
"""
