"""Each OpenAI-family channel type, relayed to a real fake server: the URL, headers and body it got."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_openai import FakeOpenAI
from tests.support.relay import RelaySetup
from tests.support.server import LiveServer


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """URL building does not depend on the database: one backend is enough here."""
    return str(request.param)


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def relay(server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine) -> RelaySetup:
    return RelaySetup.for_new_user(server, root, make_user, db, 10_000_000)


# (type id, path appended to the fake's address as the channel's base URL, path the upstream must see)
CASES = [
    (1, "", "/v1/chat/completions"),  # OpenAI
    (2, "", "/v1/chat/completions"),  # API2D
    (8, "", "/v1/chat/completions"),  # Custom
    (25, "", "/v1/chat/completions"),  # Moonshot
    (26, "", "/v1/chat/completions"),  # Baichuan
    (28, "", "/v1/chat/completions"),  # Mistral
    (29, "/openai", "/openai/v1/chat/completions"),  # Groq
    (30, "", "/v1/chat/completions"),  # Ollama (OpenAI-compatible API)
    (31, "", "/v1/chat/completions"),  # LingYiWanWu
    (32, "", "/v1/chat/completions"),  # StepFun
    (36, "", "/v1/chat/completions"),  # DeepSeek
    (39, "", "/v1/chat/completions"),  # Together
    (40, "", "/api/v3/chat/completions"),  # Doubao
    (41, "/v3/openai", "/v3/openai/chat/completions"),  # Novita
    (44, "", "/v1/chat/completions"),  # SiliconFlow
    (45, "", "/v1/chat/completions"),  # xAI
    (47, "", "/v2/chat/completions"),  # BaiduV2
    (49, "", "/compatible-mode/v1/chat/completions"),  # AliBailian
    (50, "/v1", "/v1/chat/completions"),  # OpenAI-compatible, base with version
    (50, "/api/v4", "/api/v4/chat/completions"),  # OpenAI-compatible, other version segment
    (51, "/v1beta/openai", "/v1beta/openai/chat/completions"),  # Gemini OpenAI-compatible
    (54, "/inference", "/inference/v1/chat/completions"),  # Fireworks
    (55, "/v1", "/v1/chat/completions"),  # NVIDIA
    (56, "/v1", "/v1/chat/completions"),  # Cerebras
    (57, "", "/v1/openai/chat/completions"),  # DeepInfra
]


@pytest.mark.parametrize(("channel_type", "base_suffix", "expected_path"), CASES)
def test_openai_family_request_reaches_the_right_url(
    relay: RelaySetup, upstream: FakeOpenAI, channel_type: int, base_suffix: str, expected_path: str
) -> None:
    relay.add_channel(upstream, type=channel_type, base_url=upstream.url + base_suffix)
    reply = relay.client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], temperature=0.5
    )
    assert reply.choices[0].message.content == "Hello from the fake upstream."
    sent = upstream.received[-1]
    assert sent.path == expected_path
    assert sent.headers["Authorization"] == "Bearer upstream-key"
    assert sent.body["model"] == "gpt-4o-mini"
    assert sent.body["temperature"] == 0.5
    assert sent.body["messages"] == [{"role": "user", "content": "hi"}]


def test_azure_uses_deployment_url_api_version_and_api_key(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream, type=3, config='{"api_version": "2024-10-21"}')
    relay.client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    sent = upstream.received[-1]
    assert sent.path == "/openai/deployments/gpt-4o-mini/chat/completions"
    assert sent.query == "api-version=2024-10-21"
    assert sent.headers["api-key"] == "upstream-key"
    assert "Authorization" not in sent.headers


def test_openrouter_sends_its_headers_and_provider_sort(
    make_server: Callable[..., LiveServer], db: sa.Engine, upstream: FakeOpenAI
) -> None:
    from tests.support.rows import insert_user

    server = make_server(OPENROUTER_PROVIDER_SORT="throughput")
    insert_user(db, "olga", "password123", quota=10_000_000)
    admin, user = Api(server.url), Api(server.url)
    admin.login("root", "123456")
    user.login("olga", "password123")
    relay = RelaySetup(server=server, root=admin, user=user, key="", db=db)
    relay.key = relay.make_key()
    relay.add_channel(upstream, type=20, base_url=upstream.url + "/api")
    relay.client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    sent = upstream.received[-1]
    assert sent.path == "/api/v1/chat/completions"
    assert sent.headers["X-Title"] == "One API"
    assert sent.headers.get("HTTP-Referer")
    assert sent.body["provider"]["sort"] == "throughput"


def test_reasoning_model_parameters_are_normalised(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream, models="o3-mini")
    relay.client().chat.completions.create(
        model="o3-mini",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        max_tokens=100,
        top_p=0.5,
    )
    sent = upstream.received[-1].body
    assert sent["max_completion_tokens"] == 100 and "max_tokens" not in sent
    assert "top_p" not in sent
    assert sent["messages"][0]["role"] == "developer"


def test_custom_headers_from_channel_config(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream, config='{"custom_headers": {"X-Tenant": "acme"}}')
    relay.client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert upstream.received[-1].headers["X-Tenant"] == "acme"
