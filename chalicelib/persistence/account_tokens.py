"""The single-use tokens mailed to users (email verification, password reset), stored as SHA-256 hashes."""
from __future__ import annotations

from chalicelib.persistence.tables import AccountTokenModel


def get_token(token_hash: str) -> AccountTokenModel | None:
    try:
        return AccountTokenModel.get(token_hash, consistent_read=True)
    except AccountTokenModel.DoesNotExist:
        return None
