"""Entra's `userType` is `Member` or `Guest` (SPEC §4: members are in scope, guests never). A value
Graph's documentation does not list is not guessed to be a member: such a user is out of scope
(never offered to Huma, never written, its pair left alone and reported), as a guest is. Case
and surrounding spaces do not matter; a user without a `userType` (older accounts) stays a
member, as Graph treats them."""

from __future__ import annotations

import polars as pl
import pytest

from reconcile.vocabulary import CREATE_HUMA, NOTICE_OUT_OF_SCOPE
from tests.reconcile.plan_helpers import plan_pair, plan_users
from tests.reference.builders import entra_user

_GROUP = {"huma_default_group_id": "group-1"}


@pytest.mark.parametrize("user_type", ["Partner", "External", "guest user", "Membre"])
def test_an_entra_user_of_an_unknown_type_is_not_offered_to_huma(user_type: str) -> None:
    result = plan_users([], [entra_user("e1", user_type=user_type)], _GROUP)

    assert result.sync_plan.filter(pl.col("action") == CREATE_HUMA).is_empty(), result.sync_plan


@pytest.mark.parametrize("user_type", ["Member", "member", "MEMBER", None])
def test_a_member_is_offered_to_huma(user_type: str | None) -> None:
    result = plan_users([], [entra_user("e1", user_type=user_type)], _GROUP)

    assert result.sync_plan.get_column("action").to_list() == [CREATE_HUMA]


def test_a_linked_user_whose_type_became_unknown_is_left_alone_and_reported() -> None:
    result = plan_pair(huma={"phone": "+4799999999"}, entra={"user_type": "Partner"})

    assert result.sync_plan.is_empty(), result.sync_plan
    assert result.notices.get_column("kind").to_list() == [NOTICE_OUT_OF_SCOPE]
