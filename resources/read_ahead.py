"""A chain of requests, each needing the answer before it (a page's link to the next), read in
a thread of its own ahead of the caller: the next request goes out as soon as the answer before
it is in, whatever the caller is doing, and at most `ahead` answers wait for the caller.

Still one request under way at a time. Whatever stops the chain (a request that fails, a link
refused) is raised to the caller after the answers before it, in order; a caller that stops
early stops the chain after the request under way, which is waited for.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Answer = TypeVar("Answer")

#: Marks the end of the chain in the queue.
_END = object()
#: How often a reader waiting for room looks whether the caller has stopped.
_POLL_SECONDS = 0.05


def read_ahead(
    first: Answer,
    following: Callable[[int, Answer], Answer | None],
    *,
    ahead: int,
    thread_name: str,
) -> Iterator[Answer]:
    """`first`, then each answer `following(number, answer before)` gives (number 1 for the one
    after `first`), until it gives None.

    Args:
        first: The first answer (read by the caller).
        following: Sends the request after an answer and returns its answer (None: no more).
        ahead: How many answers at most wait for the caller.
        thread_name: The reading thread's name.
    """
    answers: queue.Queue[object] = queue.Queue(maxsize=ahead)
    stopped = threading.Event()

    def offer(item: object) -> bool:
        """Put `item` for the caller once there is room; False when the caller has stopped."""
        while not stopped.is_set():
            try:
                answers.put(item, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def read_on() -> None:
        answer, number = first, 1
        try:
            while not stopped.is_set():
                after = following(number, answer)
                if after is None:
                    break
                if not offer(after):
                    return
                answer, number = after, number + 1
        except BaseException as error:  # raised to the caller, in its place in the chain
            offer(error)
            return
        offer(_END)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name) as reader:
        reader.submit(read_on)
        try:
            yield first
            while (answer := answers.get()) is not _END:
                if isinstance(answer, BaseException):
                    raise answer
                yield answer  # type: ignore[misc]  # an answer, put by `read_on`
        finally:
            stopped.set()  # the reader ends after the request under way
