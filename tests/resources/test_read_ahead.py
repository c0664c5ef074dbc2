"""A chain of requests read ahead of the caller (`resources.read_ahead`).

Pins: the answers come in the chain's order, ending where the chain ends; whatever stops the
chain is raised after the answers before it; a caller that stops early stops the chain, with no
request sent after it has stopped and at most `ahead` answers and the one under way read past
what it took.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from resources.read_ahead import read_ahead


class _Refused(Exception):
    pass


def _chain(
    last: int, calls: list[int], refuse_at: int | None = None
) -> Callable[[int, int], int | None]:
    """Answers 0, 1, … `last`, noting each request in `calls`; refuses request `refuse_at`."""

    def following(number: int, answer: int) -> int | None:
        calls.append(number)
        assert number == answer + 1  # each request after the answer before it
        if number == refuse_at:
            raise _Refused(number)
        return None if answer == last else answer + 1

    return following


@pytest.mark.parametrize("ahead", [1, 2, 5])
def test_the_answers_come_in_the_chains_order(ahead: int) -> None:
    calls: list[int] = []

    answers = list(read_ahead(0, _chain(6, calls), ahead=ahead, thread_name="chain"))

    assert answers == [0, 1, 2, 3, 4, 5, 6]
    assert calls == [1, 2, 3, 4, 5, 6, 7]


def test_what_stops_the_chain_is_raised_after_the_answers_before_it() -> None:
    calls: list[int] = []
    taken: list[int] = []

    with pytest.raises(_Refused):
        taken.extend(read_ahead(0, _chain(9, calls, refuse_at=4), ahead=2, thread_name="chain"))

    assert taken == [0, 1, 2, 3]
    assert calls == [1, 2, 3, 4]  # nothing asked for past the refusal


@pytest.mark.parametrize("ahead", [1, 3])
def test_a_caller_that_stops_early_stops_the_chain(ahead: int) -> None:
    calls: list[int] = []
    answers = read_ahead(0, _chain(10_000, calls), ahead=ahead, thread_name="stopped-chain")

    assert [next(answers), next(answers)] == [0, 1]
    answers.close()

    sent = len(calls)
    assert sent <= 1 + ahead + 1  # the answers taken, those waiting, the one under way
    assert not [t for t in threading.enumerate() if t.name.startswith("stopped-chain")]
    assert len(calls) == sent  # nothing sent once the caller stopped
