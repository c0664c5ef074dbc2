"""The result report of a run (SPEC §8): a pure model and render, the CSV, the email message.

* `assets.report.build.build_run_report(...) -> RunReport`: the engine's and the apply step's
  frames of one run → the report model (`assets.report.model`).
* `assets.report.render.render_report(report) -> RenderedEmail`: subject, HTML, text, CSV.
* `assets.report.message.email_message(rendered, sender=, recipients=)`: the message
  `SmtpResource.send` takes; `write_report_files(rendered, directory)` keeps it with the run.
* `assets.apply.results.APPLY_RESULTS_SCHEMA`: what the apply step hands over per change.

No Dagster, no I/O beyond `write_report_files`: the asset that sends the email is a thin wrapper.
"""
