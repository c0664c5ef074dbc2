"""A job executed in this process: the console's `run`, the demo, the runs webhooks ask for."""

from __future__ import annotations

import signal
import threading
from typing import Any

import dagster as dg

#: The signals whose dispositions Dagster's in-process execution replaces while a run lasts.
_INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


def execute_in_process(job: dg.JobDefinition, **options: Any) -> dg.ExecuteInProcessResult:
    """`job.execute_in_process(**options)`, the process's SIGINT and SIGTERM dispositions as
    they were before it.

    Dagster's execution ends by giving SIGTERM the disposition SIGINT had. Started with SIGINT
    ignored (a background job of a shell without job control, `nohup`), the process would
    ignore SIGTERM from then on, and so would every process it starts later.
    """
    if threading.current_thread() is not threading.main_thread():
        return job.execute_in_process(**options)  # signal handlers belong to the main thread
    before = {sig: signal.getsignal(sig) for sig in _INTERRUPTS}
    try:
        return job.execute_in_process(**options)
    finally:
        for sig, disposition in before.items():
            if disposition is not None:  # None: not set from Python, nothing to put back
                signal.signal(sig, disposition)
