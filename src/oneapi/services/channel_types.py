"""The channel type table of One API (SPEC §7.1): id → name, default base URL, known model names.

Data only. The name is what `owned_by` shows in model lists; an empty base URL means the operator
must supply one (Azure, custom, OpenAI-compatible, …) or the type has no single address (Bedrock,
Vertex, Xunfei websocket). The model lists are a small catalogue for the console and `/models`
listings; they never restrict what a channel may serve (that is the channel's own `models`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChannelType:
    id: int
    name: str
    base_url: str
    models: tuple[str, ...] = ()


OPENAI_MODELS = (
    "gpt-3.5-turbo",
    "gpt-3.5-turbo-instruct",
    "gpt-4",
    "gpt-4-turbo",
    "gpt-4o",
    "gpt-4o-mini",
    "chatgpt-4o-latest",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "o1",
    "o1-mini",
    "o3",
    "o3-mini",
    "o4-mini",
    "text-embedding-ada-002",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "text-moderation-latest",
    "text-moderation-stable",
    "omni-moderation-latest",
    "dall-e-2",
    "dall-e-3",
    "gpt-image-1",
    "whisper-1",
    "tts-1",
    "tts-1-hd",
)
ANTHROPIC_MODELS = (
    "claude-3-haiku-20240307",
    "claude-3-opus-20240229",
    "claude-3-5-haiku-20241022",
    "claude-3-5-sonnet-20241022",
    "claude-3-7-sonnet-20250219",
    "claude-sonnet-4-20250514",
    "claude-opus-4-20250514",
    "claude-opus-4-1-20250805",
)
GEMINI_MODELS = (
    "gemini-1.5-flash",
    "gemini-1.5-pro",
    "gemini-2.0-flash",
    "gemini-2.0-flash-lite",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.5-pro",
    "text-embedding-004",
)
DEEPSEEK_MODELS = ("deepseek-chat", "deepseek-reasoner")
QWEN_MODELS = (
    "qwen-turbo",
    "qwen-plus",
    "qwen-max",
    "qwen-long",
    "qwen-vl-max",
    "qwq-plus",
    "text-embedding-v3",
)

_TABLE = (
    ChannelType(0, "unknown", ""),
    ChannelType(1, "openai", "https://api.openai.com", OPENAI_MODELS),
    ChannelType(2, "api2d", "https://oa.api2d.net", OPENAI_MODELS),
    ChannelType(3, "azure", "", OPENAI_MODELS),
    ChannelType(4, "closeai", "https://api.closeai-proxy.xyz", OPENAI_MODELS),
    ChannelType(5, "openaisb", "https://api.openai-sb.com", OPENAI_MODELS),
    ChannelType(6, "openaimax", "https://api.openaimax.com", OPENAI_MODELS),
    ChannelType(7, "ohmygpt", "https://api.ohmygpt.com", OPENAI_MODELS),
    ChannelType(8, "custom", "", OPENAI_MODELS),
    ChannelType(9, "ails", "https://api.caipacity.com", OPENAI_MODELS),
    ChannelType(10, "aiproxy", "https://api.aiproxy.io", OPENAI_MODELS),
    ChannelType(11, "palm", "https://generativelanguage.googleapis.com", ("PaLM-2",)),
    ChannelType(12, "api2gpt", "https://api.api2gpt.com", OPENAI_MODELS),
    ChannelType(13, "aigc2d", "https://api.aigc2d.com", OPENAI_MODELS),
    ChannelType(14, "anthropic", "https://api.anthropic.com", ANTHROPIC_MODELS),
    ChannelType(
        15,
        "baidu",
        "https://aip.baidubce.com",
        (
            "ERNIE-4.0-8K",
            "ERNIE-3.5-8K",
            "ERNIE-Speed-8K",
            "ERNIE-Speed-128K",
            "ERNIE-Lite-8K-0308",
            "Embedding-V1",
        ),
    ),
    ChannelType(
        16,
        "zhipu",
        "https://open.bigmodel.cn",
        (
            "glm-4-plus",
            "glm-4-air",
            "glm-4-flash",
            "glm-4-long",
            "glm-4v-plus",
            "cogview-3-plus",
            "embedding-3",
        ),
    ),
    ChannelType(17, "ali", "https://dashscope.aliyuncs.com", QWEN_MODELS),
    ChannelType(
        18,
        "xunfei",
        "",
        ("Spark-Lite", "Spark-Pro", "Spark-Pro-128K", "Spark-Max", "Spark-Max-32K", "Spark-4.0-Ultra"),
    ),
    ChannelType(
        19, "ai360", "https://ai.360.cn", ("360GPT_S2_V9", "embedding-bert-512-v1", "embedding_s1_v1")
    ),
    ChannelType(
        20, "openrouter", "https://openrouter.ai/api", ("openai/gpt-4o", "anthropic/claude-sonnet-4")
    ),
    ChannelType(21, "aiproxylibrary", "https://api.aiproxy.io"),
    ChannelType(22, "fastgpt", "https://fastgpt.run/api/openapi"),
    ChannelType(
        23,
        "tencent",
        "https://hunyuan.tencentcloudapi.com",
        ("hunyuan-lite", "hunyuan-standard", "hunyuan-pro", "hunyuan-vision", "hunyuan-embedding"),
    ),
    ChannelType(24, "gemini", "https://generativelanguage.googleapis.com", GEMINI_MODELS),
    ChannelType(
        25,
        "moonshot",
        "https://api.moonshot.cn",
        ("moonshot-v1-8k", "moonshot-v1-32k", "moonshot-v1-128k", "kimi-k2-0711-preview"),
    ),
    ChannelType(
        26,
        "baichuan",
        "https://api.baichuan-ai.com",
        ("Baichuan2-Turbo", "Baichuan4", "Baichuan-Text-Embedding"),
    ),
    ChannelType(
        27, "minimax", "https://api.minimax.chat", ("abab6.5s-chat", "MiniMax-Text-01", "MiniMax-M1")
    ),
    ChannelType(
        28,
        "mistral",
        "https://api.mistral.ai",
        (
            "open-mistral-7b",
            "mistral-small-latest",
            "mistral-medium-latest",
            "mistral-large-latest",
            "mistral-embed",
        ),
    ),
    ChannelType(
        29,
        "groq",
        "https://api.groq.com/openai",
        ("llama-3.1-8b-instant", "llama-3.3-70b-versatile", "gemma2-9b-it", "whisper-large-v3"),
    ),
    ChannelType(30, "ollama", "http://localhost:11434", ("llama3:latest", "qwen2.5:7b")),
    ChannelType(31, "lingyiwanwu", "https://api.lingyiwanwu.com", ("yi-large", "yi-lightning", "yi-vision")),
    ChannelType(
        32, "stepfun", "https://api.stepfun.com", ("step-1-8k", "step-1-32k", "step-1v-8k", "step-2-16k")
    ),
    ChannelType(
        33,
        "awsclaude",
        "",
        (
            "claude-3-haiku-20240307",
            "claude-3-5-sonnet-20241022",
            "claude-3-7-sonnet-20250219",
            "claude-sonnet-4-20250514",
        ),
    ),
    ChannelType(34, "coze", "https://api.coze.com"),
    ChannelType(
        35,
        "cohere",
        "https://api.cohere.ai",
        ("command-r", "command-r-plus", "command-a-03-2025", "rerank-v3.5"),
    ),
    ChannelType(36, "deepseek", "https://api.deepseek.com", DEEPSEEK_MODELS),
    ChannelType(37, "cloudflare", "https://api.cloudflare.com", ("@cf/meta/llama-3.1-8b-instruct",)),
    ChannelType(38, "deepl", "https://api-free.deepl.com", ("deepl-zh", "deepl-en", "deepl-ja")),
    ChannelType(
        39,
        "togetherai",
        "https://api.together.xyz",
        ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "Qwen/Qwen2.5-72B-Instruct-Turbo"),
    ),
    ChannelType(
        40,
        "doubao",
        "https://ark.cn-beijing.volces.com",
        ("Doubao-pro-32k", "Doubao-lite-32k", "Doubao-embedding"),
    ),
    ChannelType(41, "novita", "https://api.novita.ai/v3/openai", ("meta-llama/llama-3.1-8b-instruct",)),
    ChannelType(42, "vertextai", "", ("gemini-2.5-pro", "gemini-2.5-flash", "claude-sonnet-4@20250514")),
    ChannelType(43, "proxy", ""),
    ChannelType(
        44,
        "siliconflow",
        "https://api.siliconflow.cn",
        ("deepseek-ai/DeepSeek-V3", "Qwen/Qwen2.5-72B-Instruct"),
    ),
    ChannelType(45, "xai", "https://api.x.ai", ("grok-2", "grok-3", "grok-3-mini", "grok-4")),
    ChannelType(46, "replicate", "https://api.replicate.com/v1/models/", ("black-forest-labs/flux-schnell",)),
    ChannelType(
        47, "baiduv2", "https://qianfan.baidubce.com", ("ernie-4.0-8k", "ernie-3.5-8k", "ernie-speed-128k")
    ),
    ChannelType(48, "xunfeiv2", "https://spark-api-open.xf-yun.com", ("lite", "generalv3.5", "4.0Ultra")),
    ChannelType(
        49,
        "alibailian",
        "https://dashscope.aliyuncs.com",
        ("qwen-turbo", "qwen-plus", "qwen-max", "deepseek-r1"),
    ),
    ChannelType(50, "openaicompatible", ""),
    ChannelType(
        51,
        "geminiopenaicompatible",
        "https://generativelanguage.googleapis.com/v1beta/openai/",
        ("gemini-2.0-flash", "gemini-2.5-flash", "gemini-2.5-pro"),
    ),
    ChannelType(52, "claudecompatible", "", ANTHROPIC_MODELS),
    ChannelType(53, "copilot", "https://api.githubcopilot.com", ("gpt-4o", "claude-sonnet-4")),
    ChannelType(
        54,
        "fireworks",
        "https://api.fireworks.ai/inference",
        ("accounts/fireworks/models/llama-v3p1-8b-instruct",),
    ),
    ChannelType(55, "nvidia", "https://integrate.api.nvidia.com/v1", ("meta/llama-3.1-8b-instruct",)),
    ChannelType(56, "cerebras", "https://api.cerebras.ai/v1", ("llama3.1-8b", "llama-3.3-70b")),
    ChannelType(57, "deepinfra", "https://api.deepinfra.com", ("meta-llama/Meta-Llama-3.1-8B-Instruct",)),
)

CHANNEL_TYPES: dict[int, ChannelType] = {t.id: t for t in _TABLE}


def channel_type(type_id: int) -> ChannelType | None:
    return CHANNEL_TYPES.get(type_id)


def type_name(type_id: int) -> str:
    """The type's name (`owned_by` in model lists); "unknown" for an id not in the table."""
    known = CHANNEL_TYPES.get(type_id)
    return known.name if known else "unknown"


def default_base_url(type_id: int) -> str:
    """The address used when a channel's `base_url` is empty; "" when the operator must give one."""
    known = CHANNEL_TYPES.get(type_id)
    return known.base_url if known else ""


def models_by_type() -> dict[int, list[str]]:
    """Type id → its known model names (the data of `GET /api/models`)."""
    return {t.id: list(t.models) for t in _TABLE}


def all_models() -> list[tuple[str, str]]:
    """Every known model once, as (model name, owning type name); the first type listing it owns it."""
    seen: dict[str, str] = {}
    for t in _TABLE:
        for model in t.models:
            seen.setdefault(model, t.name)
    return list(seen.items())


def all_types() -> tuple[ChannelType, ...]:
    """Every known channel type, in id order."""
    return _TABLE
