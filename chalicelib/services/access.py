"""Reading one item for a caller: it exists, and it is theirs (or they are an admin), else NotFound."""
from __future__ import annotations

from typing import Any

from chalicelib.caller import Principal


def fetch(model: Any, key: str, not_found: Exception) -> Any:
    """The item, read consistently: what a write that just returned wrote is there."""
    try:
        return model.get(key, consistent_read=True)
    except model.DoesNotExist:
        raise not_found from None


def owned(item: Any, owner_field: str, principal: Principal, not_found: Exception) -> Any:
    """Someone else's item is one that does not exist, for anyone but an admin."""
    if getattr(item, owner_field) != principal.user_id and not principal.is_admin:
        raise not_found
    return item
