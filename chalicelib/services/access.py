"""Reading one item for a caller: it exists, and it is theirs (or they are an admin), else NotFound."""
from __future__ import annotations

from typing import Any

from chalicelib.caller import Principal
from chalicelib.domain.errors import Forbidden, NotFound, field_error
from chalicelib.persistence.tables import UserModel


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


def owner_listed(principal: Principal, user_id: str | None) -> Principal:
    """Whose items a per-user list shows (no list of everyone's): the caller's own, or the user an admin names."""
    user = listed_user(principal, user_id)
    if user is None:
        raise field_error("user_id", "REQUIRED", "An admin names the user whose items to list")
    return user


def listed_user(principal: Principal, user_id: str | None) -> Principal | None:
    """Whose items a list shows: the caller's own. An admin names anyone (?user_id=, 404 if nobody has
    that id) or, naming nobody, sees everyone's (None); anyone else may name only themselves."""
    if not principal.is_admin:
        if user_id not in (None, principal.user_id):
            raise Forbidden("Only an admin may list another user's items")
        return principal
    if user_id is None:
        return None
    user = fetch(UserModel, user_id, NotFound("User not found", code="USER_NOT_FOUND"))
    return Principal(user.user_id, user.account_type, "", user)
