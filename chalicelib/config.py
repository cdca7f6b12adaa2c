"""The one settings object. Read lazily from the environment; no os.environ anywhere else."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    # Physical names are prefix + logical name, e.g. "callx-dev-users".
    resource_prefix: str
    dynamodb_endpoint: str | None
    sqs_endpoint: str | None
    jwt_secret: str
    jwt_issuer: str
    jwt_audience: str
    access_token_ttl_seconds: int
    refresh_token_ttl_seconds: int
    max_active_sessions: int
    max_body_bytes: int
    # Money in minor units (1/10,000 USD).
    default_credit_limit: int
    log_level: str
    twilio_account_sid: str | None = None
    twilio_api_base_url: str | None = None  # the local Twilio emulator; None means api.twilio.com
    twilio_timeout_seconds: float = 10.0
    public_base_url: str = "http://127.0.0.1:8000"  # what Twilio calls back (webhooks)
    # Where realtime messages are sent: the connection management API of API Gateway's WebSocket API
    # (https://<api id>.execute-api.<region>.amazonaws.com/<stage>), or the local runtime's stand-in for it.
    websocket_endpoint: str | None = None
    # Exchange money: a call is billable from this many seconds; the platform keeps take_rate_bps
    # (1/10,000) of the price; telephony costs this much a started minute (minor units).
    billable_threshold_seconds: int = 30
    take_rate_bps: int = 2_000
    telephony_rate_per_minute: int = 200
    # Live calls: how long a seller's phone rings, how many sellers a call tries, the longest call.
    ring_timeout_seconds: int = 20
    max_dial_attempts: int = 3
    max_call_seconds: int = 4 * 3600  # Twilio's own limit on a call
    # TCPA calling window when an admin has set none, and the zone for numbers without one.
    default_timezone: str = "America/New_York"
    # Rate limits (requests a minute, fixed windows counted in DynamoDB): per user on authenticated routes,
    # per client IP on the unauthenticated identity routes, and per user on number search and purchases.
    rate_limit_per_minute: int = 100
    auth_rate_limit_per_minute: int = 20
    number_search_rate_limit_per_minute: int = 100
    purchase_rate_limit_per_minute: int = 10
    # Password checks: failed (or in-flight) attempts per email and client IP in a window, and a looser
    # ceiling per email over every IP, so one attacker cannot lock the owner out from elsewhere.
    login_max_failures: int = 5
    login_max_failures_per_email: int = 20
    login_window_seconds: int = 15 * 60
    # Mail (Amazon SES): the sender, where links in mail point, and how long their tokens live.
    ses_endpoint: str | None = None
    mail_from: str = "no-reply@call-exchange.example"
    app_base_url: str = "http://127.0.0.1:8000"
    email_verification_ttl_seconds: int = 24 * 3600
    password_reset_ttl_seconds: int = 3600

    def table_name(self, logical: str) -> str:
        return f"{self.resource_prefix}{logical}"

    def queue_name(self, logical: str) -> str:
        return f"{self.resource_prefix}{logical}"


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@functools.cache
def secret(name: str) -> str | None:
    """A secret from the environment (NAME), or from SSM Parameter Store (NAME_SSM_PARAMETER) in AWS.
    Read once per container, and only when first needed."""
    value = os.environ.get(name)
    if value:
        return value
    parameter = os.environ.get(f"{name}_SSM_PARAMETER")
    if not parameter:
        return None
    import boto3  # only on a cold start in AWS, once per container

    return boto3.client("ssm").get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]


MIN_PROD_JWT_SECRET_BYTES = 32


def _jwt_secret(stage: str) -> str:
    value = secret("JWT_SECRET")
    if not value:
        raise RuntimeError(f"JWT_SECRET or JWT_SECRET_SSM_PARAMETER must be set for stage {stage!r}")
    if stage == "prod" and len(value.encode()) < MIN_PROD_JWT_SECRET_BYTES:
        # HS256 keys shorter than the hash output are guessable offline from one token.
        raise RuntimeError(f"JWT secret for stage 'prod' must be at least {MIN_PROD_JWT_SECRET_BYTES} bytes")
    return value


@functools.cache
def get_settings() -> Settings:
    stage = os.environ.get("STAGE", "dev")
    return Settings(
        stage=stage,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        resource_prefix=os.environ.get("RESOURCE_PREFIX", f"callx-{stage}-"),
        dynamodb_endpoint=os.environ.get("DYNAMODB_ENDPOINT") or None,
        sqs_endpoint=os.environ.get("SQS_ENDPOINT") or None,
        jwt_secret=_jwt_secret(stage),
        jwt_issuer=os.environ.get("JWT_ISSUER", "call-exchange"),
        jwt_audience=os.environ.get("JWT_AUDIENCE", "call-exchange-api"),
        access_token_ttl_seconds=_int("ACCESS_TOKEN_TTL_SECONDS", 15 * 60),
        refresh_token_ttl_seconds=_int("REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600),
        max_active_sessions=_int("MAX_ACTIVE_SESSIONS", 5),
        max_body_bytes=_int("MAX_BODY_BYTES", 64 * 1024),
        default_credit_limit=_int("DEFAULT_CREDIT_LIMIT_MINOR", 0),
        log_level=os.environ.get("LOG_LEVEL", "INFO"),
        twilio_account_sid=os.environ.get("TWILIO_ACCOUNT_SID"),
        twilio_api_base_url=os.environ.get("TWILIO_API_BASE_URL") or None,
        twilio_timeout_seconds=float(os.environ.get("TWILIO_TIMEOUT_SECONDS", "10")),
        public_base_url=os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        websocket_endpoint=os.environ.get("WEBSOCKET_ENDPOINT") or None,
        billable_threshold_seconds=_int("BILLABLE_THRESHOLD_SECONDS", 30),
        take_rate_bps=_int("TAKE_RATE_BPS", 2_000),
        telephony_rate_per_minute=_int("TELEPHONY_RATE_PER_MINUTE_MINOR", 200),
        ring_timeout_seconds=_int("RING_TIMEOUT_SECONDS", 20),
        max_dial_attempts=_int("MAX_DIAL_ATTEMPTS", 3),
        default_timezone=os.environ.get("DEFAULT_TIMEZONE", "America/New_York"),
        rate_limit_per_minute=_int("RATE_LIMIT_PER_MINUTE", 100),
        auth_rate_limit_per_minute=_int("AUTH_RATE_LIMIT_PER_MINUTE", 20),
        number_search_rate_limit_per_minute=_int("NUMBER_SEARCH_RATE_LIMIT_PER_MINUTE", 100),
        purchase_rate_limit_per_minute=_int("PURCHASE_RATE_LIMIT_PER_MINUTE", 10),
        login_max_failures=_int("LOGIN_MAX_FAILURES", 5),
        login_max_failures_per_email=_int("LOGIN_MAX_FAILURES_PER_EMAIL", 20),
        login_window_seconds=_int("LOGIN_WINDOW_SECONDS", 15 * 60),
        ses_endpoint=os.environ.get("SES_ENDPOINT") or None,
        mail_from=os.environ.get("MAIL_FROM", "no-reply@call-exchange.example"),
        app_base_url=(os.environ.get("APP_BASE_URL") or os.environ.get("PUBLIC_BASE_URL")
                      or "http://127.0.0.1:8000").rstrip("/"),
        email_verification_ttl_seconds=_int("EMAIL_VERIFICATION_TTL_SECONDS", 24 * 3600),
        # A reset link lives an hour at the most, whatever the environment says.
        password_reset_ttl_seconds=min(_int("PASSWORD_RESET_TTL_SECONDS", 3600), 3600),
    )


def reset_settings() -> None:
    """Forget cached settings (tests and the local runtime change the environment)."""
    get_settings.cache_clear()
    secret.cache_clear()
