"""The runtime options One API keeps in its `options` table, with their defaults (SPEC §8.2)."""

from __future__ import annotations

DEFAULT_EMAIL_DOMAINS = (
    "gmail.com,163.com,126.com,qq.com,outlook.com,hotmail.com,icloud.com,yahoo.com,foxmail.com"
)

DEFAULT_GROUP_RATIO = '{"default":1,"vip":1,"svip":1}'

BOOL_OPTIONS: dict[str, bool] = {
    "PasswordLoginEnabled": True,
    "PasswordRegisterEnabled": True,
    "EmailVerificationEnabled": False,
    "GitHubOAuthEnabled": False,
    "OidcEnabled": False,
    "WeChatAuthEnabled": False,
    "TurnstileCheckEnabled": False,
    "RegisterEnabled": True,
    "EmailDomainRestrictionEnabled": False,
    "AutomaticDisableChannelEnabled": False,
    "AutomaticEnableChannelEnabled": False,
    "ApproximateTokenEnabled": False,
    "LogConsumeEnabled": True,
    "DisplayInCurrencyEnabled": True,
    "DisplayTokenStatEnabled": True,
}

INT_OPTIONS: dict[str, int] = {
    "RetryTimes": 0,
    "QuotaForNewUser": 0,
    "QuotaForInviter": 0,
    "QuotaForInvitee": 0,
    "QuotaRemindThreshold": 1000,
    "PreConsumedQuota": 500,
    "SMTPPort": 587,
}

FLOAT_OPTIONS: dict[str, float] = {
    "QuotaPerUnit": 500000.0,
    "ChannelDisableThreshold": 5.0,
    "MinTopUpUSD": 5.0,
}

# JSON maps of model or group name to a non-negative number.
RATIO_OPTIONS: dict[str, str] = {
    "ModelRatio": "{}",
    "CompletionRatio": "{}",
    "GroupRatio": DEFAULT_GROUP_RATIO,
}

STRING_OPTIONS: dict[str, str] = {
    "Notice": "",
    "About": "",
    "HomePageContent": "",
    "Footer": "",
    "SystemName": "One API",
    "Logo": "",
    "ServerAddress": "http://localhost:3000",
    "TopUpLink": "",
    "ChatLink": "",
    "Theme": "modern",
    "EmailDomainWhitelist": DEFAULT_EMAIL_DOMAINS,
    "SMTPServer": "",
    "SMTPAccount": "",
    "SMTPFrom": "",
    "SMTPToken": "",
    "GitHubClientId": "",
    "GitHubClientSecret": "",
    "LarkClientId": "",
    "LarkClientSecret": "",
    "OidcClientId": "",
    "OidcClientSecret": "",
    "OidcWellKnown": "",
    "OidcAuthorizationEndpoint": "",
    "OidcTokenEndpoint": "",
    "OidcUserinfoEndpoint": "",
    "WeChatServerAddress": "",
    "WeChatServerToken": "",
    "WeChatAccountQRCodeImageURL": "",
    "MessagePusherAddress": "",
    "MessagePusherToken": "",
    "TurnstileSiteKey": "",
    "TurnstileSecretKey": "",
    "EmailProvider": "",
    "ResendAPIKey": "",
    "StripeSecretKey": "",
    "StripeWebhookSecret": "",
}

VALID_THEMES = ("berry", "air", "modern", "default")
SECRET_SUFFIXES = ("Token", "Secret", "SecretKey", "Password", "APIKey", "ApiKey")


def default_values() -> dict[str, str]:
    """Every known option as the string One API stores."""
    values: dict[str, str] = {}
    values.update({k: "true" if v else "false" for k, v in BOOL_OPTIONS.items()})
    values.update({k: str(v) for k, v in INT_OPTIONS.items()})
    values.update({k: _format_float(v) for k, v in FLOAT_OPTIONS.items()})
    values.update(RATIO_OPTIONS)
    values.update(STRING_OPTIONS)
    return values


def is_secret(key: str) -> bool:
    return key.endswith(SECRET_SUFFIXES)


def _format_float(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)
