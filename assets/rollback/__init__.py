"""Rollback of a run (SPEC §7): the inverse of its applied changes, from their before-values.

* `plan`: pure; the journal → restores (`rollback_plan`), judged against the targets' current
  values (`judge`), and the baseline rows to reset (`baseline_resets`).
* `execute`: the rollback as a run of its own in the history, journalled like any apply, each
  target re-read just before (`judge_all`).

No Dagster asset: the console script (`huma-entra-sync rollback`) calls these directly.
"""
