"""Password policy and hashing (argon2id with OWASP's recommended parameters)."""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # argon2 (and its cffi bindings) is imported by the first hash, not at every cold start
    from argon2 import PasswordHasher

MIN_LENGTH = 8
MAX_LENGTH = 128  # bounds the hashing work one request can ask for
# Any script's letters and digits count, so "Ääääää1!" is as strong as "Aaaaaa1!".
_RULES = (
    (str.isupper, "an uppercase letter"),
    (str.islower, "a lowercase letter"),
    (str.isdigit, "a digit"),
    (lambda ch: not ch.isalnum(), "a special character"),
)

# The policy as one regular expression, for the OpenAPI document. ECMA-262 has no "any script's
# uppercase" without the u flag, so the document states the ASCII form, with ASCII punctuation or a space
# as the special character: every password it describes is accepted, and its description says that
# other scripts' letters and digits count too.
POLICY_PATTERN = r"^(?=.*[A-Z])(?=.*[a-z])(?=.*[0-9])(?=.*[ -/:-@\[-`{-~]).{8,128}$"
POLICY_DESCRIPTION = (f"{MIN_LENGTH} to {MAX_LENGTH} characters with an uppercase letter, a lowercase letter, a digit "
                      "and a character that is neither a letter nor a digit; letters and digits of any script "
                      "count")


def policy_problem(password: str) -> str | None:
    """The first thing wrong with a new password, as a sentence, or None."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return f"Password must be {MIN_LENGTH} to {MAX_LENGTH} characters long"
    missing = [name for test, name in _RULES if not any(test(ch) for ch in password)]
    if missing:
        return "Password must contain " + ", ".join(missing)
    return None


@functools.cache
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher  # noqa: PLC0415

    # OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


@functools.cache
def _decoy_hash() -> str:
    return hash_password("decoy-Password-1!")


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the user exists, so login timing reveals nothing."""
    from argon2.exceptions import InvalidHashError, VerificationError  # noqa: PLC0415

    try:
        return _hasher().verify(password_hash or _decoy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
