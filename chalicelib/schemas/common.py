"""Shared wire types: strict models, safe text, pagination, the envelopes."""
from __future__ import annotations

import re
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from chalicelib.domain.phones import E164_PATTERN, is_e164

T = TypeVar("T")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_MARKUP = re.compile(r"[<>]|javascript:|&#|&[a-z]+;", re.IGNORECASE)


class StrictModel(BaseModel):
    """Request models: unknown fields are refused, so nobody can slip in `role` or `balance`.
    Body booleans and integers are StrictBool/StrictInt: 0 is not false and "5" is not 5."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _plain_text(value: str) -> str:
    if _CONTROL.search(value):
        raise PydanticCustomError("control_characters", "Must not contain control characters")
    if _MARKUP.search(value):
        raise PydanticCustomError("markup_not_allowed", "Must not contain markup")
    value = value.strip()
    if not value:
        raise PydanticCustomError("blank", "Must not be blank")
    return value


# The same rule for the OpenAPI document: some visible character, no markup brackets, no controls.
_PLAIN_TEXT_PATTERN = r"^[ \t\n\r]*[^\s<>\x00-\x1f\x7f-\x9f][^<>\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"


def SafeText(max_length: int = 100, min_length: int = 1) -> Any:  # noqa: N802 - reads as a type
    """Free text a person typed (names, company, reasons): no markup, no control characters.
    Lengths count what was sent, as the OpenAPI document says; surrounding spaces are then dropped."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length,
                                json_schema_extra={"pattern": _PLAIN_TEXT_PATTERN}),
                     AfterValidator(_plain_text)]


def _e164(value: str) -> str:
    if not is_e164(value):
        raise PydanticCustomError("invalid_phone_number", "Invalid phone number: use E.164, e.g. +14155550123")
    return value


# E.164 only (and valid per phonenumbers): the one phone-number type of the API.
PhoneNumber = Annotated[str, Field(max_length=16, json_schema_extra={"pattern": E164_PATTERN}),
                        AfterValidator(_e164)]


class PageQuery(StrictModel):
    page: int = Field(1, ge=1, le=10_000)
    limit: int = Field(20, ge=1, le=100)
    next_token: str | None = Field(None, max_length=2048, description="Opaque cursor from a previous page")


class Pagination(BaseModel):
    page: int
    limit: int
    total: int
    total_pages: int
    next_token: str | None


class ErrorDetail(BaseModel):
    field: str
    code: str
    message: str


class ErrorBody(BaseModel):
    type: Literal[
        "VALIDATION_ERROR", "AUTHENTICATION_ERROR", "AUTHORIZATION_ERROR", "NOT_FOUND", "CONFLICT",
        "PAYMENT_REQUIRED", "RATE_LIMITED", "INTERNAL_ERROR",
    ]
    code: str
    message: str
    details: list[ErrorDetail] = []
    request_id: str | None = None


class ErrorEnvelope(BaseModel):
    success: Literal[False]
    error: ErrorBody


class Envelope(BaseModel, Generic[T]):
    success: Literal[True]
    data: T


class ListEnvelope(BaseModel, Generic[T]):
    success: Literal[True]
    data: list[T]
    pagination: Pagination
