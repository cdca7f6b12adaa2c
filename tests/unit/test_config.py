"""Settings from the environment (chalicelib/settings.py), and secrets from SSM that a warm container picks up
again after they are rotated (chalicelib/config.py, chalicelib/secret_store.py)."""
from datetime import datetime, timedelta

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from chalicelib import secret_store
from chalicelib.config import Settings, get_settings, reset_settings

UNSET = ("STAGE", "RESOURCE_PREFIX", "AWS_REGION", "AWS_DEFAULT_REGION", "PUBLIC_BASE_URL", "APP_BASE_URL")


@pytest.fixture
def env(monkeypatch):
    """The environment of tests/conftest.py less what these tests read; `env(NAME=value)` sets more."""
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)

    def set_(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_


def test_defaults_and_what_derives_from_other_settings(env):
    settings = Settings()
    assert (settings.stage, settings.resource_prefix, settings.region) == ("dev", "callx-dev-", "us-east-1")
    assert settings.public_base_url == settings.app_base_url == "http://127.0.0.1:8000"
    assert settings.default_credit_limit == 0 and settings.password_reset_ttl_seconds == 3600
    assert settings.table_name("users") == settings.queue_name("users") == "callx-dev-users"
    env(STAGE="prod")
    assert Settings().resource_prefix == "callx-prod-"
    env(RESOURCE_PREFIX="mine-")
    assert Settings().resource_prefix == "mine-"


def test_variables_named_otherwise_than_their_setting(env):
    env(DEFAULT_CREDIT_LIMIT_MINOR="5", TELEPHONY_RATE_PER_MINUTE_MINOR="7",
        DEFAULT_CREDIT_LIMIT="9", TELEPHONY_RATE_PER_MINUTE="9", MAX_CALL_SECONDS="9")  # the last three: no setting
    settings = Settings()
    assert (settings.default_credit_limit, settings.telephony_rate_per_minute) == (5, 7)
    assert settings.max_call_seconds == 4 * 3600
    env(AWS_DEFAULT_REGION="eu-west-1")
    assert Settings().region == "eu-west-1"
    env(AWS_REGION="us-west-2")
    assert Settings().region == "us-west-2"
    env(AWS_REGION="")  # empty: as if unset
    assert Settings().region == "eu-west-1"


def test_base_urls_lose_trailing_slashes_and_mail_links_default_to_the_public_url(env):
    env(PUBLIC_BASE_URL="https://api.example.com/")
    assert Settings().public_base_url == Settings().app_base_url == "https://api.example.com"
    env(APP_BASE_URL="https://app.example.com//")
    assert Settings().app_base_url == "https://app.example.com"
    env(APP_BASE_URL="")
    assert Settings().app_base_url == "https://api.example.com"


def test_empty_endpoints_mean_none_and_a_reset_link_lives_an_hour_at_most(env):
    env(DYNAMODB_ENDPOINT="", SQS_ENDPOINT="", SES_ENDPOINT="", WEBSOCKET_ENDPOINT="", TWILIO_API_BASE_URL="")
    settings = Settings()
    assert (settings.dynamodb_endpoint, settings.sqs_endpoint, settings.ses_endpoint, settings.websocket_endpoint,
            settings.twilio_api_base_url) == (None, None, None, None, None)
    env(PASSWORD_RESET_TTL_SECONDS="7200")
    assert Settings().password_reset_ttl_seconds == 3600
    env(PASSWORD_RESET_TTL_SECONDS="600", TWILIO_TIMEOUT_SECONDS="2.5")
    assert Settings().password_reset_ttl_seconds == 600 and Settings().twilio_timeout_seconds == 2.5


def test_settings_are_immutable(env):
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.stage = "prod"


def test_settings_without_a_jwt_secret_are_refused(env, monkeypatch):
    monkeypatch.delenv("JWT_SECRET")
    reset_settings()
    try:
        with pytest.raises(RuntimeError, match="JWT_SECRET or JWT_SECRET_SSM_PARAMETER must be set for stage 'dev'"):
            get_settings()
    finally:
        monkeypatch.undo()
        reset_settings()


class PowertoolsClock:
    """The clock of powertools' parameter cache (aws_lambda_powertools/utilities/parameters/base.py reads
    `datetime.now()`), moved forward by the test instead of by waiting."""

    def __init__(self, monkeypatch):
        from aws_lambda_powertools.utilities.parameters import base

        self.offset = timedelta()
        clock = self

        class Later(datetime):
            @classmethod
            def now(cls, tz=None):
                return datetime.now(tz) + clock.offset

        monkeypatch.setattr(base, "datetime", Later)

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def test_a_jwt_secret_rotated_in_ssm_is_picked_up_once_the_cached_value_is_max_age_old(monkeypatch):
    """A warm container (settings cached by get_settings()) keeps the SSM value for SECRET_MAX_AGE_SECONDS
    without asking SSM again, then reads the rotated one: settings.jwt_secret, which tokens are signed and
    checked with (domain/tokens.py, persistence/pagination.py), is the new secret with no new container."""
    parameter = "/callx/test/jwt-secret-rotation"
    monkeypatch.delenv("JWT_SECRET")
    monkeypatch.setenv("JWT_SECRET_SSM_PARAMETER", parameter)
    with mock_aws():
        ssm = boto3.client("ssm", region_name="us-east-1")
        ssm.put_parameter(Name=parameter, Value="the-first-secret", Type="SecureString")
        reset_settings()
        clock = PowertoolsClock(monkeypatch)
        try:
            settings = get_settings()
            assert settings.jwt_secret == "the-first-secret"

            ssm.put_parameter(Name=parameter, Value="the-rotated-secret", Type="SecureString", Overwrite=True)
            clock.advance(secret_store.SECRET_MAX_AGE_SECONDS - 1)
            assert settings.jwt_secret == "the-first-secret"  # from the cache: SSM was not asked

            clock.advance(2)
            assert get_settings() is settings  # the same cached settings...
            assert settings.jwt_secret == "the-rotated-secret"  # ...with the rotated secret
        finally:
            monkeypatch.undo()
            reset_settings()
