"""The channel test speaks each channel's own protocol: an Anthropic channel gets a Messages request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.client import Api
from tests.support.fake_anthropic import FakeAnthropic


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def anthropic_upstream() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic().start()
    yield fake
    fake.stop()


def test_testing_an_anthropic_channel(root: Api, anthropic_upstream: FakeAnthropic) -> None:
    created = root.post(
        "/api/channel/",
        json={
            "name": "claude",
            "type": 14,
            "key": "ant-key",
            "base_url": anthropic_upstream.url,
            "models": "claude-sonnet-4-5",
        },
    )
    assert created["success"], created
    channel_id = root.get("/api/channel/search", params={"keyword": "claude"})["data"][0]["id"]
    result = root.get(f"/api/channel/test/{channel_id}")
    assert result["success"] is True, result
    assert result["message"] == "Hello from Claude."
    sent = anthropic_upstream.received[-1]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == "ant-key"
    assert sent.body["model"] == "claude-sonnet-4-5"
    assert sent.body["messages"][0]["role"] == "user"
    assert isinstance(sent.body["max_tokens"], int) and sent.body["max_tokens"] > 0
