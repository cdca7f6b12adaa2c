"""The settings model (pydantic-settings): each setting's default stated once, here. A field is read from the
environment variable of its name in capitals (stage: STAGE), unless its validation_alias names another; an
empty variable counts as unset. Import it through chalicelib.config (`get_settings()`), which imports this
module on first use: pydantic-settings costs a cold start ~70 ms to import."""
from typing import ClassVar

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chalicelib import secret_store

LOCAL_BASE_URL = "http://127.0.0.1:8000"
MAX_PASSWORD_RESET_TTL_SECONDS = 3600  # a reset link lives an hour at the most, whatever the environment says


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, env_ignore_empty=True)

    stage: str = "dev"
    region: str = Field("us-east-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"))
    # Physical names are prefix + logical name, e.g. "callx-dev-users".
    resource_prefix: str = Field(default_factory=lambda fields: f"callx-{fields['stage']}-")
    dynamodb_endpoint: str | None = None
    sqs_endpoint: str | None = None
    jwt_issuer: str = "call-exchange"
    jwt_audience: str = "call-exchange-api"
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    max_active_sessions: int = 5
    max_body_bytes: int = 64 * 1024
    # Money in minor units (1/10,000 USD).
    default_credit_limit: int = Field(0, validation_alias="DEFAULT_CREDIT_LIMIT_MINOR")
    log_level: str = "INFO"
    twilio_account_sid: str | None = None
    twilio_api_base_url: str | None = None  # the local Twilio emulator; None means api.twilio.com
    twilio_timeout_seconds: float = 10.0
    public_base_url: str = LOCAL_BASE_URL  # what Twilio calls back (webhooks)
    # Stripe: the secret key and the webhook secret are secrets (STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, from the
    # environment or SSM: secret_store); the API base is the local emulator's under `make run`, else Stripe's.
    stripe_api_base: str | None = None
    stripe_timeout_seconds: float = 15.0
    # Where realtime messages are sent: the connection management API of API Gateway's WebSocket API
    # (https://<api id>.execute-api.<region>.amazonaws.com/<stage>), or the local runtime's stand-in for it.
    websocket_endpoint: str | None = None
    # Where clients connect to the WebSocket API (told by GET /config and allowed by the console's CSP): by
    # default the management API's URL over wss (the same stage in AWS); `make run` sets its own ws:// URL.
    websocket_url: str | None = Field(default_factory=lambda fields: fields["websocket_endpoint"] and
                                      "wss://" + fields["websocket_endpoint"].split("://", 1)[-1])
    # Exchange money: a call is billable from this many seconds; the platform keeps take_rate_bps
    # (1/10,000) of the price; telephony costs this much a started minute (minor units).
    billable_threshold_seconds: int = 30
    take_rate_bps: int = 2_000
    telephony_rate_per_minute: int = Field(200, validation_alias="TELEPHONY_RATE_PER_MINUTE_MINOR")
    # Live calls: how long a seller's phone rings, how many sellers a call tries, the longest call.
    ring_timeout_seconds: int = 20
    max_dial_attempts: int = 3
    max_call_seconds: ClassVar[int] = 4 * 3600  # Twilio's own limit on a call: no setting
    # Calls reported through the API: one routed and never ended expires (its hold goes back) after this
    # long (Twilio's own longest call); a buyer has at most this many routed and not ended at once.
    reported_call_ttl_hours: int = 4
    max_open_reported_calls: int = 10
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
    # Mail (Amazon SES): the sender, where links in mail point (by default where Twilio calls back), and
    # how long their tokens live.
    ses_endpoint: str | None = None
    mail_from: str = "no-reply@call-exchange.example"
    app_base_url: str = Field(default_factory=lambda fields: fields["public_base_url"])
    email_verification_ttl_seconds: int = 24 * 3600
    password_reset_ttl_seconds: int = MAX_PASSWORD_RESET_TTL_SECONDS
    # Requests to users' own servers (webhooks, sellers' bidders): https on a public host, or, under `make run`
    # only (which sets it), http on the loopback too, so a developer can run a receiver or a bidder locally.
    allow_loopback_callbacks: bool = False
    # Webhooks: each delivery's timeout, and the delays before each retry (seconds, each with up to 20%
    # jitter; the last repeats) until webhook_retry_hours after the first attempt; an endpoint failing that
    # long is disabled.
    webhook_timeout_seconds: float = 5.0
    webhook_retry_schedule: tuple[int, ...] = (10, 30, 120, 600, 1800, 3600)
    webhook_retry_hours: int = 24
    # Real-time bidding: how long an inbound ping's bid holds its seller, and pings a buyer may send a minute.
    rtb_bid_ttl_seconds: int = 60
    rtb_pings_per_minute: int = 600

    # Hot keys (no partition key written by every request): what would be one constant key (an admin's list
    # of everything, the open auctions, the platform's own ledger accounts, the books' totals) is spread over
    # this many keys, each item's chosen by a hash of its id. Readers read every shard: raising it keeps
    # what was written readable, lowering it does not.
    partition_shards: int = Field(16, ge=16, le=256)
    # One auction's bids are written under this many keys (auction_id#k, by a hash of the seller), each
    # with its own open flag: bids of one auction do not share a partition or an item (README: capacity).
    bid_shards: int = Field(8, ge=1, le=64)

    @field_validator("public_base_url", "app_base_url")
    @classmethod
    def _no_trailing_slash(cls, url: str) -> str:
        return url.rstrip("/")

    @field_validator("password_reset_ttl_seconds")
    @classmethod
    def _at_most_an_hour(cls, seconds: int) -> int:
        return min(seconds, MAX_PASSWORD_RESET_TTL_SECONDS)

    @property
    def jwt_secret(self) -> str:
        """Not a field, so not frozen in settings that get_settings() caches: read on each use through
        secret_store.secret(), so a secret rotated in SSM is picked up within SECRET_MAX_AGE_SECONDS."""
        return secret_store.jwt_secret(self.stage)

    def table_name(self, logical: str) -> str:
        return f"{self.resource_prefix}{logical}"

    def queue_name(self, logical: str) -> str:
        return f"{self.resource_prefix}{logical}"
