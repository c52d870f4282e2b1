"""The ASGI front: relay routes bypass FastAPI, yet keep request ids and One API's error shapes."""

from __future__ import annotations

import pytest

from tests.support.client import Api
from tests.support.server import LiveServer


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_wrong_method_on_a_relay_path_is_invalid_url_405(anon: Api) -> None:
    response = anon.http.get("/v1/chat/completions")
    assert response.status_code == 405
    assert response.json()["error"]["message"] == "Invalid URL (GET /v1/chat/completions)"


def test_unknown_relay_path_is_invalid_url_404(anon: Api) -> None:
    response = anon.http.post("/v1/nothing-here", json={})
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_relay_and_api_answers_both_carry_a_request_id(anon: Api) -> None:
    relay = anon.http.post("/v1/chat/completions", json={"model": "x"})
    api = anon.http.get("/api/status")
    assert relay.status_code == 401
    assert relay.headers["x-oneapi-request-id"].isdigit()
    assert api.headers["x-oneapi-request-id"].isdigit()
    assert relay.headers["x-oneapi-request-id"] != api.headers["x-oneapi-request-id"]
    assert "(request id: " + relay.headers["x-oneapi-request-id"] + ")" in relay.json()["error"]["message"]


def test_an_unexpected_error_in_a_relay_endpoint_is_a_json_500(server: LiveServer, anon: Api) -> None:
    server.state.relay = None  # break the relay on purpose: the endpoint raises AttributeError
    response = anon.http.post(
        "/v1/chat/completions", json={"model": "x"}, headers={"Authorization": "Bearer sk-whatever"}
    )
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "Traceback" not in response.text
