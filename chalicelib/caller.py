"""Who is calling, whether what they sent is valid, and how a refusal reads: a leaf every layer may import.

`Principal` is the authenticated caller that routes hand to services; `validate` checks a payload
(a request body, query or an SQS message) against its pydantic model and turns problems into the
product's ValidationFailed, never echoing what the caller typed; `error_body` is the error envelope.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic_core import ValidationError

from chalicelib.domain.accounts import ADMIN
from chalicelib.domain.errors import DomainError, FieldProblem, ValidationFailed
from chalicelib.schemas import resolve

if TYPE_CHECKING:
    from pydantic import BaseModel


@dataclass
class Principal:
    user_id: str
    account_type: str
    session_id: str
    user: Any  # persistence.models.UserModel

    @property
    def is_admin(self) -> bool:
        return self.account_type == ADMIN


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
_EMAIL_PROBLEM = "value is not a valid email address"
_ECHO_RISK = re.compile(r"[<>&]|[^\x20-\x7e]")


def _field_name(loc: tuple, where: str) -> str:
    """A problem's field, as a dotted path of names and indices. A name that is not a plain identifier
    (an unknown key like "<script>") was typed by the caller and is not echoed: `where` stands in."""
    parts = []
    for part in loc:
        if isinstance(part, int) or _PLAIN_NAME.fullmatch(str(part)):
            parts.append(str(part))
        else:
            parts.append(where)
            break
    return ".".join(parts) or where


def _problem_message(err: dict) -> str:
    """Pydantic's message, unless it could carry what the caller sent (email-validator quotes the bad
    characters): then a fixed sentence."""
    message = str(err["msg"]).removeprefix("Value error, ")
    if message.startswith(_EMAIL_PROBLEM):
        return "Must be a valid email address"
    if _ECHO_RISK.search(message):
        return "Invalid value"
    return message


# A request whose every problem is one of these is answered with it as its code (a malformed phone number
# is 400 INVALID_PHONE_NUMBER, wherever it is); any other problem is VALIDATION_FAILED, the details say which.
NAMED_CODES = frozenset({"INVALID_PHONE_NUMBER", "INVALID_AMOUNT"})


def validate(model: type[BaseModel], data: Any, where: str = "body") -> Any:
    try:
        return resolve(model).model_validate(data)
    except ValidationError as exc:
        details = [
            FieldProblem(_field_name(err["loc"], where), err["type"].upper(), _problem_message(err))
            for err in exc.errors(include_input=False, include_url=False)
        ]
        message = details[0].message if len(details) == 1 else "Request validation failed"
        codes = {detail.code for detail in details}
        code = codes.pop() if len(codes) == 1 and codes <= NAMED_CODES else "VALIDATION_FAILED"
        raise ValidationFailed(message, code=code, details=details) from None


def error_body(error: DomainError, request_id: str) -> dict:
    return {
        "success": False,
        "error": {
            "type": error.type,
            "code": error.code,
            "message": error.message,
            "details": [vars(d) for d in error.details],
            "request_id": request_id,
        },
    }
