"""Built-in list prices, as data, in One API's units, so a fresh install bills sensibly.

Units (SPEC §5.1): `ratio` = quota per input token = USD per 1M input tokens × 0.5;
`completion_ratio` = output price / input price; `cached_input_ratio` and the Anthropic
`cache_write_5m_ratio` (1.25 × input) / `cache_write_1h_ratio` (2 × input) are absolute, in the same
unit as `ratio`. The keys are those of a channel's `model_configs` entry. Names are lowercase base
names; dated or suffixed variants resolve by prefix (see services.pricing). Prices are public list
prices at the time of writing: good defaults, not invoices; operators override them per channel or
with the ModelRatio / CompletionRatio options.
"""

# ruff: noqa: E501
from __future__ import annotations

# fmt: off
MODEL_PRICES: dict[str, dict[str, float]] = {
    # OpenAI
    "gpt-3.5-turbo": {"ratio": 0.25, "completion_ratio": 3},
    "gpt-3.5-turbo-0125": {"ratio": 0.25, "completion_ratio": 3},
    "gpt-3.5-turbo-1106": {"ratio": 0.5, "completion_ratio": 2},
    "gpt-3.5-turbo-0613": {"ratio": 0.75, "completion_ratio": 1.3333333},
    "gpt-3.5-turbo-0301": {"ratio": 0.75, "completion_ratio": 1.3333333},
    "gpt-3.5-turbo-16k": {"ratio": 1.5, "completion_ratio": 1.3333333},
    "gpt-3.5-turbo-instruct": {"ratio": 0.75, "completion_ratio": 1.3333333},
    "gpt-4": {"ratio": 15, "completion_ratio": 2},
    "gpt-4-32k": {"ratio": 30, "completion_ratio": 2},
    "gpt-4-turbo": {"ratio": 5, "completion_ratio": 3},
    "gpt-4-1106-preview": {"ratio": 5, "completion_ratio": 3},
    "gpt-4-0125-preview": {"ratio": 5, "completion_ratio": 3},
    "gpt-4-vision-preview": {"ratio": 5, "completion_ratio": 3},
    "gpt-4o": {"ratio": 1.25, "completion_ratio": 4, "cached_input_ratio": 0.625},
    "gpt-4o-2024-05-13": {"ratio": 2.5, "completion_ratio": 3},
    "chatgpt-4o-latest": {"ratio": 2.5, "completion_ratio": 3},
    "gpt-4o-audio-preview": {"ratio": 1.25, "completion_ratio": 4},
    "gpt-4o-realtime-preview": {"ratio": 2.5, "completion_ratio": 4, "cached_input_ratio": 1.25},
    "gpt-4o-search-preview": {"ratio": 1.25, "completion_ratio": 4},
    "gpt-4o-transcribe": {"ratio": 1.25, "completion_ratio": 4},
    "gpt-4o-mini": {"ratio": 0.075, "completion_ratio": 4, "cached_input_ratio": 0.0375},
    "gpt-4o-mini-audio-preview": {"ratio": 0.075, "completion_ratio": 4},
    "gpt-4o-mini-realtime-preview": {"ratio": 0.3, "completion_ratio": 4, "cached_input_ratio": 0.15},
    "gpt-4o-mini-search-preview": {"ratio": 0.075, "completion_ratio": 4},
    "gpt-4o-mini-transcribe": {"ratio": 0.625, "completion_ratio": 4},
    "gpt-4o-mini-tts": {"ratio": 0.3, "completion_ratio": 20},
    "gpt-4.1": {"ratio": 1, "completion_ratio": 4, "cached_input_ratio": 0.25},
    "gpt-4.1-mini": {"ratio": 0.2, "completion_ratio": 4, "cached_input_ratio": 0.05},
    "gpt-4.1-nano": {"ratio": 0.05, "completion_ratio": 4, "cached_input_ratio": 0.0125},
    "gpt-4.5-preview": {"ratio": 37.5, "completion_ratio": 2, "cached_input_ratio": 18.75},
    "gpt-5": {"ratio": 0.625, "completion_ratio": 8, "cached_input_ratio": 0.0625},
    "gpt-5-chat-latest": {"ratio": 0.625, "completion_ratio": 8, "cached_input_ratio": 0.0625},
    "gpt-5-codex": {"ratio": 0.625, "completion_ratio": 8, "cached_input_ratio": 0.0625},
    "gpt-5-mini": {"ratio": 0.125, "completion_ratio": 8, "cached_input_ratio": 0.0125},
    "gpt-5-nano": {"ratio": 0.025, "completion_ratio": 8, "cached_input_ratio": 0.0025},
    "gpt-5-pro": {"ratio": 7.5, "completion_ratio": 8},
    "gpt-5.1": {"ratio": 0.625, "completion_ratio": 8, "cached_input_ratio": 0.0625},
    "gpt-5.1-codex": {"ratio": 0.625, "completion_ratio": 8, "cached_input_ratio": 0.0625},
    "gpt-5.1-codex-mini": {"ratio": 0.125, "completion_ratio": 8, "cached_input_ratio": 0.0125},
    "gpt-oss-120b": {"ratio": 0.075, "completion_ratio": 4},
    "gpt-oss-20b": {"ratio": 0.025, "completion_ratio": 4},
    "o1": {"ratio": 7.5, "completion_ratio": 4, "cached_input_ratio": 3.75},
    "o1-preview": {"ratio": 7.5, "completion_ratio": 4, "cached_input_ratio": 3.75},
    "o1-mini": {"ratio": 0.55, "completion_ratio": 4, "cached_input_ratio": 0.275},
    "o1-pro": {"ratio": 75, "completion_ratio": 4},
    "o3": {"ratio": 1, "completion_ratio": 4, "cached_input_ratio": 0.25},
    "o3-pro": {"ratio": 10, "completion_ratio": 4},
    "o3-mini": {"ratio": 0.55, "completion_ratio": 4, "cached_input_ratio": 0.275},
    "o3-deep-research": {"ratio": 5, "completion_ratio": 4, "cached_input_ratio": 1.25},
    "o4-mini": {"ratio": 0.55, "completion_ratio": 4, "cached_input_ratio": 0.1375},
    "o4-mini-deep-research": {"ratio": 1, "completion_ratio": 4, "cached_input_ratio": 0.25},
    "codex-mini-latest": {"ratio": 0.75, "completion_ratio": 4, "cached_input_ratio": 0.1875},
    "davinci-002": {"ratio": 1, "completion_ratio": 1},
    "babbage-002": {"ratio": 0.2, "completion_ratio": 1},
    "text-embedding-3-small": {"ratio": 0.01, "completion_ratio": 1},
    "text-embedding-3-large": {"ratio": 0.065, "completion_ratio": 1},
    "text-embedding-ada-002": {"ratio": 0.05, "completion_ratio": 1},
    "gpt-image-1": {"ratio": 2.5, "completion_ratio": 8, "cached_input_ratio": 0.625},
    "gpt-image-1-mini": {"ratio": 1, "completion_ratio": 4, "cached_input_ratio": 0.1},
    "dall-e-2": {"ratio": 8, "completion_ratio": 1},
    "dall-e-3": {"ratio": 20, "completion_ratio": 1},
    "text-moderation-latest": {"ratio": 0.1, "completion_ratio": 1},
    "text-moderation-stable": {"ratio": 0.1, "completion_ratio": 1},
    "omni-moderation-latest": {"ratio": 0.1, "completion_ratio": 1},
    "whisper-1": {"ratio": 15, "completion_ratio": 1},
    "tts-1": {"ratio": 7.5, "completion_ratio": 1},
    "tts-1-hd": {"ratio": 15, "completion_ratio": 1},
    # Anthropic (cache reads 0.1 × input, 5-minute writes 1.25 ×, 1-hour writes 2 ×)
    "claude-instant-1.2": {"ratio": 0.4, "completion_ratio": 3},
    "claude-2.0": {"ratio": 4, "completion_ratio": 3},
    "claude-2.1": {"ratio": 4, "completion_ratio": 3},
    "claude-3-haiku": {"ratio": 0.125, "completion_ratio": 5, "cached_input_ratio": 0.0125, "cache_write_5m_ratio": 0.15625, "cache_write_1h_ratio": 0.25},
    "claude-3-sonnet": {"ratio": 1.5, "completion_ratio": 5, "cached_input_ratio": 0.15, "cache_write_5m_ratio": 1.875, "cache_write_1h_ratio": 3},
    "claude-3-opus": {"ratio": 7.5, "completion_ratio": 5, "cached_input_ratio": 0.75, "cache_write_5m_ratio": 9.375, "cache_write_1h_ratio": 15},
    "claude-3-5-haiku": {"ratio": 0.4, "completion_ratio": 5, "cached_input_ratio": 0.04, "cache_write_5m_ratio": 0.5, "cache_write_1h_ratio": 0.8},
    "claude-3-5-sonnet": {"ratio": 1.5, "completion_ratio": 5, "cached_input_ratio": 0.15, "cache_write_5m_ratio": 1.875, "cache_write_1h_ratio": 3},
    "claude-3-7-sonnet": {"ratio": 1.5, "completion_ratio": 5, "cached_input_ratio": 0.15, "cache_write_5m_ratio": 1.875, "cache_write_1h_ratio": 3},
    "claude-sonnet-4": {"ratio": 1.5, "completion_ratio": 5, "cached_input_ratio": 0.15, "cache_write_5m_ratio": 1.875, "cache_write_1h_ratio": 3},
    "claude-sonnet-4-5": {"ratio": 1.5, "completion_ratio": 5, "cached_input_ratio": 0.15, "cache_write_5m_ratio": 1.875, "cache_write_1h_ratio": 3},
    "claude-opus-4": {"ratio": 7.5, "completion_ratio": 5, "cached_input_ratio": 0.75, "cache_write_5m_ratio": 9.375, "cache_write_1h_ratio": 15},
    "claude-opus-4-1": {"ratio": 7.5, "completion_ratio": 5, "cached_input_ratio": 0.75, "cache_write_5m_ratio": 9.375, "cache_write_1h_ratio": 15},
    "claude-opus-4-5": {"ratio": 2.5, "completion_ratio": 5, "cached_input_ratio": 0.25, "cache_write_5m_ratio": 3.125, "cache_write_1h_ratio": 5},
    "claude-haiku-4-5": {"ratio": 0.5, "completion_ratio": 5, "cached_input_ratio": 0.05, "cache_write_5m_ratio": 0.625, "cache_write_1h_ratio": 1},
    # Google
    "gemini-pro": {"ratio": 0.25, "completion_ratio": 3},
    "gemini-1.0-pro": {"ratio": 0.25, "completion_ratio": 3},
    "gemini-1.5-flash": {"ratio": 0.0375, "completion_ratio": 4, "cached_input_ratio": 0.009375},
    "gemini-1.5-flash-8b": {"ratio": 0.01875, "completion_ratio": 4, "cached_input_ratio": 0.005},
    "gemini-1.5-pro": {"ratio": 0.625, "completion_ratio": 4, "cached_input_ratio": 0.15625},
    "gemini-2.0-flash": {"ratio": 0.05, "completion_ratio": 4, "cached_input_ratio": 0.0125},
    "gemini-2.0-flash-lite": {"ratio": 0.0375, "completion_ratio": 4},
    "gemini-2.5-flash": {"ratio": 0.15, "completion_ratio": 8.3333333, "cached_input_ratio": 0.015},
    "gemini-2.5-flash-lite": {"ratio": 0.05, "completion_ratio": 4, "cached_input_ratio": 0.005},
    "gemini-2.5-flash-image": {"ratio": 0.15, "completion_ratio": 100},
    "gemini-2.5-pro": {"ratio": 0.625, "completion_ratio": 8, "cached_input_ratio": 0.0625},
    "gemini-3-pro-preview": {"ratio": 1, "completion_ratio": 6, "cached_input_ratio": 0.1},
    "gemini-embedding-001": {"ratio": 0.075, "completion_ratio": 1},
    "text-embedding-004": {"ratio": 0.05, "completion_ratio": 1},
    "gemma-3-27b-it": {"ratio": 0.05, "completion_ratio": 1},
    # DeepSeek
    "deepseek-chat": {"ratio": 0.14, "completion_ratio": 1.5, "cached_input_ratio": 0.014},
    "deepseek-reasoner": {"ratio": 0.14, "completion_ratio": 1.5, "cached_input_ratio": 0.014},
    # Mistral
    "mistral-large": {"ratio": 1, "completion_ratio": 3},
    "mistral-medium": {"ratio": 0.2, "completion_ratio": 5},
    "mistral-small": {"ratio": 0.05, "completion_ratio": 3},
    "magistral-medium": {"ratio": 1, "completion_ratio": 2.5},
    "magistral-small": {"ratio": 0.25, "completion_ratio": 3},
    "codestral": {"ratio": 0.15, "completion_ratio": 3},
    "devstral-medium": {"ratio": 0.2, "completion_ratio": 5},
    "devstral-small": {"ratio": 0.05, "completion_ratio": 3},
    "pixtral-large": {"ratio": 1, "completion_ratio": 3},
    "pixtral-12b": {"ratio": 0.075, "completion_ratio": 1},
    "ministral-8b": {"ratio": 0.05, "completion_ratio": 1},
    "ministral-3b": {"ratio": 0.02, "completion_ratio": 1},
    "open-mistral-nemo": {"ratio": 0.075, "completion_ratio": 1},
    "open-mistral-7b": {"ratio": 0.125, "completion_ratio": 1},
    "open-mixtral-8x7b": {"ratio": 0.35, "completion_ratio": 1},
    "open-mixtral-8x22b": {"ratio": 1, "completion_ratio": 3},
    "mistral-embed": {"ratio": 0.05, "completion_ratio": 1},
    # Meta Llama (Groq list prices)
    "llama-3.1-8b-instant": {"ratio": 0.025, "completion_ratio": 1.6},
    "llama-3.3-70b-versatile": {"ratio": 0.295, "completion_ratio": 1.3389831},
    "llama3-8b-8192": {"ratio": 0.025, "completion_ratio": 1.6},
    "llama3-70b-8192": {"ratio": 0.295, "completion_ratio": 1.3389831},
    "llama-4-scout": {"ratio": 0.055, "completion_ratio": 3.0909091},
    "llama-4-maverick": {"ratio": 0.1, "completion_ratio": 3},
    "gemma2-9b-it": {"ratio": 0.1, "completion_ratio": 1},
    # xAI
    "grok-2": {"ratio": 1, "completion_ratio": 5},
    "grok-2-vision": {"ratio": 1, "completion_ratio": 5},
    "grok-3": {"ratio": 1.5, "completion_ratio": 5, "cached_input_ratio": 0.375},
    "grok-3-fast": {"ratio": 2.5, "completion_ratio": 5, "cached_input_ratio": 0.625},
    "grok-3-mini": {"ratio": 0.15, "completion_ratio": 1.6666667, "cached_input_ratio": 0.0375},
    "grok-3-mini-fast": {"ratio": 0.3, "completion_ratio": 6.6666667, "cached_input_ratio": 0.075},
    "grok-4": {"ratio": 1.5, "completion_ratio": 5, "cached_input_ratio": 0.375},
    "grok-4-fast": {"ratio": 0.1, "completion_ratio": 2.5, "cached_input_ratio": 0.025},
    "grok-code-fast-1": {"ratio": 0.1, "completion_ratio": 7.5, "cached_input_ratio": 0.01},
    # Moonshot
    "moonshot-v1-8k": {"ratio": 0.1, "completion_ratio": 10},
    "moonshot-v1-32k": {"ratio": 0.5, "completion_ratio": 3},
    "moonshot-v1-128k": {"ratio": 1, "completion_ratio": 2.5},
    "kimi-k2": {"ratio": 0.3, "completion_ratio": 4.1666667, "cached_input_ratio": 0.075},
    "kimi-k2-turbo-preview": {"ratio": 1.2, "completion_ratio": 4.1666667, "cached_input_ratio": 0.3},
    "kimi-k2-thinking": {"ratio": 0.3, "completion_ratio": 4.1666667, "cached_input_ratio": 0.075},
    "kimi-k2-thinking-turbo": {"ratio": 0.575, "completion_ratio": 6.9565217, "cached_input_ratio": 0.075},
    # Qwen (Alibaba Cloud international)
    "qwen-max": {"ratio": 0.8, "completion_ratio": 4},
    "qwen-plus": {"ratio": 0.2, "completion_ratio": 3},
    "qwen-turbo": {"ratio": 0.025, "completion_ratio": 4},
    "qwen-flash": {"ratio": 0.025, "completion_ratio": 8},
    "qwen-vl-max": {"ratio": 0.4, "completion_ratio": 4},
    "qwen-vl-plus": {"ratio": 0.105, "completion_ratio": 3},
    "qwen3-max": {"ratio": 0.6, "completion_ratio": 5},
    "qwen3-coder-plus": {"ratio": 0.5, "completion_ratio": 5},
    "qwen3-coder-flash": {"ratio": 0.15, "completion_ratio": 5},
    "qwen3-235b-a22b": {"ratio": 0.35, "completion_ratio": 4},
    "qwen3-32b": {"ratio": 0.35, "completion_ratio": 4},
    "qwq-plus": {"ratio": 0.4, "completion_ratio": 3},
    "qwen2.5-72b-instruct": {"ratio": 0.7, "completion_ratio": 4},
    "text-embedding-v3": {"ratio": 0.035, "completion_ratio": 1},
    # Zhipu GLM
    "glm-4.6": {"ratio": 0.3, "completion_ratio": 3.6666667, "cached_input_ratio": 0.055},
    "glm-4.5": {"ratio": 0.3, "completion_ratio": 3.6666667, "cached_input_ratio": 0.055},
    "glm-4.5-air": {"ratio": 0.1, "completion_ratio": 5.5, "cached_input_ratio": 0.015},
    # Cohere
    "command-r": {"ratio": 0.075, "completion_ratio": 4},
    "command-r-plus": {"ratio": 1.25, "completion_ratio": 4},
    "command-a": {"ratio": 1.25, "completion_ratio": 4},
    "embed-english-v3.0": {"ratio": 0.05, "completion_ratio": 1},
    "embed-multilingual-v3.0": {"ratio": 0.05, "completion_ratio": 1},
    # Perplexity
    "sonar": {"ratio": 0.5, "completion_ratio": 1},
    "sonar-pro": {"ratio": 1.5, "completion_ratio": 5},
    "sonar-reasoning": {"ratio": 0.5, "completion_ratio": 5},
    "sonar-reasoning-pro": {"ratio": 1, "completion_ratio": 4},
}
# fmt: on

# dall-e style image models: quota = ratio × group × size ratio × quality multiplier × 1000 per image.
IMAGE_SIZE_RATIOS: dict[str, dict[str, float]] = {
    "dall-e-2": {"256x256": 1, "512x512": 1.125, "1024x1024": 1.25},
    "dall-e-3": {"1024x1024": 1, "1024x1792": 2, "1792x1024": 2},
}

# Quality multipliers per size ("*" = any other size); absent quality or model = 1.
IMAGE_QUALITY_MULTIPLIERS: dict[str, dict[str, dict[str, float]]] = {
    "dall-e-3": {"hd": {"1024x1024": 2, "*": 1.5}},
}

# Models priced in USD per image, by quality then size ("auto" size = 1024x1024, "auto" quality = medium).
IMAGE_USD: dict[str, dict[str, dict[str, float]]] = {
    "gpt-image-1": {
        "low": {"1024x1024": 0.011, "1024x1536": 0.016, "1536x1024": 0.016},
        "medium": {"1024x1024": 0.042, "1024x1536": 0.063, "1536x1024": 0.063},
        "high": {"1024x1024": 0.167, "1024x1536": 0.25, "1536x1024": 0.25},
    },
    "gpt-image-1-mini": {
        "low": {"1024x1024": 0.005, "1024x1536": 0.006, "1536x1024": 0.006},
        "medium": {"1024x1024": 0.011, "1024x1536": 0.015, "1536x1024": 0.015},
        "high": {"1024x1024": 0.036, "1024x1536": 0.052, "1536x1024": 0.052},
    },
}

# Models priced in USD per call (rerank: per search).
PER_CALL_USD: dict[str, float] = {
    "rerank-v3.5": 0.002,
    "rerank-english-v3.0": 0.002,
    "rerank-multilingual-v3.0": 0.002,
}
