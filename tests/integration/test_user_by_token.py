"""GET /api/user/get-by-token: a relay key tells who owns it and what it has left."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.relay import RelaySetup
from tests.support.server import LiveServer


def test_owner_and_token_of_a_key(
    server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine
) -> None:
    relay = RelaySetup(server=server, root=root, user=make_user("owen", quota=5000), key="", db=db)
    relay.key = relay.make_key(name="mine", unlimited_quota=False, remain_quota=700)
    answer = httpx.get(
        server.url + "/api/user/get-by-token", headers={"Authorization": f"Bearer {relay.key}"}, timeout=30
    ).json()
    assert answer["success"] is True
    assert answer["data"]["user"]["username"] == "owen" and answer["data"]["user"]["quota"] == 5000
    assert answer["data"]["token"]["name"] == "mine" and answer["data"]["token"]["remain_quota"] == 700
    assert answer["data"]["token"]["key"] == relay.key
    for secret in ("password", "access_token", "totp_secret"):
        assert secret not in answer["data"]["user"]
    refused = httpx.get(server.url + "/api/user/get-by-token", headers={"Authorization": "Bearer sk-nope"})
    assert refused.status_code == 401
