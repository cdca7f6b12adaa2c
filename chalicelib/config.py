"""The one settings object, read lazily from the environment; no os.environ anywhere else. Its fields and
defaults are in chalicelib/settings.py (pydantic-settings), imported on first use, not at cold start."""
from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.settings import Settings

# A secret kept in SSM is fetched again once this old, so a rotated value reaches every warm container
# within five minutes, at one SSM request per secret per container in that time.
SECRET_MAX_AGE_SECONDS = 300


def secret(name: str) -> str | None:
    """A secret from the environment (NAME), or from SSM Parameter Store (NAME_SSM_PARAMETER) in AWS:
    fetched when first needed, then kept for SECRET_MAX_AGE_SECONDS (powertools' parameters cache)."""
    value = os.environ.get(name)
    if value:
        return value
    parameter = os.environ.get(f"{name}_SSM_PARAMETER")
    if not parameter:
        return None
    from aws_lambda_powertools.utilities import parameters  # only where a secret is in SSM: ~30 ms to import

    return parameters.get_parameter(parameter, decrypt=True, max_age=SECRET_MAX_AGE_SECONDS)


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
    from chalicelib.settings import Settings

    settings = Settings()
    _jwt_secret(settings.stage)  # no usable JWT secret: fail now, not at the first token
    return settings


def reset_settings() -> None:
    """Forget cached settings and secrets (tests and the local runtime change the environment)."""
    from aws_lambda_powertools.utilities import parameters

    get_settings.cache_clear()
    parameters.clear_caches()


def __getattr__(name: str):
    if name == "Settings":  # `from chalicelib.config import Settings` (the model, imported on first use)
        from chalicelib.settings import Settings

        return Settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
