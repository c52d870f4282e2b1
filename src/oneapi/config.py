"""Every environment variable the gateway reads, parsed once into one typed, frozen Settings object.

Names and defaults follow One API (SPEC §8.1) so an operator can reuse their environment as it is.
A bad value stops start-up with a message that names the variable and the form it expects.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}


class ConfigError(ValueError):
    """Raised when one or more environment variables hold values of the wrong form."""


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("expected a boolean (true/false, 1/0, yes/no, on/off)")


def _parse_int(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError("expected an integer") from None


def _parse_non_negative_int(raw: str) -> int:
    value = _parse_int(raw)
    if value < 0:
        raise ValueError("expected an integer >= 0")
    return value


def _parse_port(raw: str) -> int:
    value = _parse_int(raw)
    if not 0 < value < 65536:
        raise ValueError("expected a TCP port between 1 and 65535")
    return value


def _parse_float(raw: str) -> float:
    try:
        return float(raw.strip())
    except ValueError:
        raise ValueError("expected a number") from None


def _parse_str(raw: str) -> str:
    return raw.strip()


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError("expected one of: " + ", ".join(choices))
        return value

    return parse


def _env(name: str, parse: Callable[[str], Any], default: Any, doc: str = "") -> Any:
    """Declare a setting read from environment variable `name`; an empty value means the default."""
    return field(default=default, metadata={"env": name, "parse": parse, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """The process configuration. Build it with `Settings.from_env()`; never mutate it."""

    # Core / server
    port: int = _env("PORT", _parse_port, 3000, "HTTP port")
    gin_mode: str = _env("GIN_MODE", _parse_str, "release", "kept for compatibility; 'debug' = DEBUG")
    session_secret: str = _env("SESSION_SECRET", _parse_str, "", "signs session cookies; random if unset")
    cookie_max_age_hours: int = _env("COOKIE_MAXAGE_HOURS", _parse_non_negative_int, 168)
    enable_cookie_secure: bool = _env("ENABLE_COOKIE_SECURE", _parse_bool, True)
    sql_dsn: str = _env(
        "SQL_DSN", _parse_str, "", "empty = SQLite; postgres://… ; Go MySQL DSN; SQLAlchemy URL"
    )
    sqlite_path: str = _env("SQLITE_PATH", _parse_str, "./data/one-api.db")
    sqlite_busy_timeout: int = _env("SQLITE_BUSY_TIMEOUT", _parse_non_negative_int, 10000, "milliseconds")
    log_sql_dsn: str = _env("LOG_SQL_DSN", _parse_str, "", "separate database for the logs table")
    sql_max_idle_conns: int = _env("SQL_MAX_IDLE_CONNS", _parse_non_negative_int, 200)
    sql_max_open_conns: int = _env("SQL_MAX_OPEN_CONNS", _parse_non_negative_int, 2000)
    sql_max_lifetime: int = _env("SQL_MAX_LIFETIME", _parse_non_negative_int, 300, "seconds")
    redis_conn_string: str = _env("REDIS_CONN_STRING", _parse_str, "")
    redis_master_name: str = _env("REDIS_MASTER_NAME", _parse_str, "")
    redis_password: str = _env("REDIS_PASSWORD", _parse_str, "")
    memory_cache_enabled: bool = _env("MEMORY_CACHE_ENABLED", _parse_bool, False)
    sync_frequency: int = _env("SYNC_FREQUENCY", _parse_non_negative_int, 120, "seconds")
    node_type: str = _env("NODE_TYPE", _parse_str, "master", "'slave' skips migrations")
    frontend_base_url: str = _env("FRONTEND_BASE_URL", _parse_str, "")
    debug: bool = _env("DEBUG", _parse_bool, False)
    debug_sql: bool = _env("DEBUG_SQL", _parse_bool, False)
    theme: str = _env("THEME", _parse_str, "modern")
    initial_root_token: str = _env("INITIAL_ROOT_TOKEN", _parse_str, "")
    initial_root_access_token: str = _env("INITIAL_ROOT_ACCESS_TOKEN", _parse_str, "")
    shutdown_timeout: int = _env("SHUTDOWN_TIMEOUT", _parse_non_negative_int, 360, "seconds")

    # Relay
    relay_timeout: int = _env("RELAY_TIMEOUT", _parse_non_negative_int, 0, "seconds; 0 = none")
    idle_timeout: int = _env("IDLE_TIMEOUT", _parse_non_negative_int, 30, "seconds")
    relay_proxy: str = _env("RELAY_PROXY", _parse_str, "")
    user_content_request_proxy: str = _env("USER_CONTENT_REQUEST_PROXY", _parse_str, "")
    user_content_request_timeout: int = _env("USER_CONTENT_REQUEST_TIMEOUT", _parse_non_negative_int, 30)
    max_inline_image_size_mb: int = _env("MAX_INLINE_IMAGE_SIZE_MB", _parse_non_negative_int, 16)
    enforce_include_usage: bool = _env("ENFORCE_INCLUDE_USAGE", _parse_bool, True)
    default_max_token: int = _env("DEFAULT_MAX_TOKEN", _parse_non_negative_int, 2048)
    default_use_min_max_tokens_model: bool = _env("DEFAULT_USE_MIN_MAX_TOKENS_MODEL", _parse_bool, False)
    gemini_safety_setting: str = _env("GEMINI_SAFETY_SETTING", _parse_str, "BLOCK_NONE")
    gemini_version: str = _env("GEMINI_VERSION", _parse_str, "v1")
    openrouter_provider_sort: str = _env("OPENROUTER_PROVIDER_SORT", _parse_str, "")
    token_key_prefix: str = _env("TOKEN_KEY_PREFIX", _parse_str, "sk-")
    auto_detect_api_format: bool = _env("AUTO_DETECT_API_FORMAT", _parse_bool, True)
    auto_detect_api_format_action: str = _env(
        "AUTO_DETECT_API_FORMAT_ACTION", _one_of("transparent", "redirect"), "transparent"
    )
    channel_suspend_seconds_for_429: int = _env(
        "CHANNEL_SUSPEND_SECONDS_FOR_429", _parse_non_negative_int, 60
    )
    channel_suspend_seconds_for_5xx: int = _env(
        "CHANNEL_SUSPEND_SECONDS_FOR_5XX", _parse_non_negative_int, 30
    )
    channel_suspend_seconds_for_auth: int = _env(
        "CHANNEL_SUSPEND_SECONDS_FOR_AUTH", _parse_non_negative_int, 60
    )
    channel_test_frequency: int = _env(
        "CHANNEL_TEST_FREQUENCY", _parse_non_negative_int, 0, "minutes; 0 = off"
    )
    polling_interval: int = _env("POLLING_INTERVAL", _parse_non_negative_int, 0, "seconds between tests")
    test_prompt: str = _env("TEST_PROMPT", _parse_str, "2 + 2 = ?")
    test_max_tokens: int = _env("TEST_MAX_TOKENS", _parse_non_negative_int, 1024)

    # Billing
    preconsume_token_for_background_request: int = _env(
        "PRECONSUME_TOKEN_FOR_BACKGROUND_REQUEST", _parse_non_negative_int, 15000
    )
    billing_timeout: int = _env("BILLING_TIMEOUT", _parse_non_negative_int, 300)
    streaming_billing_interval: int = _env("STREAMING_BILLING_INTERVAL", _parse_non_negative_int, 3)
    external_billing_default_timeout: int = _env(
        "EXTERNAL_BILLING_DEFAULT_TIMEOUT", _parse_non_negative_int, 600
    )
    external_billing_max_timeout: int = _env("EXTERNAL_BILLING_MAX_TIMEOUT", _parse_non_negative_int, 3600)
    token_transactions_max_history: int = _env(
        "TOKEN_TRANSACTIONS_MAX_HISTORY", _parse_non_negative_int, 1000
    )
    batch_update_enabled: bool = _env("BATCH_UPDATE_ENABLED", _parse_bool, False)
    batch_update_interval: int = _env("BATCH_UPDATE_INTERVAL", _parse_non_negative_int, 5, "seconds")
    batch_update_timeout: int = _env("BATCH_UPDATE_TIMEOUT", _parse_non_negative_int, 180, "seconds")
    max_items_per_page: int = _env("MAX_ITEMS_PER_PAGE", _parse_non_negative_int, 100)

    # Rate limits
    global_api_rate_limit: int = _env("GLOBAL_API_RATE_LIMIT", _parse_non_negative_int, 480)
    global_web_rate_limit: int = _env("GLOBAL_WEB_RATE_LIMIT", _parse_non_negative_int, 240)
    critical_rate_limit: int = _env("CRITICAL_RATE_LIMIT", _parse_non_negative_int, 20)
    global_relay_rate_limit: int = _env("GLOBAL_RELAY_RATE_LIMIT", _parse_non_negative_int, 480)
    global_channel_rate_limit: bool = _env("GLOBAL_CHANNEL_RATE_LIMIT", _parse_bool, False)
    low_balance_rate_limit_threshold: float = _env("LOW_BALANCE_RATE_LIMIT_THRESHOLD", _parse_float, 0.5)
    low_balance_relay_rate_limit: int = _env(
        "LOW_BALANCE_RELAY_RATE_LIMIT", _parse_non_negative_int, 0, "0 = GLOBAL_RELAY_RATE_LIMIT"
    )
    low_balance_relay_rate_limit_duration: int = _env(
        "LOW_BALANCE_RELAY_RATE_LIMIT_DURATION", _parse_non_negative_int, 180
    )
    redeem_failure_rate_limit: int = _env("REDEEM_FAILURE_RATE_LIMIT", _parse_non_negative_int, 5)
    conversation_rate_limit: int = _env("CONVERSATION_RATE_LIMIT", _parse_non_negative_int, 240)
    conversation_rate_limit_duration: int = _env(
        "CONVERSATION_RATE_LIMIT_DURATION", _parse_non_negative_int, 60
    )
    rate_limit_disabled: bool = _env("RATE_LIMIT_DISABLED", _parse_bool, False)

    # Observability
    enable_metric: bool = _env("ENABLE_METRIC", _parse_bool, False)
    metric_queue_size: int = _env("METRIC_QUEUE_SIZE", _parse_non_negative_int, 10)
    metric_success_rate_threshold: float = _env("METRIC_SUCCESS_RATE_THRESHOLD", _parse_float, 0.8)
    metric_success_chan_size: int = _env("METRIC_SUCCESS_CHAN_SIZE", _parse_non_negative_int, 1024)
    metric_fail_chan_size: int = _env("METRIC_FAIL_CHAN_SIZE", _parse_non_negative_int, 128)
    enable_prometheus_metrics: bool = _env("ENABLE_PROMETHEUS_METRICS", _parse_bool, True)
    metrics_token: str = _env("METRICS_TOKEN", _parse_str, "")
    otel_enabled: bool = _env("OTEL_ENABLED", _parse_bool, False)
    otel_exporter_otlp_endpoint: str = _env("OTEL_EXPORTER_OTLP_ENDPOINT", _parse_str, "")
    otel_exporter_otlp_insecure: bool = _env("OTEL_EXPORTER_OTLP_INSECURE", _parse_bool, True)
    otel_service_name: str = _env("OTEL_SERVICE_NAME", _parse_str, "one-api")
    otel_environment: str = _env("OTEL_ENVIRONMENT", _parse_str, "debug")
    log_retention_days: int = _env("LOG_RETENTION_DAYS", _parse_non_negative_int, 0)
    trace_retention_days: int = _env("TRACE_RETENTION_DAYS", _parse_non_negative_int, 30)
    log_push_api: str = _env("LOG_PUSH_API", _parse_str, "")
    log_push_type: str = _env("LOG_PUSH_TYPE", _parse_str, "")
    log_push_token: str = _env("LOG_PUSH_TOKEN", _parse_str, "")

    # Other
    response_state_enabled: bool = _env("RESPONSE_STATE_ENABLED", _parse_bool, False)
    min_topup_usd: float = _env("MIN_TOPUP_USD", _parse_float, 5.0)
    email_provider: str = _env("EMAIL_PROVIDER", _parse_str, "")
    resend_api_key: str = _env("RESEND_API_KEY", _parse_str, "")
    force_email_tls_verify: bool = _env("FORCE_EMAIL_TLS_VERIFY", _parse_bool, False)

    # Sign-in providers (ours): where GitHub OAuth, Lark and Turnstile live; tests point them at fakes
    github_oauth_base_url: str = _env("GITHUB_OAUTH_BASE_URL", _parse_str, "https://github.com")
    github_api_base_url: str = _env("GITHUB_API_BASE_URL", _parse_str, "https://api.github.com")
    lark_oauth_base_url: str = _env(
        "LARK_OAUTH_BASE_URL",
        _parse_str,
        "https://open.feishu.cn",
        "Lark/Feishu open platform (larksuite.com abroad)",
    )
    turnstile_verify_url: str = _env(
        "TURNSTILE_VERIFY_URL", _parse_str, "https://challenges.cloudflare.com/turnstile/v0/siteverify"
    )

    # Process layout (ours)
    workers: int = _env("WORKERS", _parse_non_negative_int, 1, "uvicorn worker processes")

    @property
    def is_slave(self) -> bool:
        return self.node_type.lower() == "slave"

    @property
    def redis_enabled(self) -> bool:
        return bool(self.redis_conn_string)

    @property
    def effective_memory_cache(self) -> bool:
        """Redis forces the in-memory caches on, as in One API."""
        return self.memory_cache_enabled or self.redis_enabled

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every variable from `environ` (default: os.environ); raise ConfigError naming bad ones."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []
        for f in fields(cls):
            name = f.metadata["env"]
            raw = env.get(name, "")
            if raw.strip() == "":
                continue
            try:
                values[f.name] = f.metadata["parse"](raw)
            except ValueError as exc:
                problems.append(f"{name}={raw!r}: {exc}")
        if problems:
            raise ConfigError("invalid environment: " + "; ".join(problems))
        values.update(overrides)
        return cls(**values)

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(variable, default, note) for every setting, for `one-api env`."""
        return [(f.metadata["env"], repr(f.default), f.metadata["doc"]) for f in fields(cls)]

    # Passkeys (fork): the WebAuthn relying party; empty = derived from the ServerAddress option
    webauthn_rp_id: str = _env(
        "WEBAUTHN_RP_ID", _parse_str, "", "passkey domain; empty = ServerAddress's host (or localhost)"
    )
    webauthn_rp_origins: str = _env(
        "WEBAUTHN_RP_ORIGINS", _parse_str, "", "comma-separated passkey origins; empty = ServerAddress"
    )

    # Stripe top-ups (fork): the options StripeSecretKey / StripeWebhookSecret, when stored, win
    stripe_secret_key: str = _env("STRIPE_SECRET_KEY", _parse_str, "", "sk_live_… or sk_test_…")
    stripe_webhook_secret: str = _env("STRIPE_WEBHOOK_SECRET", _parse_str, "", "whsec_…")
    stripe_public_base_url: str = _env(
        "STRIPE_PUBLIC_BASE_URL", _parse_str, "", "origin of Checkout return URLs; empty = ServerAddress"
    )
    stripe_api_base_url: str = _env(
        "STRIPE_API_BASE_URL", _parse_str, "https://api.stripe.com", "ours: where the Stripe API lives"
    )
