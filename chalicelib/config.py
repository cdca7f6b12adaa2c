"""The one settings object, read lazily from the environment; no os.environ anywhere else (but for secrets,
chalicelib/secret_store.py). Its fields and defaults are in chalicelib/settings.py (pydantic-settings),
imported on first use, not at cold start."""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from chalicelib.secret_store import jwt_secret

if TYPE_CHECKING:
    from chalicelib.settings import Settings


@functools.cache
def get_settings() -> Settings:
    from chalicelib.settings import Settings

    settings = Settings()
    jwt_secret(settings.stage)  # no usable JWT secret: fail now, not at the first token
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
