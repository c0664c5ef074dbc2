"""A connection's policy: documented defaults, built from a plain mapping, wrong settings refused.

Pins: the defaults SPEC §5-7 imply (ask on inconsistencies, no automatic creates, no automatic
Entra → Huma writes, no position backfill); `from_dict` accepts partial mappings and names every
unknown key or wrong value in its error; one-way fields accept only their own direction; the
optional fields are off unless named, and only known ones may be; a policy built in code (or
copied with `dataclasses.replace`) is checked like one read from a file.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from reconcile.fields import UNIT_NAMES
from reconcile.mapping import OPTIONAL_NAMES
from reconcile.policy import Policy
from reconcile.vocabulary import ASK, ENTRA_TO_HUMA, HUMA_TO_ENTRA


def test_defaults_leave_every_judgement_to_a_person() -> None:
    policy = Policy()

    assert dict(policy.initial_direction) == dict.fromkeys(UNIT_NAMES, ASK)
    assert policy.create_entra_users_automatically is False
    assert policy.auto_apply_entra_to_huma is False
    assert policy.backfill_positions is False
    assert policy.huma_default_group_id is None
    assert policy.entra_scope_domains == frozenset()


def test_from_dict_fills_missing_keys_and_completes_initial_directions() -> None:
    policy = Policy.from_dict(
        {
            "initial_direction": {"phone": HUMA_TO_ENTRA, "employment_id": ENTRA_TO_HUMA},
            "create_entra_users_automatically": True,
            "huma_default_group_id": "group-1",
            "entra_scope_domains": ["Example.COM"],
        }
    )

    assert policy.initial_direction["phone"] == HUMA_TO_ENTRA
    assert policy.initial_direction["employment_id"] == ENTRA_TO_HUMA
    assert policy.initial_direction["given_name"] == ASK
    assert policy.create_entra_users_automatically is True
    assert policy.huma_default_group_id == "group-1"
    assert policy.entra_scope_domains == frozenset({"example.com"})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param({"create_users": True}, "unknown policy settings", id="unknown-key"),
        pytest.param({1: True}, "unknown policy settings ['1']", id="key-not-text"),
        pytest.param({"initial_direction": {"email": ASK}}, "unknown fields", id="unknown-field"),
        pytest.param(
            {"initial_direction": {"employment_id": HUMA_TO_ENTRA}},
            "initial_direction['employment_id']",
            id="employment-id-never-to-entra",
        ),
        pytest.param(
            {"initial_direction": {"job_title": ENTRA_TO_HUMA}},
            "initial_direction['job_title']",
            id="position-never-to-huma",
        ),
        pytest.param({"initial_direction": "ask"}, "must be a mapping", id="direction-not-mapping"),
        pytest.param({"backfill_positions": "yes"}, "true or false", id="flag-not-bool"),
        pytest.param({"mass_change_max_share": 1.5}, "between 0 and 1", id="share-above-one"),
        pytest.param({"snapshot_max_shrink": True}, "between 0 and 1", id="shrink-bool"),
        pytest.param(
            {"mass_change_min_users": -1},
            "mass_change_min_users must be an integer, 0 or more, not -1",
            id="negative-count",
        ),
        pytest.param(
            {"mass_change_min_users": 2.5},
            "mass_change_min_users must be an integer, 0 or more, not 2.5",
            id="count-not-int",
        ),
        pytest.param({"huma_default_group_id": 7}, "must be a string", id="group-not-string"),
        pytest.param({"entra_scope_domains": "example.com"}, "list of domain", id="domains-str"),
        pytest.param(
            {"fields": ["department", "<b>cost_centre</b>", "title"]},
            "fields names unknown optional fields ['<b>cost_centre</b>', 'title']",
            id="unknown-optional-field",
        ),
        pytest.param(
            {"fields": "department"}, "fields must be a list of field names", id="fields-str"
        ),
        pytest.param(
            {"create_users": True, "backfill_positions": "yes"},
            "unknown policy settings ['create_users']",
            id="unknown-key-before-wrong-value",
        ),
    ],
)
def test_from_dict_refuses_wrong_settings(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Policy.from_dict(settings)


def test_policy_is_immutable() -> None:
    policy = Policy()

    with pytest.raises(AttributeError):
        policy.backfill_positions = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.initial_direction["phone"] = HUMA_TO_ENTRA  # type: ignore[index]


@pytest.mark.parametrize("wrong", [0, 65, 2.5, True, "8"])
def test_huma_max_concurrency_is_a_whole_number_from_1_to_64(wrong: Any) -> None:
    assert Policy().huma_max_concurrency == 16
    assert Policy.from_dict({"huma_max_concurrency": 4}).huma_max_concurrency == 4

    with pytest.raises(
        ValueError, match="huma_max_concurrency must be a whole number from 1 to 64"
    ):
        Policy.from_dict({"huma_max_concurrency": wrong})


def test_optional_fields_are_off_unless_a_connection_turns_them_on() -> None:
    assert Policy().fields == frozenset()

    policy = Policy.from_dict({"fields": ["department", "office", "department"]})

    assert policy.fields == frozenset({"department", "office"})
    assert isinstance(policy.fields, frozenset)
    assert Policy.from_dict({"fields": list(OPTIONAL_NAMES)}).fields == set(OPTIONAL_NAMES)


def test_every_wrong_setting_is_named_in_one_error() -> None:
    with pytest.raises(ValueError, match="backfill_positions") as raised:
        Policy.from_dict({"backfill_positions": "yes", "huma_max_concurrency": 0})

    assert "huma_max_concurrency must be a whole number from 1 to 64" in str(raised.value)


def test_a_policy_built_in_code_is_checked_like_one_from_a_file() -> None:
    with pytest.raises(ValueError, match="mass_change_max_share"):
        Policy(mass_change_max_share=2.0)
    with pytest.raises(ValueError, match="initial_direction"):
        dataclasses.replace(Policy(), initial_direction={"job_title": ENTRA_TO_HUMA})

    changed = dataclasses.replace(Policy(), huma_default_group_id="g-2")

    assert changed.huma_default_group_id == "g-2"
    assert changed.initial_direction == Policy().initial_direction
