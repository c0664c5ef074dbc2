"""Thin Dagster assets and checks: one copy of the asset graph per connection.

huma_users_raw ─┐                    ┌─ huma_users, entra_users, validation_failures,
                ├─ (plan_run) ───────┤  user_links, field_diffs, conflicts
entra_users_raw ┘                    └─ sync_plan ── applied_changes ── sync_report
"""
