"""Shared wire types: strict models, safe text, pagination, the error envelope.

Every model derives from `WireModel`, whose validator and serializer are built on first use
(`defer_build`), not when the module is imported: a cold start pays only for the models the event
in hand touches, not for every model of every route.

No `from __future__ import annotations` in this package: pydantic would have to evaluate every
annotation string when each class is created, which a cold start pays for."""

import functools
import itertools
import re
import unicodedata
from typing import Annotated, Any, Callable, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from chalicelib.domain.phones import E164_PATTERN, canonical_e164

# Characters no person types into a name or a reason: controls (Cc, tab and newlines included), invisible
# formatting (Cf: bidi overrides like U+202E, zero-width U+200B, BOM) and line/paragraph separators (Zl, Zp).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


@functools.cache
def _refused_class() -> str:
    """The refused characters as a regex class, for the OpenAPI document only (built when the document
    is, not at cold start: it reads ~135,000 code points). Planes 0-1 and 14 hold every assigned
    character of these categories."""
    ranges: list[tuple[int, int]] = []
    for code in itertools.chain(range(0x20000), range(0xE0000, 0xE1000)):
        if unicodedata.category(chr(code)) in _REFUSED_CATEGORIES:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(_class_item(a) if a == b else f"{_class_item(a)}-{_class_item(b)}" for a, b in ranges)


def _class_item(code: int) -> str:
    # BMP as \uXXXX (Python and ECMA-262 alike); beyond it the character itself.
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


# An id in a body or query: a UUID's 36 characters (path ids are checked as UUIDs by chalicelib/api/http.py).
UUID_PATTERN = r"^[0-9a-fA-F-]{36}$"

# ASCII case-insensitive by spelling, so the runtime and the documented pattern are the same expression.
_MARKUP_SOURCE = r"[<>]|[jJ][aA][vV][aA][sS][cC][rR][iI][pP][tT]:|&#|&[a-zA-Z]+;"
_MARKUP = re.compile(_MARKUP_SOURCE)


class WireModel(BaseModel):
    """The base of every model here. Its core schema, validator and serializer are built the first time
    it validates, serializes or is documented (model_validate, model_dump, model_json_schema, or a model
    or TypeAdapter that contains it), with the same result and the same errors as an eager build."""

    model_config = ConfigDict(defer_build=True)


class StrictModel(WireModel):
    """Request models: unknown fields are refused, so nobody can slip in `role` or `balance`.
    Body booleans and integers are StrictBool/StrictInt: 0 is not false and "5" is not 5."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(WireModel):
    model_config = ConfigDict(from_attributes=True)


def _plain_text(value: str) -> str:
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in value):
        raise PydanticCustomError("control_characters", "Must not contain control characters")
    if _MARKUP.search(value):
        raise PydanticCustomError("markup_not_allowed", "Must not contain markup")
    value = value.strip()
    if not value:
        raise PydanticCustomError("blank", "Must not be blank")
    return value


@functools.cache
def plain_text_pattern() -> str:
    """The same rule for the OpenAPI document: no markup, none of the refused characters, and something
    visible after any leading spaces."""
    refused = _refused_class()
    return f"^(?!.*(?:{_MARKUP_SOURCE})) *[^\\s<>{refused}][^<>{refused}]*$"


def _plain_text_schema(schema: dict) -> None:
    schema["pattern"] = plain_text_pattern()


def SafeText(max_length: int = 100, min_length: int = 1) -> Any:  # noqa: N802 - reads as a type
    """Free text a person typed (names, company, reasons): no markup, no control characters.
    Lengths count what was sent, as the OpenAPI document says; surrounding spaces are then dropped."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length,
                                json_schema_extra=_plain_text_schema),
                     AfterValidator(_plain_text)]


def _canonical_phone(message: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        number = canonical_e164(value)
        if number is None:
            raise PydanticCustomError("invalid_phone_number", message)
        return number
    return check


def Phone(message: str = "Invalid phone number: use E.164, e.g. +14155550123") -> Any:  # noqa: N802 - a type
    """E.164 in ASCII digits (and valid per phonenumbers), given as phonenumbers spells it (domain/phones.py
    canonical_e164); anything else, whatever its type or length, is invalid_phone_number with `message`."""
    return Annotated[str, PlainValidator(_canonical_phone(message)),
                     WithJsonSchema({"type": "string", "maxLength": 16, "pattern": E164_PATTERN})]


# The one phone-number type of the API.
PhoneNumber = Phone()


class PageQuery(StrictModel):
    page: int = Field(1, ge=1, le=10_000)
    limit: int = Field(20, ge=1, le=100)
    next_token: str | None = Field(None, max_length=2048, description="Opaque cursor from a previous page")


class UserPageQuery(PageQuery):
    user_id: str | None = Field(None, pattern=UUID_PATTERN, description=(
        "Admins: whose items to list (without it, everyone's). Anyone else may name only themselves."))


class OwnerPageQuery(PageQuery):
    user_id: str | None = Field(None, pattern=UUID_PATTERN, description=(
        "Admins: whose items to list (required of an admin). Anyone else may name only themselves."))


class Pagination(WireModel):
    page: int
    limit: int
    total: int
    total_pages: int
    next_token: str | None


class ErrorDetail(WireModel):
    field: str
    code: str
    message: str


class ErrorBody(WireModel):
    type: Literal[
        "VALIDATION_ERROR", "AUTHENTICATION_ERROR", "AUTHORIZATION_ERROR", "NOT_FOUND", "CONFLICT",
        "PAYMENT_REQUIRED", "RATE_LIMITED", "INTERNAL_ERROR",
    ]
    code: str
    message: str
    details: list[ErrorDetail] = []
    request_id: str | None = None


class ErrorEnvelope(WireModel):
    success: Literal[False]
    error: ErrorBody
