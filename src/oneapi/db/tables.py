"""One API's tables, with its exact table, column and index names (SPEC §2).

Columns the Go project has are listed first in each table, in its order; columns we add (from the
maintained fork, or our own) come after and are always nullable or defaulted, so that an existing
One API database is upgraded only by adding. Index names are GORM's, so no index is duplicated.
"""

from __future__ import annotations

from sqlalchemy import (
    CHAR,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from oneapi.db.binary import Bytes
from oneapi.db.types import Big, Id, IndexedText, LongText

metadata = MetaData()
log_metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", IndexedText(), nullable=True),
    Column("password", LongText, nullable=False),
    Column("display_name", IndexedText(), nullable=True),
    Column("role", Integer, server_default="1", default=1),
    Column("status", Integer, server_default="1", default=1),
    Column("email", IndexedText(), nullable=True),
    Column("github_id", IndexedText(), nullable=True),
    Column("wechat_id", IndexedText(), nullable=True),
    Column("lark_id", IndexedText(), nullable=True),
    Column("oidc_id", IndexedText(), nullable=True),
    Column("access_token", String(32), nullable=True),
    Column("quota", Big, server_default="0", default=0),
    Column("used_quota", Big, server_default="0", default=0),
    Column("request_count", Integer, server_default="0", default=0),
    Column("group", String(32), server_default="default", default="default"),
    Column("aff_code", String(32), nullable=True),
    Column("inviter_id", Big, nullable=True),
    # additions (fork)
    Column("totp_secret", String(64), nullable=True),
    Column("created_at", Big, nullable=True),
    Column("updated_at", Big, nullable=True),
    UniqueConstraint("username", name="uni_users_username"),
)
Index("idx_users_username", users.c.username)
Index("idx_users_display_name", users.c.display_name)
Index("idx_users_email", users.c.email)
Index("idx_users_git_hub_id", users.c.github_id)
Index("idx_users_we_chat_id", users.c.wechat_id)
Index("idx_users_lark_id", users.c.lark_id)
Index("idx_users_oidc_id", users.c.oidc_id)
Index("idx_users_access_token", users.c.access_token, unique=True)
Index("idx_users_aff_code", users.c.aff_code, unique=True)
Index("idx_users_inviter_id", users.c.inviter_id)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Big, nullable=True),
    Column("key", String(48), nullable=True),
    Column("status", Integer, server_default="1", default=1),
    Column("name", IndexedText(), nullable=True),
    Column("created_time", Big, nullable=True),
    Column("accessed_time", Big, nullable=True),
    Column("expired_time", Big, server_default="-1", default=-1),
    Column("remain_quota", Big, server_default="0", default=0),
    Column("unlimited_quota", Boolean, server_default="0", default=False),
    Column("used_quota", Big, server_default="0", default=0),
    Column("models", LongText, nullable=True),
    Column("subnet", IndexedText(255), server_default="", default=""),
    # additions (fork)
    Column("created_at", Big, nullable=True),
    Column("updated_at", Big, nullable=True),
)
Index("idx_tokens_key", tokens.c.key, unique=True)
Index("idx_tokens_name", tokens.c.name)
Index("idx_tokens_user_id", tokens.c.user_id)

channels = Table(
    "channels",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("type", Integer, server_default="0", default=0),
    Column("key", LongText, nullable=True),
    Column("status", Integer, server_default="1", default=1),
    Column("name", IndexedText(), nullable=True),
    Column("weight", Integer, server_default="0", default=0),
    Column("created_time", Big, nullable=True),
    Column("test_time", Big, nullable=True),
    Column("response_time", Integer, nullable=True),
    Column("base_url", IndexedText(255), server_default="", default=""),
    Column("other", LongText, nullable=True),
    Column("balance", Float, nullable=True),
    Column("balance_updated_time", Big, nullable=True),
    Column("models", LongText, nullable=True),
    Column("group", String(32), server_default="default", default="default"),
    Column("used_quota", Big, server_default="0", default=0),
    Column("model_mapping", LongText, nullable=True),
    Column("priority", Big, server_default="0", default=0),
    Column("config", LongText, nullable=True),
    Column("system_prompt", LongText, nullable=True),
    # additions (fork)
    Column("ratelimit", Integer, server_default="0", default=0),
    Column("testing_model", String(255), nullable=True),
    Column("model_configs", LongText, nullable=True),
    Column("created_at", Big, nullable=True),
    Column("updated_at", Big, nullable=True),
)
Index("idx_channels_name", channels.c.name)

abilities = Table(
    "abilities",
    metadata,
    Column("group", String(32), primary_key=True),
    Column("model", IndexedText(), primary_key=True),
    Column("channel_id", Big, primary_key=True, autoincrement=False),
    Column("enabled", Boolean, nullable=True),
    Column("priority", Big, server_default="0", default=0),
    # additions (fork)
    Column("suspend_until", DateTime, nullable=True),
)
Index("idx_abilities_channel_id", abilities.c.channel_id)
Index("idx_abilities_priority", abilities.c.priority)

options = Table(
    "options",
    metadata,
    Column("key", IndexedText(), primary_key=True),
    Column("value", LongText, nullable=True),
)

redemptions = Table(
    "redemptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Big, nullable=True),
    Column("key", String(32), nullable=True),
    Column("status", Integer, server_default="1", default=1),
    Column("name", IndexedText(), nullable=True),
    Column("quota", Big, server_default="100", default=100),
    Column("created_time", Big, nullable=True),
    Column("redeemed_time", Big, nullable=True),
    # additions (fork)
    Column("created_at", Big, nullable=True),
    Column("updated_at", Big, nullable=True),
)
Index("idx_redemptions_key", redemptions.c.key, unique=True)
Index("idx_redemptions_name", redemptions.c.name)

user_request_costs = Table(
    "user_request_costs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("created_time", Big, nullable=True),
    Column("user_id", Big, nullable=True),
    Column("request_id", String(32), nullable=True),
    Column("quota", Big, server_default="0", default=0),
    Column("created_at", Big, nullable=True),
    Column("updated_at", Big, nullable=True),
)
Index("idx_user_request_costs_request_id", user_request_costs.c.request_id, unique=True)
Index("idx_user_request_costs_user_id", user_request_costs.c.user_id)

# The fork's external-billing transactions (SPEC §2.9), keyed by integer ids: one row per
# `/api/token/consume` hold or charge, unique per (token, transaction_id).
token_transactions = Table(
    "token_transactions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("transaction_id", String(64), nullable=False),
    Column("token_id", Big, nullable=False),
    Column("user_id", Big, nullable=True),
    Column("status", Integer, server_default="1", default=1),
    Column("pre_quota", Big, server_default="0", default=0),
    Column("final_quota", Big, nullable=True),
    Column("token_limited", Boolean, server_default="1", default=True),
    Column("reason", LongText, nullable=True),
    Column("request_id", String(64), server_default="", default=""),
    Column("trace_id", String(64), server_default="", default=""),
    Column("expires_at", Big, server_default="0", default=0),
    Column("confirmed_at", Big, nullable=True),
    Column("canceled_at", Big, nullable=True),
    Column("auto_confirmed", Boolean, server_default="0", default=False),
    Column("elapsed_time_ms", Big, nullable=True),
    Column("created_at", Big, nullable=True),
    Column("updated_at", Big, nullable=True),
)
Index(
    "idx_token_transactions_token_txn",
    token_transactions.c.token_id,
    token_transactions.c.transaction_id,
    unique=True,
)
Index("idx_token_transactions_status_expires", token_transactions.c.status, token_transactions.c.expires_at)

logs = Table(
    "logs",
    log_metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Big, nullable=True),
    Column("created_at", Big, nullable=True),
    Column("type", Integer, nullable=True),
    Column("content", LongText, nullable=True),
    Column("username", IndexedText(), server_default="", default=""),
    Column("token_name", IndexedText(), server_default="", default=""),
    Column("model_name", IndexedText(), server_default="", default=""),
    Column("quota", Big, server_default="0", default=0),
    Column("prompt_tokens", Big, server_default="0", default=0),
    Column("completion_tokens", Big, server_default="0", default=0),
    Column("channel_id", Big, nullable=True),
    Column("request_id", IndexedText(64), server_default="", default=""),
    Column("elapsed_time", Big, server_default="0", default=0),
    Column("is_stream", Boolean, server_default="0", default=False),
    Column("system_prompt_reset", Boolean, server_default="0", default=False),
    # additions (fork)
    Column("cached_prompt_tokens", Big, server_default="0", default=0),
    Column("origin_model_name", IndexedText(), server_default="", default=""),
    Column("trace_id", String(64), server_default="", default=""),
    Column("metadata", Text, nullable=True),
    # additions (ours): which token wrote the row, for per-token log views
    Column("token_id", Big, nullable=True),
    # additions (ours): 1 once counted in log_daily_stats; NULL on rows another program wrote
    Column("rolled_up", Integer, nullable=True),
)
Index("idx_logs_user_id", logs.c.user_id)
Index("idx_created_at_type", logs.c.created_at, logs.c.type)
Index("index_username_model_name", logs.c.model_name, logs.c.username)
Index("idx_logs_token_name", logs.c.token_name)
Index("idx_logs_model_name", logs.c.model_name)
Index("idx_logs_channel_id", logs.c.channel_id)
# ours: a user's rows by time (self lists, stats; admin filter by name), a key's rows, rows not
# yet rolled up
Index("idx_logs_user_id_created_at", logs.c.user_id, logs.c.created_at)
Index("idx_logs_username_created_at", logs.c.username, logs.c.created_at)
Index("idx_logs_token_id", logs.c.token_id)
Index("idx_logs_rolled_up", logs.c.rolled_up, logs.c.id)
# Partial where the database can (only the fork's provisional rows); a plain (type) index on MySQL.
Index(
    "idx_logs_provisional",
    logs.c.type,
    sqlite_where=logs.c.type == 6,
    postgresql_where=logs.c.type == 6,
)

# ours: consume totals per UTC day, user and model, kept as logs are written (the dashboard);
# user_id 0 holds the site's totals. Keyed user first: a dashboard reads one key range.
log_daily_stats = Table(
    "log_daily_stats",
    log_metadata,
    Column("user_id", Big, primary_key=True, autoincrement=False),
    Column("day", Big, primary_key=True, autoincrement=False),  # Unix seconds of 00:00 UTC
    Column("model_name", IndexedText(), primary_key=True),
    Column("request_count", Big, server_default="0", default=0),
    Column("quota", Big, server_default="0", default=0),
    Column("prompt_tokens", Big, server_default="0", default=0),
    Column("completion_tokens", Big, server_default="0", default=0),
    Column("cached_prompt_tokens", Big, server_default="0", default=0),
    sqlite_with_rowid=False,  # stored in key order, as InnoDB does
)

MAIN_TABLES: tuple[Table, ...] = (
    users,
    tokens,
    channels,
    abilities,
    options,
    redemptions,
    user_request_costs,
    token_transactions,
)
LOG_TABLES = (logs, log_daily_stats)

# the fork's WebAuthn credentials (SPEC §1.3 passkey sign-in), its table and column names; the
# raw credential id and COSE key are bytes (varbinary on MySQL so the credential id can be
# indexed), created_at/updated_at are Unix milliseconds as the fork writes them.
passkey_credentials = Table(
    "passkey_credentials",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("uuid", CHAR(36), nullable=True),
    Column("user_id", Big, nullable=False),
    Column("user_uuid", CHAR(36), nullable=True),
    Column("credential_name", String(128), nullable=False),
    Column("credential_id", Bytes(1024), nullable=False),
    Column("public_key", Bytes(1024), nullable=False),
    Column("attestation_type", String(64), nullable=True),
    Column("aaguid", Bytes(64), nullable=True),
    Column("sign_count", Big, server_default="0", default=0),
    Column("backup_eligible", Boolean, server_default="0", default=False),
    Column("backup_state", Boolean, server_default="0", default=False),
    Column("transport", String(256), nullable=True),
    Column("created_at", Big, nullable=True),
    Column("updated_at", Big, nullable=True),
)
Index("idx_passkey_credentials_user_id", passkey_credentials.c.user_id)
Index("idx_passkey_credentials_user_uuid", passkey_credentials.c.user_uuid)
Index("idx_passkey_credentials_credential_id", passkey_credentials.c.credential_id, unique=True)
Index("idx_passkey_credentials_uuid", passkey_credentials.c.uuid)

MAIN_TABLES = (*MAIN_TABLES, passkey_credentials)

# The fork's Stripe top-ups (SPEC §2.9): one row per checkout attempt, settled by webhook. The
# pending session_id is a placeholder ("pending:stripe:<user>:<request>") until Stripe answers.
payment_orders = Table(
    "payment_orders",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Big, nullable=True),
    Column("provider", String(32), nullable=True),
    Column("request_id", String(64), nullable=True),
    Column("session_id", String(191), nullable=True),
    Column("amount_cents", Big, nullable=True),
    Column("currency", String(8), nullable=True),
    Column("quota", Big, nullable=True),
    Column("status", String(32), nullable=True),
    Column("created_at", Big, nullable=True),
    Column("updated_at", Big, nullable=True),
    Column("paid_at", Big, nullable=True),
)
Index(
    "idx_payment_orders_user_request",
    payment_orders.c.user_id,
    payment_orders.c.request_id,
    unique=True,
)
Index("idx_payment_orders_session_id", payment_orders.c.session_id, unique=True)
Index("idx_payment_orders_provider", payment_orders.c.provider)
Index("idx_payment_orders_status", payment_orders.c.status)

# Stripe event ids already settled: a redelivered event is acknowledged without a second credit.
stripe_webhook_events = Table(
    "stripe_webhook_events",
    metadata,
    Column("event_id", String(191), primary_key=True, autoincrement=False),
    Column("event_type", String(64), nullable=True),
    Column("created_at", Big, nullable=True),
)

MAIN_TABLES = (*MAIN_TABLES, payment_orders, stripe_webhook_events)
