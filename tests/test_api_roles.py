"""API keys carry a role: parsing TENURE_API_KEYS, and each route admitting only its roles."""

from __future__ import annotations

import pytest

from starter.api.roles import ApiKey, ApiKeyError, allows, parse_api_keys
from tests.api_kit import api_settings, app_client


def test_parse_keys_with_roles_and_names():
    keys = parse_api_keys("k1:app:billing-system, k2:support:maria,k3:billing,plain")
    assert keys == [
        ApiKey("k1", "app", "billing-system"),
        ApiKey("k2", "support", "maria"),
        ApiKey("k3", "app", "app"),
        ApiKey("plain", "app", "app"),
    ]
    assert keys[1].actor == "api:maria"
    assert parse_api_keys("") == [ApiKey("dev-key", "admin", "dev")], "no keys: the development admin key"


@pytest.mark.parametrize("value, fault", [("k1:boss", "unknown role 'boss'"), (":support", "the key itself is empty")])
def test_bad_keys_are_named(value: str, fault: str):
    with pytest.raises(ApiKeyError, match=fault):
        parse_api_keys(value)


def test_admin_may_do_everything_others_only_their_roles():
    assert allows(ApiKey("a", "admin", "a"), ("app",))
    assert allows(ApiKey("s", "support", "s"), ("app", "support"))
    assert not allows(ApiKey("v", "viewer", "v"), ("app",))


async def test_routes_admit_only_their_roles(program, tmp_path):
    s = api_settings(data_dir=tmp_path, api_keys="k-app:app,k-view:viewer,k-mkt:marketer")
    async with app_client(s, client=object(), program=program) as http:
        rewards = await http.get("/rewards", headers={"X-Api-Key": "k-view"})
        assert rewards.status_code == 200, rewards.text
        event = {"event_id": "e1", "customer_id": "cus_1", "kind": "login"}
        refused = await http.post("/events", json=event, headers={"X-Api-Key": "k-view"})
        assert refused.status_code == 403
        assert refused.json()["detail"] == {"role": "viewer", "allowed": ["admin", "app"]}
        marketer = await http.get("/rewards", headers={"X-Api-Key": "k-mkt"})
        assert marketer.status_code == 403
        wrong = await http.get("/rewards", headers={"X-Api-Key": "nope"})
        assert wrong.status_code == 401
