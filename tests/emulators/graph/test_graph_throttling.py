"""Graph's throttling model: resource-unit and write budgets per app and tenant.

Pins: every answer carries `x-ms-resource-unit` with Graph's cost; near the limit
`x-ms-throttle-limit-percentage` appears; over budget the answer is 429 `TooManyRequests` with
`Retry-After`, `x-ms-throttle-scope` and `x-ms-throttle-information`, and after waiting that long
the request goes through, and not a second sooner; writes have their own budget; budgets are per
app; `time_scale` shrinks the windows; batch items are throttled one by one. Time stands still in
the tests that count on a budget (`time_frozen`) and moves only when the test advances it, so no
refill sneaks in while a slow machine answers.
"""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("params", "cost"),
    [
        pytest.param({}, "2", id="list"),
        pytest.param({"$select": "id"}, "1", id="list-select"),
        pytest.param({"$top": "5"}, "1", id="list-small-top"),
        pytest.param({"$top": "999", "$select": "id,mail"}, "1", id="product-page"),
    ],
)
def test_resource_unit_costs(graph, params, cost):
    assert graph.get("/users", params=params).headers["x-ms-resource-unit"] == cost


def test_single_get_and_write_cost(graph):
    assert graph.get("/users/anne.berg@fjordline.no").headers["x-ms-resource-unit"] == "1"
    patched = graph.patch("/users/anne.berg@fjordline.no", json={"jobTitle": "x"})
    assert patched.headers["x-ms-resource-unit"] == "1"


def test_resource_units_run_out_and_come_back(entra, graph):
    # 10 RU per 10 emulated s (1 RU a second), 2 RU a listing: five go, the sixth is refused.
    entra.admin.update_settings({"time_frozen": True, "throttling": {"resource_units_per_10s": 10}})
    statuses = [graph.get("/users").status_code for _ in range(5)]
    response = graph.get("/users")
    assert (statuses, response.status_code) == ([200] * 5, 429)
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("TooManyRequests", "Please retry again later.")
    assert error["innerError"]["code"] == "429"
    assert response.headers["x-ms-throttle-information"] == "ResourceUnitLimitExceeded"
    assert response.headers["x-ms-throttle-scope"] == (
        f"Tenant_Application/ReadWrite/{entra.app_id}/{entra.tenant_id}"
    )
    assert response.headers["Retry-After"] == "2"  # 2 RU missing, refilled at 1 RU a second
    entra.admin.advance_clock(1)
    early = graph.get("/users")
    assert (early.status_code, early.headers["Retry-After"]) == (429, "1")
    entra.admin.advance_clock(1)
    assert graph.get("/users").status_code == 200


def test_limit_percentage_near_the_limit(entra, graph):
    entra.admin.update_settings({"time_frozen": True, "throttling": {"resource_units_per_10s": 10}})
    seen = [graph.get("/users/anne.berg@fjordline.no").headers for _ in range(9)]
    assert "x-ms-throttle-limit-percentage" not in seen[0]
    assert float(seen[-1]["x-ms-throttle-limit-percentage"]) > 0.8


def test_write_budget(entra, graph):
    # 3 writes per 150 emulated s, time 100x faster: one write comes back every 0.5 real s.
    entra.admin.update_settings(
        {"time_scale": 100, "time_frozen": True, "throttling": {"writes_per_150s": 3}}
    )
    statuses = [
        graph.patch("/users/anne.berg@fjordline.no", json={"jobTitle": str(i)}).status_code
        for i in range(4)
    ]
    assert statuses == [204, 204, 204, 429]
    refused = graph.patch("/users/anne.berg@fjordline.no", json={"jobTitle": "late"})
    assert refused.headers["x-ms-throttle-information"] == "WriteLimitExceeded"
    assert refused.headers["x-ms-throttle-scope"].startswith("Tenant_Application/Write/")
    assert refused.headers["Retry-After"] == "1"  # 50 emulated s, 0.5 real s, rounded up
    assert graph.get("/users/anne.berg@fjordline.no").status_code == 200  # reads still go
    entra.admin.advance_clock(0.4)
    assert graph.patch("/users/anne.berg@fjordline.no", json={"jobTitle": "x"}).status_code == 429
    entra.admin.advance_clock(0.1)
    assert graph.patch("/users/anne.berg@fjordline.no", json={"jobTitle": "y"}).status_code == 204


def test_budgets_are_per_app(entra, graph):
    entra.admin.update_settings({"time_frozen": True, "throttling": {"resource_units_per_10s": 2}})
    assert graph.get("/users").status_code == 200
    assert graph.get("/users").status_code == 429
    with entra.graph(app="reader-app") as reader:
        assert reader.get("/users").status_code == 200


def test_throttling_can_be_turned_off(entra, graph):
    entra.admin.update_settings({"throttling": {"enabled": False, "resource_units_per_10s": 1}})
    assert {graph.get("/users").status_code for _ in range(3)} == {200}


def test_batch_items_are_throttled_one_by_one(entra, graph):
    entra.admin.update_settings({"throttling": {"resource_units_per_10s": 5}})
    requests = [
        {"id": str(i), "method": "GET", "url": "/users/anne.berg@fjordline.no"} for i in range(8)
    ]
    response = graph.post("/$batch", json={"requests": requests})
    assert response.status_code == 200
    answers = response.json()["responses"]
    assert sorted(a["status"] for a in answers) == [200] * 5 + [429] * 3
    throttled = [a for a in answers if a["status"] == 429]
    assert all(int(a["headers"]["Retry-After"]) >= 1 for a in throttled)
    assert all(
        a["headers"]["x-ms-throttle-information"] == "ResourceUnitLimitExceeded" for a in throttled
    )


def test_injected_throttle_on_plain_requests(entra, graph):
    entra.admin.update_settings({"faults": {"throttle_rate": 1.0, "throttle_retry_after": 7}})
    response = graph.get("/users")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["error"]["code"] == "TooManyRequests"
    assert entra.admin.requests()[-1]["fault"] == "throttle"


def test_throttling_settings_are_checked(entra):
    with pytest.raises(RuntimeError, match=r"unknown setting 'throttling\.bogus'"):
        entra.admin.update_settings({"throttling": {"bogus": 1}})
    settings = entra.admin.update_settings({"throttling": {"resource_units_per_10s": None}})
    assert settings["throttling"] == {
        "enabled": True,
        "resource_units_per_10s": None,
        "writes_per_150s": 3000,
    }
    assert settings["deny_app_only_hire_date_writes"] is False
