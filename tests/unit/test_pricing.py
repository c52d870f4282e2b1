"""Quota formulas and price resolution, checked against hand-computed numbers (SPEC §5)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oneapi.services.price_table import MODEL_PRICES
from oneapi.services.pricing import (
    FALLBACK_RATIO,
    ImageOptionError,
    Price,
    Usage,
    builtin_price,
    group_ratio,
    image_quota,
    per_call_quota,
    pre_consume_quota,
    price_of,
    quota_to_usd,
    stt_quota,
    text_quota,
    tts_quota,
    usd_to_quota,
)

NO_OVERRIDES: dict[str, float] = {}
MINI = Price(0.075, 4, 0.0375)
CACHING = Price(1, 2, cached_input_ratio=0.1, cache_write_5m_ratio=1.25, cache_write_1h_ratio=2)
SONNET = Price(1.5, 5, cached_input_ratio=0.15, cache_write_5m_ratio=1.875, cache_write_1h_ratio=3)


def price(model: str, channel_model_configs: dict[str, object] | None = None) -> Price:
    return price_of(
        model,
        model_ratio_overrides=NO_OVERRIDES,
        completion_ratio_overrides=NO_OVERRIDES,
        channel_model_configs=channel_model_configs,
    )


def quota(usage: Usage, p: Price, group: float = 1, excludes: bool = False, tools: int = 0) -> int:
    return text_quota(usage, p, group, prompt_excludes_cache=excludes, tools_cost=tools)


# --- text formula ---------------------------------------------------------------------------


def test_worked_example_gpt_4o_mini_11_prompt_7_completion_costs_3() -> None:
    # ceil(11 × 0.075 + 7 × 0.075 × 4) = ceil(2.925)
    assert quota(Usage(11, 7), price("gpt-4o-mini")) == 3


def test_group_ratio_multiplies_every_bucket() -> None:
    # ceil(2.925 × 2) = 6
    assert quota(Usage(11, 7), MINI, group=2) == 6
    # 50 × 1 × 2 + 50 × 0.5 × 2 = 150
    assert quota(Usage(100, 0, cached_tokens=50), Price(1, 1, 0.5), group=2) == 150


def test_cached_tokens_are_carved_out_of_openai_prompt_at_cached_price() -> None:
    # gpt-4o: 600 × 1.25 + 400 × 0.625 + 100 × 5 = 750 + 250 + 500
    usage = Usage(1000, 100, cached_tokens=400)
    assert quota(usage, price("gpt-4o")) == 1500


def test_cached_ratio_zero_means_normal_price_and_negative_means_free() -> None:
    usage = Usage(100, 10, cached_tokens=60)
    assert quota(usage, Price(1, 1)) == 110  # 40 + 60 + 10
    assert quota(usage, Price(1, 1, cached_input_ratio=-1)) == 50  # 40 + 0 + 10


def test_cache_writes_are_carved_out_and_priced_by_window() -> None:
    # non-cached 100 - 20 - 10 - 30 = 40; 40×1 + 20×0.1 + 10×1.25 + 30×2 + 5×2 = 124.5
    usage = Usage(100, 5, cached_tokens=20, cache_write_5m_tokens=10, cache_write_1h_tokens=30)
    assert quota(usage, CACHING) == 125


def test_cache_writes_larger_than_the_remaining_prompt_are_trimmed_one_hour_first() -> None:
    # remaining 60, writes 80: trim 20 from 1h → writes 30/30; 40×0.1 + 30×1.25 + 30×2 = 101.5
    usage = Usage(100, 0, cached_tokens=40, cache_write_5m_tokens=30, cache_write_1h_tokens=50)
    assert quota(usage, CACHING) == 102
    # remaining 10, writes 25: 1h 5 → 0, 5m 20 → 10; 90×0.1 + 10×1.25 = 21.5
    usage = Usage(100, 0, cached_tokens=90, cache_write_5m_tokens=20, cache_write_1h_tokens=5)
    assert quota(usage, CACHING) == 22


def test_cache_write_ratio_zero_falls_back_to_input_price() -> None:
    # 50 × 1 + 50 × 1 (write at the input price)
    assert quota(Usage(100, 0, cache_write_5m_tokens=50), Price(1, 1)) == 100


def test_claude_style_usage_bills_cache_buckets_on_top_of_prompt() -> None:
    # 100×1.5 + 1000×0.15 + 50×7.5 + 200×1.875 + 100×3 = 150 + 150 + 375 + 375 + 300
    usage = Usage(100, 50, cached_tokens=1000, cache_write_5m_tokens=200, cache_write_1h_tokens=100)
    assert quota(usage, SONNET, excludes=True) == 1350
    # buckets larger than the prompt are detected as Anthropic-style even without the flag
    assert quota(usage, SONNET, excludes=False) == 1350


def test_claude_style_small_buckets_are_not_subtracted_when_flagged() -> None:
    usage = Usage(1000, 0, cached_tokens=100)
    assert quota(usage, SONNET, excludes=True) == 1515  # 1000×1.5 + 100×0.15
    assert quota(usage, SONNET, excludes=False) == 1365  # 900×1.5 + 100×0.15


def test_tools_cost_is_added_after_ceil() -> None:
    assert quota(Usage(11, 7), MINI, tools=1000) == 1003


def test_min_one_quota_when_input_is_priced_but_cost_rounds_to_nothing() -> None:
    assert quota(Usage(100, 0, cached_tokens=100), Price(1, 1, cached_input_ratio=-1)) == 1
    assert quota(Usage(1, 0), Price(0.0001, 1)) == 1


def test_free_model_costs_zero() -> None:
    assert quota(Usage(1000, 1000), Price(0, 1)) == 0


def test_zero_usage_costs_nothing_but_tools() -> None:
    assert quota(Usage(0, 0), MINI) == 0
    assert quota(Usage(0, 0), MINI, tools=5) == 5
    assert quota(Usage(-3, 0), MINI) == 0


@given(
    prompt=st.integers(0, 200_000),
    cached=st.integers(0, 200_000),
    completion=st.integers(0, 100_000),
    extra=st.integers(1, 10_000),
    group=st.sampled_from([0.5, 1, 1.5, 2]),
)
def test_quota_never_decreases_when_completion_grows(
    prompt: int, cached: int, completion: int, extra: int, group: float
) -> None:
    for p in (MINI, SONNET, CACHING, price("gpt-5")):
        less = quota(Usage(prompt, completion, cached_tokens=cached), p, group)
        more = quota(Usage(prompt, completion + extra, cached_tokens=cached), p, group)
        assert more >= less


# --- pre-consumption ------------------------------------------------------------------------


def test_pre_consume_reserves_allowance_prompt_and_output_budget() -> None:
    # (500 + 100) × 0.075 + 1000 × 0.075 × 4 = 45 + 300
    assert pre_consume_quota(100, 1000, MINI, 1, 500) == 345
    assert pre_consume_quota(100, 1000, MINI, 2, 500) == 690
    assert pre_consume_quota(100, 0, MINI, 1, 500) == 45
    assert pre_consume_quota(1, 0, Price(0.3), 1, 0) == 0  # truncated like int()
    assert pre_consume_quota(100, -5, MINI, 1, 500) == 45


# --- price resolution -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-mini", "gpt-4o-mini"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("GPT-4o", "gpt-4o"),
        ("gpt-4-0613", "gpt-4"),
        ("gpt-4-turbo-2024-04-09", "gpt-4-turbo"),
        ("o3-mini-high", "o3-mini"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-3-5-sonnet@20240620", "claude-3-5-sonnet"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("grok-4-0709", "grok-4"),
        ("openai/gpt-4.1-mini", "gpt-4.1-mini"),
        ("mistral-large-latest", "mistral-large"),
        ("gemini-2.5-flash-preview-05-20", "gemini-2.5-flash"),
    ],
)
def test_builtin_resolution_by_exact_name_date_suffix_and_longest_prefix(model: str, expected: str) -> None:
    entry = MODEL_PRICES[expected]
    assert builtin_price(model).model_ratio == entry["ratio"]
    assert builtin_price(model).completion_ratio == entry["completion_ratio"]


def test_dated_entry_with_its_own_price_wins_over_prefix() -> None:
    assert builtin_price("gpt-4o-2024-05-13").model_ratio == 2.5
    assert builtin_price("gpt-4o").model_ratio == 1.25


@pytest.mark.parametrize("model", ["gpt-4.2", "o1x", "my-model", "gpt-4omni"])
def test_prefix_only_matches_at_a_name_boundary_else_fallback(model: str) -> None:
    assert builtin_price(model) == Price(FALLBACK_RATIO, 1.0)


def test_unknown_model_falls_back_to_1_25_and_completion_1() -> None:
    assert price("totally-new-model") == Price(1.25, 1.0)


def test_option_maps_override_builtin_ratios_and_keep_builtin_cache_ratio() -> None:
    p = price_of("gpt-4o", model_ratio_overrides={"gpt-4o": 2}, completion_ratio_overrides={"gpt-4o": 3})
    assert p == Price(2, 3, cached_input_ratio=0.625)
    only_ratio = price_of("gpt-4o", model_ratio_overrides={"gpt-4o": 2}, completion_ratio_overrides={})
    assert only_ratio.completion_ratio == 4
    assert price_of("x", model_ratio_overrides={"x": 0}, completion_ratio_overrides={}).model_ratio == 0


def test_channel_model_config_wins_over_options_and_table() -> None:
    configs = {
        "gpt-4o": {
            "ratio": 0.5,
            "completion_ratio": 2,
            "cached_input_ratio": 0.1,
            "cache_write_5m_ratio": 0.6,
            "cache_write_1h_ratio": 1,
        }
    }
    p = price_of(
        "gpt-4o",
        model_ratio_overrides={"gpt-4o": 9},
        completion_ratio_overrides={"gpt-4o": 9},
        channel_model_configs=configs,
    )
    assert p == Price(0.5, 2, 0.1, 0.6, 1)


def test_channel_config_without_ratio_uses_lower_layers_and_only_its_own_cache_ratios() -> None:
    p = price("gpt-4o", channel_model_configs={"gpt-4o": {"completion_ratio": 0}})
    assert p == Price(1.25, 4)  # cache ratios come from the channel config only
    p = price_of(
        "gpt-4o",
        model_ratio_overrides={"gpt-4o": 3},
        completion_ratio_overrides={},
        channel_model_configs={"gpt-4o": {"cached_input_ratio": -1, "ratio": "bad"}},
    )
    assert p == Price(3, 4, cached_input_ratio=-1)
    assert price("gpt-4o", channel_model_configs={"other": {"ratio": 9}}) == builtin_price("gpt-4o")


def test_group_ratio_lookup_defaults_to_one() -> None:
    ratios = {"default": 1, "vip": 0.8, "svip": 2}
    assert group_ratio("vip", ratios) == 0.8
    assert group_ratio("svip", ratios) == 2
    assert group_ratio("nobody", ratios) == 1


# --- per-unit pricing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "size", "quality", "n", "expected"),
    [
        ("dall-e-2", "256x256", None, 1, 8000),  # 8 × 1 × 1000
        ("dall-e-2", "512x512", None, 1, 9000),  # 8 × 1.125 × 1000
        ("dall-e-2", "1024x1024", None, 3, 30000),  # 8 × 1.25 × 1000 × 3
        ("dall-e-3", None, None, 1, 20000),  # default 1024x1024 standard = $0.04
        ("dall-e-3", "1792x1024", "standard", 1, 40000),
        ("dall-e-3", "1024x1024", "hd", 1, 40000),  # hd × 2 at 1024x1024
        ("dall-e-3", "1024x1792", "hd", 1, 60000),  # 2 × 1.5 = $0.12
        ("gpt-image-1", "1024x1024", "medium", 1, 21000),  # $0.042
        ("gpt-image-1", "1536x1024", "high", 2, 250000),  # $0.25 × 2
        ("gpt-image-1", "auto", "auto", 1, 21000),  # auto = 1024x1024 medium
        ("gpt-image-1", None, "low", 1, 5500),  # $0.011
        ("flux-1-schnell", "640x480", None, 2, 2500),  # unknown image model: 1.25 × 1000 per image
    ],
)
def test_image_quota_by_size_quality_and_count(
    model: str, size: str | None, quality: str | None, n: int, expected: int
) -> None:
    assert image_quota(model, size=size, quality=quality, n=n, price=price(model), group_ratio=1) == expected


def test_image_quota_applies_group_ratio_without_float_noise() -> None:
    dalle = price("dall-e-3")
    assert image_quota("dall-e-3", size=None, quality=None, n=1, price=dalle, group_ratio=1.5) == 30000
    # 0.011 × 500000 × 1.1 = 6050 exactly, not 6051
    gpt_image = price("gpt-image-1")
    assert image_quota("gpt-image-1", size=None, quality="low", n=1, price=gpt_image, group_ratio=1.1) == 6050


@pytest.mark.parametrize(
    ("model", "size", "quality"),
    [
        ("dall-e-3", "256x256", None),
        ("dall-e-2", "1792x1024", None),
        ("gpt-image-1", "512x512", "high"),
        ("gpt-image-1", None, "ultra"),
    ],
)
def test_image_quota_rejects_sizes_and_qualities_the_model_lacks(
    model: str, size: str | None, quality: str | None
) -> None:
    with pytest.raises(ImageOptionError):
        image_quota(model, size=size, quality=quality, n=1, price=price(model), group_ratio=1)


def test_tts_charges_model_ratio_per_character() -> None:
    assert tts_quota(100, price("tts-1"), 1) == 750  # 7.5 per char = $15 / 1M chars
    assert tts_quota(100, price("tts-1-hd"), 2) == 3000
    assert tts_quota(0, price("tts-1"), 1) == 0


def test_stt_charges_seconds_as_tokens() -> None:
    assert stt_quota(60, price("whisper-1"), 1) == 9000  # 600 tokens × 15
    assert stt_quota(2.05, price("whisper-1"), 1) == 315  # ceil(20.5) = 21 tokens
    assert stt_quota(60, price("whisper-1"), 1, tokens_per_second=25) == 22500


def test_per_call_quota_uses_usd_table_else_ratio_times_1000() -> None:
    assert per_call_quota("rerank-v3.5", price("rerank-v3.5"), 1) == 1000  # $0.002
    assert per_call_quota("rerank-v3.5", price("rerank-v3.5"), 1, calls=3) == 3000
    assert per_call_quota("bge-reranker-v2-m3", price("bge-reranker-v2-m3"), 2) == 2500


def test_usd_quota_conversion() -> None:
    assert usd_to_quota(1) == 500000
    assert usd_to_quota(0.002) == 1000
    assert usd_to_quota(0.0000001) == 1
    assert quota_to_usd(250000) == 0.5


# --- the built-in table --------------------------------------------------------------------


REQUIRED_MODELS = (
    *("gpt-3.5-turbo", "gpt-4", "gpt-4-turbo", "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini"),
    *("gpt-4.1-nano", "gpt-5", "gpt-5-mini", "gpt-5-nano", "o1", "o1-mini", "o3", "o3-mini", "o4-mini"),
    *("text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002"),
    *("text-moderation-latest", "dall-e-2", "dall-e-3", "gpt-image-1", "whisper-1", "tts-1"),
    *("tts-1-hd", "claude-3-haiku", "claude-3-5-haiku", "claude-3-5-sonnet", "claude-3-7-sonnet"),
    *("claude-sonnet-4", "claude-sonnet-4-5", "claude-opus-4", "claude-opus-4-1", "claude-haiku-4-5"),
    *("gemini-1.5-flash", "gemini-1.5-pro", "gemini-2.0-flash", "gemini-2.5-flash"),
    *("gemini-2.5-flash-lite", "gemini-2.5-pro", "deepseek-chat", "deepseek-reasoner", "mistral-large"),
    *("llama-3.3-70b-versatile", "grok-3", "grok-4", "kimi-k2", "qwen-max"),
)


@pytest.mark.parametrize("model", REQUIRED_MODELS)
def test_table_covers_current_models(model: str) -> None:
    assert model in MODEL_PRICES


def test_table_values_follow_one_api_units() -> None:
    mini = {"ratio": 0.075, "completion_ratio": 4, "cached_input_ratio": 0.0375}
    assert MODEL_PRICES["gpt-4o-mini"] == mini
    assert MODEL_PRICES["gpt-4o"]["cached_input_ratio"] == 0.625  # $1.25 / 1M
    assert MODEL_PRICES["gpt-5"]["completion_ratio"] == 8
    assert (MODEL_PRICES["dall-e-3"]["ratio"], MODEL_PRICES["whisper-1"]["ratio"]) == (20, 15)
    assert (MODEL_PRICES["tts-1"]["ratio"], MODEL_PRICES["tts-1-hd"]["ratio"]) == (7.5, 15)
    for name, entry in MODEL_PRICES.items():
        assert name == name.lower(), name
        assert entry["ratio"] > 0 and entry["completion_ratio"] > 0, name
        assert entry.get("cached_input_ratio", 0) < entry["ratio"], name
        if name.startswith("claude-") and "cache_write_5m_ratio" in entry:
            assert entry["cache_write_5m_ratio"] == pytest.approx(entry["ratio"] * 1.25), name
            assert entry["cache_write_1h_ratio"] == pytest.approx(entry["ratio"] * 2), name
