# ruff: noqa: E501 -- the DDL below is quoted verbatim; its statements cannot be wrapped.
"""One API's own tables, created with plain SQL exactly as its ORM (GORM 1.25) lays them out.

Tests build a database the way an operator's One API left it, then start our app on it, to prove
it opens such a database as it is. SQLite is the schema from a real One API file, verbatim (SPEC
beside ONEAPI_SCHEMA_SQLITE.sql); PostgreSQL and MySQL follow GORM's type rules for the same Go
structs: Go int → bigint, `type:int` → int, bool → boolean, float64 → decimal (PG) / double (MySQL),
an unsized string → text (PG) / longtext (MySQL) unless it is indexed, a key or has a default, in
which case MySQL makes it varchar(191).
"""

from __future__ import annotations

import sqlalchemy as sa

SQLITE = """
CREATE TABLE IF NOT EXISTS "channels" (`id` integer,`type` integer DEFAULT 0,`key` text,`status` integer DEFAULT 1,`name` text,`weight` integer DEFAULT 0,`created_time` integer,`test_time` integer,`response_time` integer,`base_url` text DEFAULT "",`other` text,`balance` real,`balance_updated_time` integer,`models` text,`group` varchar(32) DEFAULT "default",`used_quota` integer DEFAULT 0,`model_mapping` varchar(1024) DEFAULT "",`priority` integer DEFAULT 0,`config` text,`system_prompt` text,PRIMARY KEY (`id`));
CREATE INDEX `idx_channels_name` ON `channels`(`name`);
CREATE TABLE IF NOT EXISTS "tokens" (`id` integer,`user_id` integer,`key` char(48),`status` integer DEFAULT 1,`name` text,`created_time` integer,`accessed_time` integer,`expired_time` integer DEFAULT -1,`remain_quota` integer DEFAULT 0,`unlimited_quota` numeric DEFAULT false,`used_quota` integer DEFAULT 0,`models` text,`subnet` text DEFAULT "",PRIMARY KEY (`id`));
CREATE UNIQUE INDEX `idx_tokens_key` ON `tokens`(`key`);
CREATE INDEX `idx_tokens_name` ON `tokens`(`name`);
CREATE TABLE IF NOT EXISTS "users" (`id` integer,`username` text,`password` text NOT NULL,`display_name` text,`role` integer DEFAULT 1,`status` integer DEFAULT 1,`email` text,`github_id` text,`wechat_id` text,`lark_id` text,`oidc_id` text,`access_token` char(32),`quota` integer DEFAULT 0,`used_quota` integer DEFAULT 0,`request_count` integer DEFAULT 0,`group` varchar(32) DEFAULT "default",`aff_code` varchar(32),`inviter_id` integer,PRIMARY KEY (`id`),CONSTRAINT `uni_users_username` UNIQUE (`username`));
CREATE INDEX `idx_users_username` ON `users`(`username`);
CREATE INDEX `idx_users_display_name` ON `users`(`display_name`);
CREATE INDEX `idx_users_email` ON `users`(`email`);
CREATE INDEX `idx_users_git_hub_id` ON `users`(`github_id`);
CREATE INDEX `idx_users_we_chat_id` ON `users`(`wechat_id`);
CREATE INDEX `idx_users_lark_id` ON `users`(`lark_id`);
CREATE INDEX `idx_users_oidc_id` ON `users`(`oidc_id`);
CREATE UNIQUE INDEX `idx_users_access_token` ON `users`(`access_token`);
CREATE UNIQUE INDEX `idx_users_aff_code` ON `users`(`aff_code`);
CREATE INDEX `idx_users_inviter_id` ON `users`(`inviter_id`);
CREATE TABLE `options` (`key` text,`value` text,PRIMARY KEY (`key`));
CREATE TABLE IF NOT EXISTS "redemptions" (`id` integer,`user_id` integer,`key` char(32),`status` integer DEFAULT 1,`name` text,`quota` integer DEFAULT 100,`created_time` integer,`redeemed_time` integer,PRIMARY KEY (`id`));
CREATE UNIQUE INDEX `idx_redemptions_key` ON `redemptions`(`key`);
CREATE INDEX `idx_redemptions_name` ON `redemptions`(`name`);
CREATE TABLE IF NOT EXISTS "abilities" (`group` varchar(32),`model` text,`channel_id` integer,`enabled` numeric,`priority` integer DEFAULT 0,PRIMARY KEY (`group`,`model`,`channel_id`));
CREATE INDEX `idx_abilities_channel_id` ON `abilities`(`channel_id`);
CREATE INDEX `idx_abilities_priority` ON `abilities`(`priority`);
CREATE TABLE IF NOT EXISTS "logs" (`id` integer,`user_id` integer,`created_at` integer,`type` integer,`content` text,`username` text DEFAULT "",`token_name` text DEFAULT "",`model_name` text DEFAULT "",`quota` integer DEFAULT 0,`prompt_tokens` integer DEFAULT 0,`completion_tokens` integer DEFAULT 0,`channel_id` integer,`request_id` text DEFAULT "",`elapsed_time` integer DEFAULT 0,`is_stream` numeric DEFAULT false,`system_prompt_reset` numeric DEFAULT false,PRIMARY KEY (`id`));
CREATE INDEX `idx_logs_user_id` ON `logs`(`user_id`);
CREATE INDEX `idx_created_at_type` ON `logs`(`created_at`,`type`);
CREATE INDEX `index_username_model_name` ON `logs`(`model_name`,`username`);
CREATE INDEX `idx_logs_token_name` ON `logs`(`token_name`);
CREATE INDEX `idx_logs_model_name` ON `logs`(`model_name`);
CREATE INDEX `idx_logs_channel_id` ON `logs`(`channel_id`);
"""

POSTGRESQL = (
    """CREATE TABLE "channels" ("id" bigserial,"type" bigint DEFAULT 0,"key" text,"status" bigint DEFAULT 1,"name" text,"weight" bigint DEFAULT 0,"created_time" bigint,"test_time" bigint,"response_time" bigint,"base_url" text DEFAULT '',"other" text,"balance" decimal,"balance_updated_time" bigint,"models" text,"group" varchar(32) DEFAULT 'default',"used_quota" bigint DEFAULT 0,"model_mapping" varchar(1024) DEFAULT '',"priority" bigint DEFAULT 0,"config" text,"system_prompt" text,PRIMARY KEY ("id"))""",
    """CREATE INDEX IF NOT EXISTS "idx_channels_name" ON "channels" ("name")""",
    """CREATE TABLE "tokens" ("id" bigserial,"user_id" bigint,"key" char(48),"status" bigint DEFAULT 1,"name" text,"created_time" bigint,"accessed_time" bigint,"expired_time" bigint DEFAULT -1,"remain_quota" bigint DEFAULT 0,"unlimited_quota" boolean DEFAULT false,"used_quota" bigint DEFAULT 0,"models" text,"subnet" text DEFAULT '',PRIMARY KEY ("id"))""",
    """CREATE UNIQUE INDEX IF NOT EXISTS "idx_tokens_key" ON "tokens" ("key")""",
    """CREATE INDEX IF NOT EXISTS "idx_tokens_name" ON "tokens" ("name")""",
    """CREATE TABLE "users" ("id" bigserial,"username" text,"password" text NOT NULL,"display_name" text,"role" int DEFAULT 1,"status" int DEFAULT 1,"email" text,"github_id" text,"wechat_id" text,"lark_id" text,"oidc_id" text,"access_token" char(32),"quota" bigint DEFAULT 0,"used_quota" bigint DEFAULT 0,"request_count" int DEFAULT 0,"group" varchar(32) DEFAULT 'default',"aff_code" varchar(32),"inviter_id" int,PRIMARY KEY ("id"),CONSTRAINT "uni_users_username" UNIQUE ("username"))""",
    """CREATE INDEX IF NOT EXISTS "idx_users_username" ON "users" ("username")""",
    """CREATE INDEX IF NOT EXISTS "idx_users_display_name" ON "users" ("display_name")""",
    """CREATE INDEX IF NOT EXISTS "idx_users_email" ON "users" ("email")""",
    """CREATE INDEX IF NOT EXISTS "idx_users_git_hub_id" ON "users" ("github_id")""",
    """CREATE INDEX IF NOT EXISTS "idx_users_we_chat_id" ON "users" ("wechat_id")""",
    """CREATE INDEX IF NOT EXISTS "idx_users_lark_id" ON "users" ("lark_id")""",
    """CREATE INDEX IF NOT EXISTS "idx_users_oidc_id" ON "users" ("oidc_id")""",
    """CREATE UNIQUE INDEX IF NOT EXISTS "idx_users_access_token" ON "users" ("access_token")""",
    """CREATE UNIQUE INDEX IF NOT EXISTS "idx_users_aff_code" ON "users" ("aff_code")""",
    """CREATE INDEX IF NOT EXISTS "idx_users_inviter_id" ON "users" ("inviter_id")""",
    """CREATE TABLE "options" ("key" text,"value" text,PRIMARY KEY ("key"))""",
    """CREATE TABLE "redemptions" ("id" bigserial,"user_id" bigint,"key" char(32),"status" bigint DEFAULT 1,"name" text,"quota" bigint DEFAULT 100,"created_time" bigint,"redeemed_time" bigint,PRIMARY KEY ("id"))""",
    """CREATE UNIQUE INDEX IF NOT EXISTS "idx_redemptions_key" ON "redemptions" ("key")""",
    """CREATE INDEX IF NOT EXISTS "idx_redemptions_name" ON "redemptions" ("name")""",
    """CREATE TABLE "abilities" ("group" varchar(32),"model" text,"channel_id" bigint,"enabled" boolean,"priority" bigint DEFAULT 0,PRIMARY KEY ("group","model","channel_id"))""",
    """CREATE INDEX IF NOT EXISTS "idx_abilities_channel_id" ON "abilities" ("channel_id")""",
    """CREATE INDEX IF NOT EXISTS "idx_abilities_priority" ON "abilities" ("priority")""",
    """CREATE TABLE "logs" ("id" bigserial,"user_id" bigint,"created_at" bigint,"type" bigint,"content" text,"username" text DEFAULT '',"token_name" text DEFAULT '',"model_name" text DEFAULT '',"quota" bigint DEFAULT 0,"prompt_tokens" bigint DEFAULT 0,"completion_tokens" bigint DEFAULT 0,"channel_id" bigint,"request_id" text DEFAULT '',"elapsed_time" bigint DEFAULT 0,"is_stream" boolean DEFAULT false,"system_prompt_reset" boolean DEFAULT false,PRIMARY KEY ("id"))""",
    """CREATE INDEX IF NOT EXISTS "idx_logs_user_id" ON "logs" ("user_id")""",
    """CREATE INDEX IF NOT EXISTS "idx_created_at_type" ON "logs" ("created_at","type")""",
    """CREATE INDEX IF NOT EXISTS "index_username_model_name" ON "logs" ("model_name","username")""",
    """CREATE INDEX IF NOT EXISTS "idx_logs_token_name" ON "logs" ("token_name")""",
    """CREATE INDEX IF NOT EXISTS "idx_logs_model_name" ON "logs" ("model_name")""",
    """CREATE INDEX IF NOT EXISTS "idx_logs_channel_id" ON "logs" ("channel_id")""",
)

MYSQL = (
    "CREATE TABLE `channels` (`id` bigint AUTO_INCREMENT,`type` bigint DEFAULT 0,`key` text,`status` bigint DEFAULT 1,`name` varchar(191),`weight` bigint unsigned DEFAULT 0,`created_time` bigint,`test_time` bigint,`response_time` bigint,`base_url` varchar(191) DEFAULT '',`other` longtext,`balance` double,`balance_updated_time` bigint,`models` longtext,`group` varchar(32) DEFAULT 'default',`used_quota` bigint DEFAULT 0,`model_mapping` varchar(1024) DEFAULT '',`priority` bigint DEFAULT 0,`config` longtext,`system_prompt` text,PRIMARY KEY (`id`),INDEX `idx_channels_name` (`name`))",
    "CREATE TABLE `tokens` (`id` bigint AUTO_INCREMENT,`user_id` bigint,`key` char(48),`status` bigint DEFAULT 1,`name` varchar(191),`created_time` bigint,`accessed_time` bigint,`expired_time` bigint DEFAULT -1,`remain_quota` bigint DEFAULT 0,`unlimited_quota` boolean DEFAULT false,`used_quota` bigint DEFAULT 0,`models` text,`subnet` varchar(191) DEFAULT '',PRIMARY KEY (`id`),UNIQUE INDEX `idx_tokens_key` (`key`),INDEX `idx_tokens_name` (`name`))",
    "CREATE TABLE `users` (`id` bigint AUTO_INCREMENT,`username` varchar(191),`password` longtext NOT NULL,`display_name` varchar(191),`role` int DEFAULT 1,`status` int DEFAULT 1,`email` varchar(191),`github_id` varchar(191),`wechat_id` varchar(191),`lark_id` varchar(191),`oidc_id` varchar(191),`access_token` char(32),`quota` bigint DEFAULT 0,`used_quota` bigint DEFAULT 0,`request_count` int DEFAULT 0,`group` varchar(32) DEFAULT 'default',`aff_code` varchar(32),`inviter_id` int,PRIMARY KEY (`id`),INDEX `idx_users_username` (`username`),INDEX `idx_users_display_name` (`display_name`),INDEX `idx_users_email` (`email`),INDEX `idx_users_git_hub_id` (`github_id`),INDEX `idx_users_we_chat_id` (`wechat_id`),INDEX `idx_users_lark_id` (`lark_id`),INDEX `idx_users_oidc_id` (`oidc_id`),UNIQUE INDEX `idx_users_access_token` (`access_token`),UNIQUE INDEX `idx_users_aff_code` (`aff_code`),INDEX `idx_users_inviter_id` (`inviter_id`),CONSTRAINT `uni_users_username` UNIQUE (`username`))",
    "CREATE TABLE `options` (`key` varchar(191),`value` longtext,PRIMARY KEY (`key`))",
    "CREATE TABLE `redemptions` (`id` bigint AUTO_INCREMENT,`user_id` bigint,`key` char(32),`status` bigint DEFAULT 1,`name` varchar(191),`quota` bigint DEFAULT 100,`created_time` bigint,`redeemed_time` bigint,PRIMARY KEY (`id`),UNIQUE INDEX `idx_redemptions_key` (`key`),INDEX `idx_redemptions_name` (`name`))",
    "CREATE TABLE `abilities` (`group` varchar(32),`model` varchar(191),`channel_id` bigint,`enabled` boolean,`priority` bigint DEFAULT 0,PRIMARY KEY (`group`,`model`,`channel_id`),INDEX `idx_abilities_channel_id` (`channel_id`),INDEX `idx_abilities_priority` (`priority`))",
    "CREATE TABLE `logs` (`id` bigint AUTO_INCREMENT,`user_id` bigint,`created_at` bigint,`type` bigint,`content` longtext,`username` varchar(191) DEFAULT '',`token_name` varchar(191) DEFAULT '',`model_name` varchar(191) DEFAULT '',`quota` bigint DEFAULT 0,`prompt_tokens` bigint DEFAULT 0,`completion_tokens` bigint DEFAULT 0,`channel_id` bigint,`request_id` varchar(191) DEFAULT '',`elapsed_time` bigint DEFAULT 0,`is_stream` boolean DEFAULT false,`system_prompt_reset` boolean DEFAULT false,PRIMARY KEY (`id`),INDEX `idx_logs_user_id` (`user_id`),INDEX `idx_created_at_type` (`created_at`,`type`),INDEX `index_username_model_name` (`model_name`,`username`),INDEX `idx_logs_token_name` (`token_name`),INDEX `idx_logs_model_name` (`model_name`),INDEX `idx_logs_channel_id` (`channel_id`))",
)


def create_one_api_schema(engine: sa.Engine) -> None:
    """Lay out an empty database the way One API's start-up leaves it, on the engine's dialect."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            raw.driver_connection.executescript(SQLITE)  # type: ignore[union-attr]
        finally:
            raw.close()
        return
    statements = POSTGRESQL if engine.dialect.name == "postgresql" else MYSQL
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
