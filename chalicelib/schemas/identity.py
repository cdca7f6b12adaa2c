"""Wire models of registration, login, tokens and the user."""
import functools
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    Field, GetCoreSchemaHandler, GetJsonSchemaHandler, StrictBool, StrictFloat, StrictInt, field_validator,
)
from pydantic_core import PydanticCustomError, core_schema

from chalicelib.domain.accounts import ACCOUNT_TYPES, BUYER, SELLER, STATUSES
from chalicelib.domain.passwords import MAX_LENGTH, MIN_LENGTH, POLICY_DESCRIPTION, POLICY_PATTERN, policy_problem
from chalicelib.schemas.common import ResponseModel, SafeText, StrictModel


@functools.cache
def _email_validator() -> None:
    """email-validator costs a cold start ~25 ms to import: it is imported for the first address."""
    import email_validator  # noqa: PLC0415

    # Any syntactically valid address is accepted (".test" and other special-use domains included), as the
    # OpenAPI "email" format promises; whether mail arrives is for verification to prove, not syntax.
    email_validator.SPECIAL_USE_DOMAIN_NAMES = []


class EmailAddress:
    """pydantic's EmailStr, except that email-validator is imported when an address is first checked
    rather than when the model is built. The same core schema (a string, then the check, then any
    Field constraints such as max_length), the same check (pydantic's `validate_email`: the same
    addresses accepted and refused, the normalised address returned, the same "value is not a valid
    email address: ..." messages) and the same JSON schema (a string in the "email" format)."""

    @classmethod
    def __get_pydantic_core_schema__(cls, _source: Any, _handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(cls._validate, core_schema.str_schema())

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> dict:
        field_schema = handler(schema)
        field_schema.update(type="string", format="email")
        return field_schema

    @classmethod
    def _validate(cls, value: str, /) -> str:
        from pydantic.networks import validate_email  # noqa: PLC0415

        _email_validator()
        address = validate_email(value)[1]
        local, _, _ = address.rpartition("@")
        # RFC 5321 §4.5.3.1: a local part of 64 octets at most, a path of 256 (an address of 254).
        if len(local.encode()) > MAX_LOCAL_PART or len(address.encode()) > MAX_EMAIL:
            raise PydanticCustomError(
                "email_too_long", f"Email address must be at most {MAX_EMAIL} characters, {MAX_LOCAL_PART} before the @")
        return address


MAX_EMAIL, MAX_LOCAL_PART = 254, 64


AccountType = Literal[BUYER, SELLER]  # who may register; admins are made by admins


def _new_password_field() -> Any:
    return Field(max_length=MAX_LENGTH, json_schema_extra={
        "format": "password", "minLength": MIN_LENGTH, "pattern": POLICY_PATTERN, "description": POLICY_DESCRIPTION})


def _strong(value: str) -> str:
    problem = policy_problem(value)
    if problem:
        raise PydanticCustomError("weak_password", problem)
    return value


class RegisterRequest(StrictModel):
    email: EmailAddress = Field(max_length=MAX_EMAIL)
    password: str = _new_password_field()
    first_name: SafeText(100)
    last_name: SafeText(100)
    company: SafeText(200) | None = None
    account_type: AccountType = Field(BUYER, description="buyer (the default) or seller")
    accept_terms: StrictBool = Field(json_schema_extra={"const": True})

    @field_validator("email")
    @classmethod
    def _lower_email(cls, value: str) -> str:
        return value.lower()

    @field_validator("password")
    @classmethod
    def _strong_password(cls, value: str) -> str:
        return _strong(value)

    @field_validator("accept_terms")
    @classmethod
    def _terms_accepted(cls, value: bool) -> bool:
        if value is not True:
            raise PydanticCustomError("terms_not_accepted", "You must accept the terms of service")
        return value


DeviceInfo = Annotated[
    dict[Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$")],
         SafeText(100) | StrictBool | StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)]],
    Field(max_length=10, json_schema_extra={"additionalProperties": False}),
]


class LoginRequest(StrictModel):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)
    device_info: DeviceInfo | None = Field(
        None, description="What the client says about itself, kept on the session: up to 10 short values, "
                          "e.g. {\"platform\": \"web\", \"browser\": \"chrome\", \"version\": \"91.0\"}")


class RefreshRequest(StrictModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class LogoutRequest(StrictModel):
    refresh_token: str | None = Field(None, max_length=512)
    all_devices: StrictBool = False


class ChangePasswordRequest(StrictModel):
    current_password: str = Field(min_length=1, max_length=MAX_LENGTH, json_schema_extra={"format": "password"})
    new_password: str = _new_password_field()

    @field_validator("new_password")
    @classmethod
    def _strong_password(cls, value: str) -> str:
        return _strong(value)


class ForgotPasswordRequest(StrictModel):
    email: EmailAddress = Field(max_length=MAX_EMAIL)


_TOKEN = Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$", description="The token from the mailed link")


class ResetPasswordRequest(StrictModel):
    token: str = _TOKEN
    new_password: str = _new_password_field()

    @field_validator("new_password")
    @classmethod
    def _strong_password(cls, value: str) -> str:
        return _strong(value)


class VerifyEmailRequest(StrictModel):
    token: str = _TOKEN


class AcceptedOut(ResponseModel):
    message: str


class UserOut(ResponseModel):
    id: str = Field(validation_alias="user_id")
    email: str
    first_name: str
    last_name: str
    company: str | None
    account_type: Literal[ACCOUNT_TYPES]
    status: Literal[STATUSES]
    email_verified: bool
    created_at: datetime
    last_login_at: datetime | None


class TokensOut(ResponseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class AuthOut(ResponseModel):
    user: UserOut
    tokens: TokensOut


class LogoutOut(ResponseModel):
    revoked_sessions: int
