"""The targeted readers against the emulators: only the named users are read.

Pins: Huma reads each named id by `GET /users/{id}` (a user Huma no longer has is absent, an id
that is not a UUID is never requested); Graph reads linked users by object id and the others by
mail or UPN, all through `$batch`, with an email holding a quote sent as an OData literal that
ends nothing; a read Graph refuses fails the read rather than leaving a partial view.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from resources.graph import GraphResource
from resources.graph_lookup import LookupFailed, odata_string
from resources.huma import HumaResource
from tests.resources.conftest import Outside, graph_credentials, huma_credentials


def _members(outside: Outside) -> list[dict]:
    users = outside.tenant["users"]
    return [u for u in users if u.get("userType") == "Member" and u.get("mail")]


def test_huma_reads_only_the_named_users(outside: Outside) -> None:
    named = [u["id"] for u in outside.world.huma["users"][:3]]
    gone = str(uuid.uuid4())
    resource = HumaResource(**huma_credentials(outside))
    try:
        snapshot = resource.read_users(huma_ids=[*named, gone, "../auth", named[0]])
    finally:
        resource.close()
    assert sorted(snapshot.users.get_column("huma_id").to_list()) == sorted(named)
    assert snapshot.complete
    asked = {e["path"] for e in outside.huma.requests(path_prefix="/users")}
    assert asked == {f"/users/{i}" for i in [*named, gone]}


def test_graph_reads_by_object_id_and_by_mail_or_upn_in_batches(
    outside: Outside, graph_resource: Callable[..., GraphResource]
) -> None:
    members = _members(outside)
    by_id, by_mail = members[:2], members[2:25]
    resource = graph_resource(**graph_credentials(outside))
    snapshot = resource.read_users(
        entra_ids=[u["id"] for u in by_id],
        emails=[u["mail"].upper() for u in by_mail] + ["o'hara@nowhere.example"],
    )
    found = set(snapshot.users.get_column("entra_id").to_list())
    assert found == {u["id"] for u in members[:25]}
    assert "o'hara@nowhere.example" in snapshot.looked_up_emails
    batches = outside.entra.requests(method="POST", path_prefix="/v1.0/$batch")
    assert len(batches) == 2  # 26 reads, twenty to a batch


def test_an_odata_literal_doubles_its_quotes() -> None:
    assert odata_string("o'hara@x.example") == "'o''hara@x.example'"


def test_a_refused_graph_read_fails_the_read(
    outside: Outside, graph_resource: Callable[..., GraphResource]
) -> None:
    outside.entra_settings(error_rate=1.0, error_statuses=[400])
    resource = graph_resource(**graph_credentials(outside))
    with pytest.raises(LookupFailed):
        resource.read_users(entra_ids=[], emails=[_members(outside)[0]["mail"]])
