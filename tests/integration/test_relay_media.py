"""Images, audio and rerank through the relay: official SDK → gateway → fake upstream, billing in SQL."""

from __future__ import annotations

import io
import math
import threading
import wave
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_media import FakeMedia, Form, speech_audio
from tests.support.relay import RelaySetup
from tests.support.server import LiveServer

USER_QUOTA = 10_000_000
MODELS = "dall-e-2,dall-e-3,gpt-image-1,whisper-1,tts-1,rerank-v3.5,jina-reranker-v2-base-multilingual"
# Bytes that look like multipart framing, to prove file contents are forwarded untouched.
TRICKY = b"\r\n--boundary\r\nContent-Disposition: form-data\r\n\r\n\x00\xff"


@pytest.fixture
def upstream() -> Iterator[FakeMedia]:
    fake = FakeMedia()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def relay(server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine) -> RelaySetup:
    return RelaySetup.for_new_user(server, root, make_user, db, USER_QUOTA)


def wav(seconds: float, rate: int = 16_000) -> bytes:
    """A mono 16-bit PCM WAV of `seconds`, its samples full of multipart-looking bytes."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\r\n--" * int(rate * seconds / 2))
    return buffer.getvalue()


def alice_quota(relay: RelaySetup) -> int:
    return int(relay.scalar("SELECT quota FROM users WHERE username = 'alice'"))


def consume_logs(relay: RelaySetup) -> list[sa.Row]:
    with relay.db.connect() as conn:
        sql = "SELECT model_name, origin_model_name, quota, prompt_tokens, channel_id, token_name FROM logs"
        return list(conn.execute(sa.text(sql + " WHERE type = 2 ORDER BY id")))


def test_image_generation_is_relayed_and_billed_per_image(relay: RelaySetup, upstream: FakeMedia) -> None:
    channel = relay.add_channel(upstream, models=MODELS)
    reply = relay.client().images.generate(
        model="dall-e-3", prompt="a red fox", size="1024x1024", quality="hd", n=1
    )
    assert reply.data is not None and reply.data[0].url == "https://images.example/0.png"
    sent = upstream.received[-1]
    assert sent.path == "/v1/images/generations"
    assert sent.headers["Authorization"] == "Bearer upstream-key"
    assert sent.body == {
        "model": "dall-e-3",
        "prompt": "a red fox",
        "size": "1024x1024",
        "quality": "hd",
        "n": 1,
    }
    relay.wait_flushed(1)
    # dall-e-3 ratio 20 × size 1 × hd 2 × 1000 per image.
    assert [tuple(r) for r in consume_logs(relay)] == [("dall-e-3", "dall-e-3", 40_000, 0, channel, "k")]
    assert alice_quota(relay) == USER_QUOTA - 40_000
    assert relay.scalar("SELECT used_quota FROM tokens WHERE name = 'k'") == 40_000


def test_image_generation_defaults_to_dall_e_2(relay: RelaySetup, upstream: FakeMedia) -> None:
    relay.add_channel(upstream, models=MODELS)
    reply = relay.client().images.generate(prompt="two cats", size="512x512", n=2)
    assert reply.data is not None and len(reply.data) == 2
    assert upstream.received[-1].body["model"] == "dall-e-2"
    relay.wait_flushed(1)
    assert relay.scalar("SELECT quota FROM logs WHERE type = 2") == 2 * 9_000  # 8 × 1.125 × 1000


def test_bad_image_options_are_refused_with_400_and_no_charge(relay: RelaySetup, upstream: FakeMedia) -> None:
    relay.add_channel(upstream, models=MODELS)
    client = relay.client()
    refused: list[tuple[dict[str, Any], str]] = [
        ({"model": "dall-e-2", "size": "1792x1024"}, "size 1792x1024 is not supported by dall-e-2"),
        ({"model": "dall-e-2", "n": 11}, "n must be between 1 and 10 for dall-e-2"),
        ({"model": "dall-e-2", "n": 0}, "n must be between 1 and 10 for dall-e-2"),
        ({"model": "dall-e-3", "n": 2}, "dall-e-3 only supports n=1"),
        ({"model": "dall-e-3", "size": "512x512"}, "size 512x512 is not supported by dall-e-3"),
        ({"model": "dall-e-3", "quality": "ultra"}, "quality ultra is not supported by dall-e-3"),
        ({"model": "dall-e-2", "prompt": "x" * 1001}, "prompt is too long for dall-e-2"),
        ({"model": "gpt-image-1", "size": "300x300"}, "size 300x300 is not supported by gpt-image-1"),
    ]
    for params, message in refused:
        with pytest.raises(openai.BadRequestError) as info:
            client.images.generate(**{"prompt": "a fox", **params})
        assert info.value.status_code == 400
        assert message in str(info.value), (params, str(info.value))
        assert isinstance(info.value.body, dict) and info.value.body["code"] == "invalid_image_request"
    assert upstream.received == []
    client.images.generate(model="dall-e-2", prompt="ok", size="256x256")
    relay.wait_flushed(1)
    assert alice_quota(relay) == USER_QUOTA - 8_000


def test_image_edit_forwards_the_multipart_body_intact(relay: RelaySetup, upstream: FakeMedia) -> None:
    relay.add_channel(upstream, models=MODELS)
    image, mask = b"\x89PNG" + TRICKY * 1000, b"\x89PNG-mask" + TRICKY
    reply = relay.client().images.edit(
        model="dall-e-2",
        image=("fox.png", image, "image/png"),
        mask=("mask.png", mask, "image/png"),
        prompt="add a hat",
        n=2,
        size="256x256",
    )
    assert reply.data is not None and len(reply.data) == 2
    sent = upstream.received[-1]
    assert sent.path == "/v1/images/edits"
    assert sent.headers["Authorization"] == "Bearer upstream-key"
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    form = sent.body
    assert isinstance(form, Form)
    assert form.fields == {"model": "dall-e-2", "prompt": "add a hat", "n": "2", "size": "256x256"}
    assert form.files == {
        "image": [("fox.png", "image/png", image)],
        "mask": [("mask.png", "image/png", mask)],
    }
    relay.wait_flushed(1)
    assert relay.scalar("SELECT quota FROM logs WHERE type = 2") == 2 * 8_000  # dall-e-2 256x256


def test_image_edit_with_a_mapped_model_rewrites_only_the_model_field(
    relay: RelaySetup, upstream: FakeMedia
) -> None:
    relay.add_channel(upstream, models=MODELS, model_mapping='{"dall-e-2": "my-painter"}')
    image = TRICKY * 500
    relay.client().images.edit(image=("a.png", image, "image/png"), prompt="sky")
    form = upstream.received[-1].body
    assert isinstance(form, Form)
    assert form.fields == {"prompt": "sky", "model": "my-painter"}
    assert form.files["image"] == [("a.png", "image/png", image)]
    relay.wait_flushed(1)
    # An unpriced model costs the fallback ratio 1.25 × 1000 per image, whatever the size.
    assert [tuple(r)[:3] for r in consume_logs(relay)] == [("my-painter", "dall-e-2", 1_250)]


def test_transcription_bills_the_duration_the_upstream_reports(
    relay: RelaySetup, upstream: FakeMedia
) -> None:
    relay.add_channel(upstream, models=MODELS)
    audio = wav(2.0)
    reply = relay.client().audio.transcriptions.create(
        model="whisper-1",
        file=("speech.wav", audio, "audio/wav"),
        response_format="verbose_json",
        language="en",
    )
    assert reply.text == "hello from the fake whisper"
    assert reply.duration == 12.5
    sent = upstream.received[-1]
    assert sent.path == "/v1/audio/transcriptions"
    assert sent.headers["Authorization"] == "Bearer upstream-key"
    assert isinstance(sent.body, Form)
    assert sent.body.fields == {"model": "whisper-1", "response_format": "verbose_json", "language": "en"}
    assert sent.body.files == {"file": [("speech.wav", "audio/wav", audio)]}
    relay.wait_flushed(1)
    # 12.5 s × 10 tokens per second × whisper-1's ratio 15.
    assert [tuple(r)[2:4] for r in consume_logs(relay)] == [(1_875, 125)]
    assert alice_quota(relay) == USER_QUOTA - 1_875


def test_transcription_formats_pass_through_and_bill_the_file_length(
    relay: RelaySetup, upstream: FakeMedia
) -> None:
    relay.add_channel(upstream, models=MODELS)
    client = relay.client()
    audio = ("speech.wav", wav(2.0), "audio/wav")
    assert client.audio.transcriptions.create(model="whisper-1", file=audio, response_format="text") == (
        "hello from the fake whisper"
    )
    srt = client.audio.transcriptions.create(model="whisper-1", file=audio, response_format="srt")
    assert srt == "1\n00:00:00,000 --> 00:00:12,500\nhello from the fake whisper\n\n"
    vtt = client.audio.transcriptions.create(model="whisper-1", file=audio, response_format="vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:12.500\n")
    assert (
        client.audio.transcriptions.create(model="whisper-1", file=audio).text
        == "hello from the fake whisper"
    )
    relay.wait_flushed(4)
    # No duration in these answers: the WAV header says 2 s → 20 tokens × 15.
    assert [tuple(r)[2:4] for r in consume_logs(relay)] == [(300, 20)] * 4


def test_translation_without_a_model_uses_whisper_1(relay: RelaySetup, upstream: FakeMedia) -> None:
    relay.add_channel(upstream, models=MODELS)
    audio = b"ID3" + TRICKY * 4000  # an mp3 the gateway cannot decode: billed by size at 128 kbit/s
    response = httpx.post(
        relay.server.url + "/v1/audio/translations",
        headers={"Authorization": f"Bearer {relay.key}"},
        files={"file": ("talk.mp3", audio, "audio/mpeg")},
        data={"response_format": "json"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"text": "hello from the fake whisper"}
    sent = upstream.received[-1]
    assert sent.path == "/v1/audio/translations"
    assert isinstance(sent.body, Form)
    assert sent.body.fields == {"response_format": "json", "model": "whisper-1"}
    assert sent.body.files == {"file": [("talk.mp3", "audio/mpeg", audio)]}
    relay.wait_flushed(1)
    tokens = math.ceil(len(audio) * 8 / 128_000 * 10)
    assert relay.scalar("SELECT prompt_tokens FROM logs WHERE type = 2") == tokens
    assert relay.scalar("SELECT quota FROM logs WHERE type = 2") == tokens * 15


def test_malformed_uploads_are_refused_with_400(relay: RelaySetup, upstream: FakeMedia) -> None:
    relay.add_channel(upstream, models=MODELS)
    url, auth = relay.server.url, {"Authorization": f"Bearer {relay.key}"}
    not_multipart = httpx.post(url + "/v1/audio/transcriptions", json={"model": "whisper-1"}, headers=auth)
    assert not_multipart.status_code == 400
    assert "must be multipart/form-data" in not_multipart.json()["error"]["message"]
    no_file = httpx.post(url + "/v1/audio/transcriptions", files={"model": (None, "whisper-1")}, headers=auth)
    assert no_file.status_code == 400 and "file is required" in no_file.json()["error"]["message"]
    no_image = httpx.post(url + "/v1/images/edits", files={"prompt": (None, "hat")}, headers=auth)
    assert no_image.status_code == 400 and "image is required" in no_image.json()["error"]["message"]
    cut = httpx.post(
        url + "/v1/audio/transcriptions",
        content=b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF',
        headers={**auth, "Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert cut.status_code == 400 and "invalid multipart body" in cut.json()["error"]["message"]
    assert upstream.received == []


def test_speech_is_streamed_as_it_arrives_and_billed_by_characters(
    relay: RelaySetup, upstream: FakeMedia
) -> None:
    relay.add_channel(upstream, models=MODELS)
    upstream.media.speech_gate = threading.Event()
    with relay.client().audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input="Hello world"
    ) as response:
        assert response.headers["content-type"] == "audio/mpeg"
        chunks = response.iter_bytes()
        received = next(chunks)
        # The first bytes are here while the upstream is still holding the rest.
        assert received and upstream.finished_speeches == 0
        upstream.media.speech_gate.set()
        audio = received + b"".join(chunks)
    assert audio == speech_audio(1 << 20)
    sent = upstream.received[-1]
    assert sent.path == "/v1/audio/speech"
    assert sent.body == {"model": "tts-1", "voice": "alloy", "input": "Hello world"}
    relay.wait_flushed(1)
    assert [tuple(r)[2:4] for r in consume_logs(relay)] == [(83, 11)]  # ceil(11 chars × 7.5)


def test_speech_input_over_4096_characters_is_refused(relay: RelaySetup, upstream: FakeMedia) -> None:
    relay.add_channel(upstream, models=MODELS)
    with pytest.raises(openai.BadRequestError) as info:
        relay.client().audio.speech.create(model="tts-1", voice="alloy", input="x" * 4097)
    assert isinstance(info.value.body, dict) and info.value.body["code"] == "text_too_long"
    assert upstream.received == []
    relay.client().audio.speech.create(model="tts-1", voice="alloy", input="y" * 4096).read()
    relay.wait_flushed(1)
    assert relay.scalar("SELECT quota FROM logs WHERE type = 2") == 30_720  # 4096 × 7.5


def test_rerank_passes_through_and_is_billed_per_call(relay: RelaySetup, upstream: FakeMedia) -> None:
    relay.add_channel(upstream, models=MODELS)
    headers = {"Authorization": f"Bearer {relay.key}"}
    body = {"query": "capital of France", "documents": ["Paris", "Berlin", "Rome"], "top_n": 2}
    jina = httpx.post(
        relay.server.url + "/v1/rerank",
        json={**body, "model": "jina-reranker-v2-base-multilingual", "return_documents": True},
        headers=headers,
    )
    assert jina.status_code == 200, jina.text
    assert jina.json() == {
        "model": "jina-reranker-v2-base-multilingual",
        "results": [
            {"index": 0, "relevance_score": 1.0, "document": {"text": "Paris"}},
            {"index": 1, "relevance_score": 0.9, "document": {"text": "Berlin"}},
        ],
        "usage": {"total_tokens": 42},
    }
    assert upstream.received[-1].path == "/v1/rerank"
    assert upstream.received[-1].body["return_documents"] is True
    cohere = httpx.post(
        relay.server.url + "/v2/rerank", json={**body, "model": "rerank-v3.5"}, headers=headers
    )
    assert cohere.status_code == 200, cohere.text
    assert cohere.json()["meta"]["billed_units"] == {"search_units": 1}
    sent = upstream.received[-1]
    assert sent.path == "/v2/rerank"
    assert sent.headers["Authorization"] == "Bearer upstream-key"
    assert sent.body == {**body, "model": "rerank-v3.5"}
    relay.wait_flushed(2)
    # Unpriced jina model: 1.25 × 1000 per call; rerank-v3.5: $0.002 per search.
    assert [tuple(r)[2:4] for r in consume_logs(relay)] == [(1_250, 42), (1_000, 42)]
    assert alice_quota(relay) == USER_QUOTA - 2_250


def test_upstream_500_is_retried_on_another_channel_with_the_same_upload(
    relay: RelaySetup, upstream: FakeMedia, root: Api
) -> None:
    broken = FakeMedia()
    broken.start()
    try:
        broken.script.failures = [(500, {"error": {"message": "boom", "type": "server_error"}})]
        relay.add_channel(broken, name="broken", models=MODELS, priority=10)
        good = relay.add_channel(upstream, name="good", models=MODELS)
        assert root.put("/api/option/", json={"key": "RetryTimes", "value": "1"})["success"]
        audio = wav(1.0)
        reply = relay.client().audio.transcriptions.create(
            model="whisper-1", file=("a.wav", audio, "audio/wav"), response_format="verbose_json"
        )
        assert reply.text == "hello from the fake whisper"
        first, second = broken.received[0].body, upstream.received[0].body
        assert isinstance(first, Form) and isinstance(second, Form)
        assert first.raw == second.raw and second.files["file"] == [("a.wav", "audio/wav", audio)]
        relay.wait_flushed(1)
        assert [tuple(r)[2:5] for r in consume_logs(relay)] == [(1_875, 125, good)]
    finally:
        broken.stop()


def test_final_failure_refunds_the_reservation(
    server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine, upstream: FakeMedia
) -> None:
    # 500 000 is less than 100 × the 40 000 an hd image costs: the full price is really held.
    bob = RelaySetup(server=server, root=root, user=make_user("bob", quota=500_000), key="", db=db)
    bob.key = bob.make_key()
    bob.add_channel(upstream, models=MODELS)
    upstream.script.failures = [(500, {"error": {"message": "upstream exploded", "type": "server_error"}})]
    with pytest.raises(openai.InternalServerError) as info:
        bob.client().images.generate(model="dall-e-3", prompt="fox", quality="hd")
    assert "upstream exploded" in str(info.value)
    bob.client().images.generate(model="dall-e-2", prompt="fox", size="256x256")
    bob.wait_flushed(1)
    assert bob.scalar("SELECT quota FROM users WHERE username = 'bob'") == 500_000 - 8_000
    assert bob.scalar("SELECT COUNT(*) FROM logs WHERE type = 2") == 1


def test_quota_is_checked_before_the_upstream_is_called(
    server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine, upstream: FakeMedia
) -> None:
    carol = RelaySetup(server=server, root=root, user=make_user("carol", quota=30_000), key="", db=db)
    carol.key = carol.make_key()
    carol.add_channel(upstream, models=MODELS)
    with pytest.raises(openai.PermissionDeniedError) as info:
        carol.client().images.generate(model="dall-e-3", prompt="fox", quality="hd")
    assert isinstance(info.value.body, dict) and info.value.body["code"] == "insufficient_user_quota"
    assert upstream.received == []


def test_group_ratio_scales_media_prices(
    server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine, upstream: FakeMedia
) -> None:
    vip = RelaySetup(
        server=server, root=root, user=make_user("dave", quota=USER_QUOTA, group="vip"), key="", db=db
    )
    vip.key = vip.make_key()
    vip.add_channel(upstream, models=MODELS, group="default,vip")
    assert root.put("/api/option/", json={"key": "GroupRatio", "value": '{"default": 1, "vip": 2}'})[
        "success"
    ]
    vip.client().images.generate(model="dall-e-2", prompt="fox", size="256x256")
    vip.client().audio.speech.create(model="tts-1", voice="alloy", input="Hello world").read()
    vip.wait_flushed(2)
    assert vip.scalar("SELECT SUM(quota) FROM logs WHERE type = 2") == 16_000 + 165  # ceil(11 × 7.5 × 2)


def test_model_allow_list_applies_to_media(relay: RelaySetup, upstream: FakeMedia) -> None:
    relay.add_channel(upstream, models=MODELS)
    key = relay.make_key(name="speech-only", models="tts-1")
    with pytest.raises(openai.PermissionDeniedError) as info:
        relay.client(key=key).images.generate(prompt="fox")
    assert "does not have permission to use the model: dall-e-2" in str(info.value)
    with pytest.raises(openai.AuthenticationError):
        relay.client(key="sk-" + "z" * 48).audio.speech.create(model="tts-1", voice="alloy", input="hi")
    assert upstream.received == []
