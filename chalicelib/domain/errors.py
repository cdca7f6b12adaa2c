"""Typed domain errors. app's HTTP layer maps them to the error envelope in one place."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FieldProblem:
    field: str
    code: str
    message: str


class DomainError(Exception):
    type = "INTERNAL_ERROR"
    status = 500
    default_code = "INTERNAL_ERROR"

    def __init__(self, message: str, code: str | None = None, details: list[FieldProblem] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details or []
        self.headers = headers or {}  # e.g. Retry-After


class ValidationFailed(DomainError):
    type, status, default_code = "VALIDATION_ERROR", 400, "VALIDATION_FAILED"


class InvalidState(ValidationFailed):
    default_code = "INVALID_STATE"


class PayloadTooLarge(ValidationFailed):
    status, default_code = 413, "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(ValidationFailed):
    status, default_code = 415, "UNSUPPORTED_MEDIA_TYPE"


class NotAcceptable(ValidationFailed):
    status, default_code = 406, "NOT_ACCEPTABLE"


class AuthenticationFailed(DomainError):
    type, status, default_code = "AUTHENTICATION_ERROR", 401, "UNAUTHENTICATED"


class Forbidden(DomainError):
    type, status, default_code = "AUTHORIZATION_ERROR", 403, "FORBIDDEN"


class NotFound(DomainError):
    type, status, default_code = "NOT_FOUND", 404, "NOT_FOUND"


class Conflict(DomainError):
    type, status, default_code = "CONFLICT", 409, "CONFLICT"


class PaymentRequired(DomainError):
    type, status, default_code = "PAYMENT_REQUIRED", 402, "INSUFFICIENT_FUNDS"


class RateLimited(DomainError):
    type, status, default_code = "RATE_LIMITED", 429, "RATE_LIMITED"


def field_error(field_name: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, details=[FieldProblem(field_name, code, message)])
