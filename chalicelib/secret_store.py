"""Secrets: from the environment, or from SSM Parameter Store in AWS (cached for a while, so a rotated value
is picked up). A leaf: settings and gateways read secrets here, and it imports nothing of ours."""
from __future__ import annotations

import os

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


def jwt_secret(stage: str) -> str:
    value = secret("JWT_SECRET")
    if not value:
        raise RuntimeError(f"JWT_SECRET or JWT_SECRET_SSM_PARAMETER must be set for stage {stage!r}")
    if stage == "prod" and len(value.encode()) < MIN_PROD_JWT_SECRET_BYTES:
        # HS256 keys shorter than the hash output are guessable offline from one token.
        raise RuntimeError(f"JWT secret for stage 'prod' must be at least {MIN_PROD_JWT_SECRET_BYTES} bytes")
    return value
