"""How the steps of a run pass their outputs on: a file per asset for the Dagster UI, the value
itself for the later steps of the same process.

Every output is written to the instance's storage folder, at the path Dagster's filesystem IO
manager used (`<storage>/<connection>/<asset>`), so a run the UI re-executes from a failed step
(in a new run, often a new process) loads what the failed run's earlier steps produced, and files
written by an earlier release still load. A Polars frame is written as an Arrow IPC file (written
from the frame's buffers, and read without decoding); anything else is pickled. Files are
replaced whole (written beside, then renamed) and are readable by their owner only (SPEC §12).

A step run in the same process as the step that produced its input (`huma-entra-sync run`, which
executes the job in one process) gets the very object back instead of a copy read from the file:
the values are immutable (frames, frozen dataclasses), and reading a run plan back cost more than
writing it. A value is held only until every step of the run that reads it has loaded it (the
run's execution plan says which steps those are), and an input may take one attribute of a value
(`assets.keys.INPUT_PART`): a whole run would otherwise hold both snapshots and the plan through
its last step. (Dagster's `execute_in_process`, which `huma-entra-sync run` and the tests use,
keeps every output of the run itself until the run ends; a run the daemon or the UI launches does
not.) A step in another process (Dagster's multiprocess executor, a re-execution), or one that
loads a value again (a retry), reads the file. The IO manager logs nothing itself: each log line
would be one more event in the instance's event log.
"""

from __future__ import annotations

import dataclasses
import io
import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from assets.keys import INPUT_PART
from resources.private_files import PRIVATE_FILE, private_folder

#: The first bytes of an Arrow IPC file; a file without them is a pickle.
_ARROW_MAGIC = b"ARROW1"


class RunOutputs(dg.IOManager):
    """Outputs as files under `base_dir`, and kept in memory for the run that wrote them.

    Args:
        base_dir: The instance's storage folder.
    """

    def __init__(self, base_dir: Path) -> None:
        self._base_dir = base_dir
        self._written: dict[Path, _Kept] = {}

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        path = self._path(
            context.asset_key.path if context.has_asset_key else context.get_identifier()
        )
        self._written.pop(path, None)  # an earlier value of this output is not handed on
        write_value(path, obj)
        if readers := _readers_in_run(context):
            self._written[path] = _Kept(context.run_id, obj, readers)
        context.add_output_metadata({"path": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext) -> Any:
        upstream = context.upstream_output
        if context.has_asset_key:
            path = self._path(context.asset_key.path)
        elif upstream is not None:
            path = self._path(upstream.get_identifier())
        else:
            raise dg.DagsterInvariantViolationError(f"nothing to load for input {context.name}")
        # An input may take one attribute of the value: the rest is not held for its step.
        part = (context.definition_metadata or {}).get(INPUT_PART)
        value = self._kept(path, upstream.run_id if upstream is not None else None)
        if value is _NOT_KEPT:
            value = read_value(path)
        return getattr(value, part) if part else value

    def _kept(self, path: Path, run_id: str | None) -> Any:
        """The value this run keeps for `path` (`_NOT_KEPT` when it keeps none); the run lets
        it go once its last reader has it."""
        kept = self._written.get(path)
        if kept is None or kept.run_id != run_id:
            return _NOT_KEPT
        kept.readers -= 1
        if kept.readers <= 0:
            del self._written[path]
        return kept.value

    def _path(self, parts: Sequence[str]) -> Path:
        return self._base_dir.joinpath(*parts)


_NOT_KEPT = object()


@dataclasses.dataclass
class _Kept:
    """An output kept in memory for the steps of its run that read it."""

    run_id: str
    value: Any
    #: The inputs of the run's steps that have yet to load it.
    readers: int


def _readers_in_run(context: dg.OutputContext) -> int:
    """How many inputs of the steps this run executes read the output of `context` (none when the
    output is written outside a run's steps, as a test's context can be)."""
    try:
        plan = context.step_context.execution_plan
    except dg.DagsterInvariantViolationError:
        return 0
    produced = (context.step_key, context.name)
    return sum(
        (handle.step_key, handle.output_name) == produced
        for step in plan.get_steps_to_execute_in_topo_order()
        for step_input in step.step_inputs
        for handle in step_input.get_step_output_handle_dependencies()
    )


def write_value(path: Path, value: Any) -> None:
    """Write `value` to `path` (a frame as Arrow IPC, anything else pickled), owner-only,
    replacing the file whole: a reader sees the old file or the new one, never half of one."""
    private_folder(path.parent)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), PRIVATE_FILE)
            if isinstance(value, pl.DataFrame):
                value.write_ipc(handle, compression="uncompressed")
            else:
                _FramesAsArrow(handle, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


#: About how many bytes of Arrow IPC a frame inside a pickled value is written in at a time.
PART_BYTES = 16 * 1024 * 1024


class _FramesAsArrow(pickle.Pickler):
    """A pickler that keeps each frame inside the value as Arrow IPC bytes, loaded again by
    `frame_from_arrow` (or, for a frame written in parts, `frame_from_arrow_parts`): Polars' own
    pickling of a frame held several times the frame's size in memory while it wrote (about 1 KB
    per Huma user).

    A large frame goes in parts of about `PART_BYTES` (slices of its rows), each turned into IPC
    bytes only when the pickler comes to it; and since the pickler's memo keeps every object it
    wrote until the end, each part's bytes are released once they are in the file (when the next
    part comes, or at the end). Writing holds one part's bytes at a time: whole, a frame's bytes
    cost up to twice the frame while they grew (1.7 times measured), and every frame's of the
    value stayed to the end.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._written_bytes: pickle.PickleBuffer | None = None

    def dump(self, obj: Any, /) -> None:
        try:
            super().dump(obj)
        finally:
            self._release()

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _Part):
            self._release()  # the part before this one is in the file by now
            buffer = io.BytesIO()
            obj.rows.write_ipc(buffer, compression="uncompressed")
            self._written_bytes = pickle.PickleBuffer(buffer.getbuffer())
            return frame_from_arrow, (self._written_bytes,)
        if not isinstance(obj, pl.DataFrame):
            return NotImplemented
        rows = max(1, obj.height * PART_BYTES // max(1, obj.estimated_size()))
        parts = tuple(_Part(obj.slice(start, rows)) for start in range(0, obj.height, rows))
        if len(parts) <= 1:
            return self.reducer_override(_Part(obj))
        return frame_from_arrow_parts, (parts,)

    def _release(self) -> None:
        if self._written_bytes is not None:
            self._written_bytes.release()
            self._written_bytes = None


@dataclasses.dataclass(frozen=True)
class _Part:
    """Rows of a frame `_FramesAsArrow` writes as one part (a slice: no copy)."""

    rows: pl.DataFrame


def frame_from_arrow(data: bytes | bytearray) -> pl.DataFrame:
    """A frame `_FramesAsArrow` kept as Arrow IPC bytes (or one part of a frame)."""
    return pl.read_ipc(io.BytesIO(data))


def frame_from_arrow_parts(parts: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """A frame `_FramesAsArrow` kept in parts, whole again (the parts' buffers, not copied)."""
    return pl.concat(parts, rechunk=False)


def read_value(path: Path) -> Any:
    """The value `write_value` (or Dagster's pickling IO manager) wrote to `path`."""
    with path.open("rb") as handle:
        if handle.read(len(_ARROW_MAGIC)) == _ARROW_MAGIC:
            handle.seek(0)
            return pl.read_ipc(handle)
        handle.seek(0)
        return pickle.load(handle)  # noqa: S301 - our own files, owner-only


@dg.io_manager(
    description="Outputs as owner-only files in the instance's storage (frames as Arrow IPC, the "
    "rest pickled), handed to later steps of the same process as they are."
)
def run_outputs_io_manager(init_context: dg.InitResourceContext) -> RunOutputs:
    instance = init_context.instance
    if instance is None:
        raise dg.DagsterInvariantViolationError("the run outputs IO manager needs an instance")
    return RunOutputs(Path(instance.storage_directory()))
